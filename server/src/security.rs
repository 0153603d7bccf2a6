//! Cross-site request forgery defence: a state-changing request (anything but GET, HEAD,
//! OPTIONS) from a foreign origin is refused with 403 before it reaches a handler.
//!
//! Browsers send `Origin` on every cross-origin POST and on same-origin ones too (and
//! `Sec-Fetch-Site` besides), so a request whose `Origin` is not this site's is forged. Requests
//! without either header do not come from a browser page (curl, API clients) and carry no
//! ambient cookie risk. The session cookie is also `SameSite=Lax`, which keeps browsers
//! from attaching it to cross-site POSTs at all: two independent layers.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
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
