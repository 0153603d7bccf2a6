//! What every handler shares: the Leptos options, the database pool and the address
//! members reach the site at. Its own module so that the router (`startup`) and the
//! handlers it mounts (`rest`, `calendar_routes`) both depend on it, not on each other.

use app::accounts::ssr::ReadPool;
use axum::extract::FromRef;
use axum::http::header;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

/// State shared by every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    /// The replica for read-only answers (`--replica-url`); the primary without one.
    pub read_pool: ReadPool,
    pub public_url: PublicUrl,
}

/// The origin members reach the site at (`--public-url`), for absolute links in
/// calendar files and feeds; without one, the request's Host is used.
#[derive(Clone, Default)]
pub struct PublicUrl(pub Option<Arc<str>>);

impl PublicUrl {
    pub fn base(&self, headers: &axum::http::HeaderMap) -> String {
        match &self.0 {
            Some(url) => url.to_string(),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|host| host.to_str().ok())
                    .filter(|host| {
                        host.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                    })
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }
}
