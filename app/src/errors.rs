//! How server functions and HTTP handlers fail: one error type, [`AppError`].
//!
//! Expected refusals carry an HTTP status and a plain sentence the member can act on;
//! everything unexpected (the database, the session store, a worker thread) becomes
//! [`AppError::Internal`] through `?`, logged with its detail and where it happened, and
//! answered with an opaque 500 that leaks nothing. At the edge an `AppError` becomes
//! Leptos's `ServerFnError` (the status set on the response, the sentence on the wire as
//! `ServerError|…`, which the browser and the REST clients read) or, for a plain axum
//! handler, a response.

use leptos::prelude::ServerFnError;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// 400: a request the member can fix (a full meetup, a closed RSVP, a bad value),
    /// with the sentence to show.
    Invalid(String),
    /// 401: log in first.
    Unauthorized,
    /// 403: not allowed.
    Forbidden,
    /// 404: no such thing (named: "No such meetup.").
    NotFound(String),
    /// 500: something unexpected, already logged where it happened.
    Internal,
    /// 503: the database cannot be reached just now (stopped, restarting, cut off).
    Unavailable,
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Internal => 500,
            AppError::Unavailable => 503,
        }
    }

    /// The sentence shown for it.
    pub fn sentence(&self) -> String {
        match self {
            AppError::Invalid(message) => message.clone(),
            AppError::Unauthorized => "Log in first.".into(),
            AppError::Forbidden => "You are not allowed to do that.".into(),
            AppError::NotFound(what) => format!("No such {what}."),
            AppError::Internal => "Something went wrong on our side. Please try again.".into(),
            AppError::Unavailable => UNAVAILABLE.into(),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sentence())
    }
}

/// Logs an unexpected error with its detail and where it happened; the member sees only
/// that something went wrong.
#[cfg(feature = "ssr")]
#[track_caller]
pub fn internal(error: impl std::fmt::Display) -> AppError {
    let at = std::panic::Location::caller();
    tracing::error!(%error, %at, "request failed");
    AppError::Internal
}

/// What a member is told while the database cannot be reached.
pub const UNAVAILABLE: &str = "The database is not reachable just now; try again in a few seconds.";

/// When (Unix milliseconds) a request last found the database unreachable.
#[cfg(feature = "ssr")]
static UNREACHABLE_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Whether `error` means that PostgreSQL cannot be reached (the connection failed or was
/// cut, the pool could not get one, the server is shutting down or starting up) rather
/// than that a query was wrong.
#[cfg(feature = "ssr")]
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Records that the database was just found unreachable.
#[cfg(feature = "ssr")]
pub fn note_unreachable() {
    UNREACHABLE_AT.store(
        chrono::Utc::now().timestamp_millis(),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Whether a request found the database unreachable in the last `seconds`.
#[cfg(feature = "ssr")]
pub fn unreachable_within(seconds: i64) -> bool {
    let at = UNREACHABLE_AT.load(std::sync::atomic::Ordering::Relaxed);
    at > 0 && chrono::Utc::now().timestamp_millis() - at <= seconds * 1000
}

/// A database error: 503 while the database cannot be reached, else logged as a 500.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    #[track_caller]
    fn from(error: sqlx::Error) -> Self {
        if is_unreachable(&error) {
            note_unreachable();
            tracing::warn!(%error, "the database is not reachable");
            AppError::Unavailable
        } else {
            internal(error)
        }
    }
}

/// `?` on the errors that only ever mean "something went wrong on our side".
macro_rules! internal_from {
    ($($error:ty),* $(,)?) => {
        $(
            #[cfg(feature = "ssr")]
            impl From<$error> for AppError {
                #[track_caller]
                fn from(error: $error) -> Self {
                    internal(error)
                }
            }
        )*
    };
}

/// A session error. The session store is PostgreSQL, and its statements are fixed, so a
/// failing backend means the database is away: 503, as any outage (the error lost its
/// sqlx type on the way, so [`is_unreachable`] cannot tell). A session that cannot be
/// encoded or decoded is ours to fix: 500.
#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for AppError {
    #[track_caller]
    fn from(error: tower_sessions::session::Error) -> Self {
        use tower_sessions::{session::Error, session_store};
        match error {
            Error::Store(session_store::Error::Backend(detail)) => {
                note_unreachable();
                tracing::warn!(error = %detail, "the session store is not reachable");
                AppError::Unavailable
            }
            other => internal(other),
        }
    }
}

internal_from!(
    tokio::task::JoinError,
    serde_json::Error,
    argon2::password_hash::Error,
    std::io::Error,
);

/// A server function answers with its status and sentence.
impl From<AppError> for ServerFnError {
    fn from(error: AppError) -> Self {
        #[cfg(feature = "ssr")]
        set_status(error.status());
        ServerFnError::new(error.sentence())
    }
}

/// An axum handler answers with the status and the sentence as plain text.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.sentence()).into_response()
    }
}

#[cfg(feature = "ssr")]
pub fn unauthorized() -> AppError {
    AppError::Unauthorized
}

#[cfg(feature = "ssr")]
pub fn forbidden() -> AppError {
    AppError::Forbidden
}

#[cfg(feature = "ssr")]
pub fn not_found(what: &str) -> AppError {
    AppError::NotFound(what.to_string())
}

/// A request the member can fix (a full meetup, a closed RSVP, a bad value): 400 with
/// the sentence to show.
#[cfg(feature = "ssr")]
pub fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    use leptos::prelude::use_context;
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(code),
    ) {
        response.set_status(status);
    }
}

/// The sentence to show for a failed server function.
pub fn message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_and_sentence() {
        assert_eq!(AppError::Unauthorized.status(), 401);
        assert_eq!(
            AppError::NotFound("meetup".into()).sentence(),
            "No such meetup."
        );
        assert_eq!(AppError::Invalid("Full.".into()).status(), 400);
        // What reaches the browser is the sentence, never a detail.
        assert_eq!(
            message(&ServerFnError::from(AppError::Internal)),
            "Something went wrong on our side. Please try again."
        );
    }
}
