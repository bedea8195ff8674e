//! Telling a running server that a new night is in place.

use crate::error::{NightlyError, Result};

/// Asks a running server to load the champion and the snapshot again
/// (`POST /v1/admin/reload` with the admin token); the server's answer.
pub fn reload_server(base_url: &str, admin_token: &str) -> Result<String> {
    let url = format!("{}/v1/admin/reload", base_url.trim_end_matches('/'));
    let response = ureq::post(&url)
        .header("Authorization", &format!("Bearer {admin_token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .map_err(|e| NightlyError::Reload { url: url.clone(), message: e.to_string() })?;
    let status = response.status();
    let body = response.into_body().read_to_string().unwrap_or_default();
    if !status.is_success() {
        return Err(NightlyError::Reload { url, message: format!("{status}: {body}") });
    }
    Ok(body)
}
