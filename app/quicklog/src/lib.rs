//! The quick log's island. `/track`, the page members open on their phones at the door of
//! a meetup, is sent as the server renders it with this small module instead of the app's
//! bundle (README, "Front-end weight"): the page's forms work as Leptos's `ActionForm`
//! makes them work on a hydrated page, and nothing else of the app is loaded.
//!
//! A form is sent with `fetch` to its server function, as the app's bundle sends it. Then:
//! - refused (4xx, 5xx): the sentence shows beside the form, and what was typed stays;
//! - sent on (a server function's redirect, such as a new metric's page): the browser goes;
//! - done: the answer ("Logged Mood: 7.") shows above the cards, and the page's content
//!   is fetched again and put in place of the old (the new value in "Recently" and on
//!   its card; a page that does not come back leaves "Reload the page to see it");
//!   a new metric's refused fields get their reasons beside them.
//!
//! A form waits for its answer before it can be sent again.
//!
//! Every text shown is set as text; the only markup inserted is the server's own page,
//! parsed by the browser (`DOMParser` runs no script).
//!
//! The classes and places are those of `app/src/track/pages.rs`, whose view this shares
//! with the app's bundle (a member who reaches `/track` by in-place navigation gets the
//! bundle's version): `.track`, `.log-form` and `.log-outcome`, `.pin-outcome`,
//! `.new-metric`.

#[cfg(target_arch = "wasm32")]
mod browser;

/// What to show for a refusal: the sentence a server function sends after its kind
/// (`ServerError|The value…`), or for anything else (a proxy's error page) a sentence
/// of our own.
pub fn sentence(status: u16, body: &str) -> String {
    match body.split_once('|') {
        Some((kind, said))
            if !said.is_empty()
                && kind.len() <= 24
                && !kind.is_empty()
                && kind.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            said.to_string()
        }
        _ if status == 503 => {
            "Cohort cannot reach its database just now. Please try again in a moment.".into()
        }
        _ => format!("Something went wrong (HTTP {status}). Please try again."),
    }
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn a_refusal_shows_the_server_functions_sentence_or_one_of_its_own() {
        assert_eq!(
            sentence(400, "ServerError|“seventy” is not a number."),
            "“seventy” is not a number."
        );
        assert_eq!(
            sentence(400, "Args|missing field `value`"),
            "missing field `value`"
        );
        // A proxy's page, not a server function's answer: never shown as it came.
        assert_eq!(
            sentence(502, "<html><body>Bad gateway | nginx</body></html>"),
            "Something went wrong (HTTP 502). Please try again."
        );
        assert_eq!(
            sentence(503, "Service Unavailable"),
            "Cohort cannot reach its database just now. Please try again in a moment."
        );
        assert_eq!(
            sentence(500, "ServerError|"),
            "Something went wrong (HTTP 500). Please try again."
        );
    }
}
