//! The layers' pieces: per-route-group auth, layer errors and the fallback as JSON errors,
//! request size limits answered in JSON.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// Router

pub(super) async fn require(state: Shared, role: Role, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if state.tokens.allows(header, role) {
        return next.run(request).await;
    }
    let (status, code, message) = match (header.is_some(), role) {
        (true, Role::Admin) if state.tokens.allows(header, Role::Score) => (StatusCode::FORBIDDEN, "forbidden", "this route needs the admin token"),
        _ => (StatusCode::UNAUTHORIZED, "unauthorized", "send Authorization: Bearer <token>"),
    };
    let mut response = ApiError::new(status, code, message).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid header"));
    response
}

pub(super) async fn handle_layer_error(error: tower::BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long")
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "too many requests in flight; retry shortly")
    } else {
        ApiError::internal(error)
    }
}

pub(super) async fn fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route (see /openapi.json)")
}

/// Maps the body-limit layer's bare 413 to the JSON error shape.
pub(super) async fn json_errors(request: Request, next: Next) -> Response {
    // Past hyper's own limits a request is refused before it gets here (with an empty body);
    // these lower ones answer with the JSON error every other refusal has.
    let uri_len = request.uri().to_string().len();
    if uri_len > MAX_URI_BYTES {
        return ApiError::new(StatusCode::URI_TOO_LONG, "uri_too_long", format!("the request URI is {uri_len} bytes; at most {MAX_URI_BYTES}"))
            .into_response();
    }
    let header_bytes: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
        )
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    // The console's pages (and its 401 and 404 pages) are HTML a browser shows as they are.
    let is_page = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if status == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is larger than the server accepts").into_response();
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method").into_response();
    }
    // Any other error a framework layer answered in plain text (an undecodable path segment,
    // a rejected extractor): the same JSON error, its text as the message.
    if (status.is_client_error() || status.is_server_error()) && !is_json && !is_page {
        let text = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let message = if text.trim().is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text.trim().to_string() };
        let code = if status.is_server_error() { "internal" } else { "bad_request" };
        return ApiError::new(status, code, message).into_response();
    }
    response
}

/// The longest request URI and the most header bytes a request may send (hyper refuses far
/// longer ones itself, with an empty body).
pub(super) const MAX_URI_BYTES: usize = 8 << 10;
pub(super) const MAX_HEADER_BYTES: usize = 32 << 10;
