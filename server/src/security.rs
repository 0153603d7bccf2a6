//! Cross-site request forgery defence: a state-changing request (anything but GET, HEAD,
//! OPTIONS) from a foreign origin is refused with 403 before it reaches a handler.
//!
//! Browsers send `Origin` on every cross-origin POST and on same-origin ones too (and
//! `Sec-Fetch-Site` besides), so a request whose `Origin` is not this site's is forged. Requests
//! without either header do not come from a browser page (curl, API clients) and carry no
//! ambient cookie risk. The session cookie is also `SameSite=Lax`, which keeps browsers
//! from attaching it to cross-site POSTs at all: two independent layers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The site's own origin (`https://cohort.example.org`), when configured; otherwise
/// the request's `Host` header names it.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    pub public_origin: Option<Arc<str>>,
}

pub async fn refuse_cross_site(
    State(policy): State<OriginPolicy>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let allowed = match headers
        .get(header::ORIGIN)
        .map(|value| value.to_str().unwrap_or(""))
    {
        Some(origin) => match &policy.public_origin {
            Some(public) => origin == public.as_ref(),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                let without_scheme = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"));
                !host.is_empty() && without_scheme == Some(host)
            }
        },
        None => headers
            .get("sec-fetch-site")
            .is_none_or(|site| site != "cross-site"),
    };
    if allowed {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), uri = %request.uri(), "refused a cross-site request");
        (StatusCode::FORBIDDEN, "Cross-site requests are refused.").into_response()
    }
}

/// The policy for responses that are not pages (server functions, the REST API, files,
/// calendars): nothing in them may load or run anything, and no one may frame them.
const NON_PAGE_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A failure while PostgreSQL is unreachable (stopped, restarting, cut off) is answered
/// as what it is: 503 with `Retry-After`, not 500. Database errors say so themselves
/// (`app::errors::is_unreachable`, 503 at the source); this catches the 500s of layers
/// that cannot, such as the session store: a 500 becomes 503 when a request found the
/// database unreachable in the last 10 seconds, or a `SELECT 1` (allowed a second)
/// fails now.
pub async fn database_outage(
    State(pool): State<sqlx::PgPool>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/v1/");
    let mut response = next.run(request).await;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let unreachable = app::errors::unreachable_within(10)
        || !tokio::time::timeout(
            std::time::Duration::from_secs(1),
            sqlx::query("SELECT 1").execute(&pool),
        )
        .await
        .is_ok_and(|answer| answer.is_ok());
    if !unreachable {
        return response;
    }
    app::errors::note_unreachable();
    tracing::warn!("answered 503: the database is not reachable");
    let detail = app::errors::UNAVAILABLE;
    let mut answer = if api {
        crate::rest::Problem::unavailable().into_response()
    } else {
        let (mut parts, _) = response.into_parts();
        parts.status = StatusCode::SERVICE_UNAVAILABLE;
        parts.headers.remove(header::CONTENT_LENGTH);
        // A server function's error keeps its form ("ServerError|sentence").
        let text = if parts.headers.contains_key("serverfnerror") {
            format!("ServerError|{detail}")
        } else {
            detail.to_string()
        };
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Response::from_parts(parts, axum::body::Body::from(text))
    };
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    answer
}

/// Headers every response carries.
///
/// - `Content-Security-Policy`: pages set their own, with the response's script nonce
///   (`app::html::content_security_policy`); anything else gets [`NON_PAGE_POLICY`].
/// - `X-Frame-Options: DENY` beside `frame-ancestors 'none'`, for browsers without CSP 2:
///   the one-click forms (log out everywhere, revoke a token) cannot be clickjacked.
/// - `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`.
/// - `Cache-Control: no-store` on everything but the static assets (scripts, wasm, styles,
///   images, fonts): pages, server functions and downloads carry personal data, and a
///   shared or back-button cache must not keep them. The static assets get `no-cache`:
///   kept, but checked (`If-Modified-Since`, answered 304) before each use, because the
///   wasm chunks of one build only work with that build's main bundle and their names
///   (`chunk_12.wasm`) do not change from one build to the next: a browser that guessed a
///   lifetime for an old chunk would break the page after an upgrade.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(NON_PAGE_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if is_static_asset(headers) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // The same address answers brotli, gzip or plain bytes by `Accept-Encoding`.
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Scripts, wasm, styles, images and fonts: the same for everyone, never personal.
fn is_static_asset(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/wasm" | "text/javascript" | "application/javascript" | "text/css"
    ) || essence.starts_with("image/")
        || essence.starts_with("font/")
}

/// The largest server-function request body (axum's default limit, made explicit).
pub const MAX_SERVER_FN_BODY: usize = 2 * 1024 * 1024;

