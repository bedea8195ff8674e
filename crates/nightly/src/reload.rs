//! Telling a running server that a new night is in place: `POST /v1/admin/reload` over HTTP or
//! HTTPS (rustls; a private CA can be given), with a timeout and retries with backoff. The
//! outcome is the night's to report; a server that does not reload never fails the night (its
//! work is committed; the server keeps serving yesterday's model until reloaded).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How a reload is attempted.
#[derive(Debug, Clone)]
pub struct ReloadOptions {
    /// Per attempt: connecting, sending and reading the answer (a reload of a million-renewal
    /// snapshot takes about 20 s).
    pub timeout: Duration,
    /// Attempts in all (retried on connection errors, timeouts and 5xx, not on 4xx).
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each.
    pub backoff: Duration,
    /// PEM certificates of a private CA that signed the server's certificate (HTTPS).
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for ReloadOptions {
    fn default() -> Self {
        ReloadOptions { timeout: Duration::from_secs(120), attempts: 4, backoff: Duration::from_secs(1), ca_file: None }
    }
}

/// What the reload call did (`REPORTS/T/reload.json`).
#[derive(Debug, Clone, Serialize)]
pub struct ReloadOutcome {
    pub url: String,
    pub reloaded: bool,
    pub attempts: u32,
    pub seconds: f64,
    /// The server's answer (reloaded) or the last error.
    pub answer: String,
}

fn agent(options: &ReloadOptions) -> Result<ureq::Agent, String> {
    let mut config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(options.timeout));
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("reading the CA file {}: {e}", path.display()))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(format!("no certificate in the CA file {}", path.display()));
        }
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&certs)).build());
    }
    Ok(config.build().into())
}

/// Asks a running server to load the champion and the snapshot again, retrying as `options`
/// says; never an error: the outcome says what happened.
pub fn reload_server(base_url: &str, admin_token: &str, options: &ReloadOptions) -> ReloadOutcome {
    let url = format!("{}/v1/admin/reload", base_url.trim_end_matches('/'));
    let started = Instant::now();
    let done = |reloaded: bool, attempts: u32, answer: String| ReloadOutcome {
        url: url.clone(),
        reloaded,
        attempts,
        seconds: started.elapsed().as_secs_f64(),
        answer,
    };
    let agent = match agent(options) {
        Ok(agent) => agent,
        Err(e) => return done(false, 0, e),
    };
    let mut wait = options.backoff;
    let mut last = String::new();
    for attempt in 1..=options.attempts.max(1) {
        match agent.post(&url).header("Authorization", &format!("Bearer {admin_token}")).send_empty() {
            Ok(response) => {
                let status = response.status();
                let body = response.into_body().read_to_string().unwrap_or_default();
                if status.is_success() {
                    return done(true, attempt, body);
                }
                last = format!("{status}: {body}");
                // The server answered no (bad token, the new model failed to load): retrying
                // will not change that.
                if status.is_client_error() {
                    return done(false, attempt, last);
                }
            }
            Err(e) => last = e.to_string(),
        }
        tracing::warn!(%url, attempt, error = %last, "reload failed; retrying");
        if attempt < options.attempts {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
    done(false, options.attempts.max(1), last)
}

/// Writes the outcome beside the night's reports (`REPORTS/T/reload.json`), atomically.
pub fn record_reload(night_dir: &Path, outcome: &ReloadOutcome) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(outcome).map_err(std::io::Error::other)?;
    lapse_core::io_util::atomic_write(&night_dir.join("reload.json"), |w| w.write_all(&bytes)).map_err(|e| std::io::Error::other(e.to_string()))
}
