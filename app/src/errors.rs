//! How server functions fail: unexpected errors are logged with their detail and shown
//! as an opaque message; expected refusals carry an HTTP status and a plain sentence.

use leptos::prelude::ServerFnError;

/// Logs an unexpected error and returns an opaque one for the browser.
#[cfg(feature = "ssr")]
pub fn internal(error: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(%error, "server function failed");
    set_status(500);
    ServerFnError::new("Something went wrong on our side. Please try again.")
}

#[cfg(feature = "ssr")]
pub fn unauthorized() -> ServerFnError {
    set_status(401);
    ServerFnError::new("Log in first.")
}

#[cfg(feature = "ssr")]
pub fn forbidden() -> ServerFnError {
    set_status(403);
    ServerFnError::new("You are not allowed to do that.")
}

#[cfg(feature = "ssr")]
pub fn not_found(what: &str) -> ServerFnError {
    set_status(404);
    ServerFnError::new(format!("No such {what}."))
}

/// A request the member can fix (a full meetup, a closed RSVP, a bad value): 400 with
/// the sentence to show.
#[cfg(feature = "ssr")]
pub fn invalid(message: impl Into<String>) -> ServerFnError {
    set_status(400);
    ServerFnError::new(message.into())
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