/// The body, when it is at most `limit` bytes. Over the limit, the rest is read and
/// thrown away (up to [`MAX_DRAINED`]) before the refusal is sent: answering while the
/// client is still sending made the server close the connection under it, and the
/// client saw a broken pipe instead of the 413 (found by the hostile test's 3 MiB body).
async fn read_limited(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, ()> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ())?;
        seen = seen.saturating_add(chunk.len());
        if seen > MAX_DRAINED {
            return Err(());
        }
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        Err(())
    } else {
        Ok(kept.into())
    }
}

/// How much of a too-large body is read before refusing it; past this the connection
/// is simply dropped.
const MAX_DRAINED: usize = 16 * 1024 * 1024;

/// Bad input is answered with a 4xx, never a 500.
///
/// PostgreSQL refuses NUL in text, which would fail a statement deep inside a handler:
/// a NUL (`%00`) anywhere in the address, or in a URL-encoded form's body, is refused
/// here with 400 and the reason, whatever the route. And server_fn answers every failure
/// with 500, including a body it could not read or arguments it could not parse
/// (`event_id=abc`); so for server functions a body over [`MAX_SERVER_FN_BODY`] is 413
/// and an argument error 400. Server-function errors keep server_fn's encoding
/// (`ServerError|message` with the `serverfnerror` header), so the page shows the sentence.
pub async fn refuse_bad_input(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_server_fn = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    let fn_path = path.to_string();
    let uri_has_nul = has_encoded_nul(path) || request.uri().query().is_some_and(has_encoded_nul);
    if uri_has_nul {
        return refuse_nul(&fn_path, is_server_fn);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_server_fn && !is_form {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_limited(body, MAX_SERVER_FN_BODY).await {
        Ok(bytes) => bytes,
        Err(_) if is_server_fn => {
            return server_fn_refusal(
                &fn_path,
                StatusCode::PAYLOAD_TOO_LARGE,
                "That request is too large.",
            )
        }
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "That request is too large.").into_response()
        }
    };
    if bytes.contains(&0) || has_encoded_nul_bytes(&bytes) {
        return refuse_nul(&fn_path, is_server_fn);
    }
    if !is_server_fn {
        return next
            .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
            .await;
    }
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    // An error body is a short `Kind|message`; anything longer is not an argument error.
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut parts = parts;
    let kind = bytes.split(|b| *b == b'|').next().unwrap_or_default();
    if matches!(kind, b"Args" | b"Deserialization" | b"MissingArg") {
        tracing::info!(path = %fn_path, "server function refused malformed arguments");
        return server_fn_refusal(
            &fn_path,
            StatusCode::BAD_REQUEST,
            "Some of the values sent are not in the expected form.",
        );
    }
    parts.status = StatusCode::INTERNAL_SERVER_ERROR;
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

const NUL_REFUSED: &str = "Text may not contain NUL characters.";

fn refuse_nul(path: &str, is_server_fn: bool) -> Response {
    if is_server_fn {
        server_fn_refusal(path, StatusCode::BAD_REQUEST, NUL_REFUSED)
    } else if path.starts_with("/api/v1/") {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": NUL_REFUSED,
            "code": "invalid_parameter",
        });
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    } else {
        (StatusCode::BAD_REQUEST, NUL_REFUSED).into_response()
    }
}

fn server_fn_refusal(path: &str, status: StatusCode, message: &str) -> Response {
    let mut response = (status, format!("ServerError|{message}")).into_response();
    if let Ok(value) = HeaderValue::from_str(path) {
        response.headers_mut().insert("serverfnerror", value);
    }
    response
}

fn has_encoded_nul(text: &str) -> bool {
    has_encoded_nul_bytes(text.as_bytes())
}

/// `%00` in a URL-encoded form or query.
fn has_encoded_nul_bytes(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"%00")
}

/// Looks up the member behind a page request before Leptos renders it, and puts them in
/// the request (`app::accounts::RequestUser`), so that the page knows its user without
/// waiting inside the render. Only for page loads (GET or HEAD outside `/api/` and the
/// static files): everything else finds its user itself.
pub async fn load_request_user(
    State(pool): State<sqlx::PgPool>,
    session: tower_sessions::Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !path.contains('.');
    if is_page {
        // A failed look-up renders as before: the page asks for its user itself.
        if let Ok(user) = app::accounts::ssr::user_for_session(&pool, &session).await {
            request
                .extensions_mut()
                .insert(app::accounts::RequestUser(user));
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_nul_is_found_anywhere() {
        assert!(has_encoded_nul("a=1&note=x%00y"));
        assert!(has_encoded_nul("%00"));
        assert!(!has_encoded_nul("a=100%25&b=%0A"));
    }

    #[test]
    fn only_assets_are_cacheable() {
        let mut headers = HeaderMap::new();
        assert!(!is_static_asset(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/wasm"),
        );
        assert!(is_static_asset(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        assert!(!is_static_asset(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_static_asset(&headers));
    }
}
