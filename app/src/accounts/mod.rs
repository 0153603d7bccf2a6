//! Members' accounts: sign-up, log-in, sessions, the profile and owning one's data.
//!
//! The validation types here run in the browser and on the server alike; hashing,
//! sessions and rate limiting live in `ssr`, the member's data export in `export`.

#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod ssr;

pub mod pages;
pub use pages::{LoginPage, LogoutPage, ProfilePage, SignupPage};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The member behind a page request, looked up by the server before the page renders
/// (`server/src/security.rs`, `load_request_user`) and read by `App` synchronously.
#[derive(Clone, Debug)]
pub struct RequestUser(pub Option<CurrentUser>);

/// The member behind the current request, as the pages see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub is_admin: bool,
}

/// An e-mail address, trimmed and lower-cased so that one address is one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let email = input.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err("Enter an e-mail address, like name@example.org.".into());
        };
        let valid = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(email))
        } else {
            Err("That does not look like an e-mail address.".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1 to 100 characters.
pub fn parse_display_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.chars().any(char::is_control) {
        return Err("Keep the name on one line, without control characters.".into());
    }
    match name.chars().count() {
        0 => Err("Enter the name other members will see.".into()),
        1..=100 => Ok(name.to_string()),
        _ => Err("Keep the name to 100 characters or fewer.".into()),
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The length rule, checked in the browser too; the server also refuses common passwords.
pub fn check_password_length(password: &str) -> Result<(), String> {
    match password.chars().count() {
        n if n < MIN_PASSWORD_CHARS => {
            Err(format!("Use at least {MIN_PASSWORD_CHARS} characters."))
        }
        n if n > MAX_PASSWORD_CHARS => Err(format!("Use at most {MAX_PASSWORD_CHARS} characters.")),
        _ => Ok(()),
    }
}

/// A form's problems: per field, and for the form as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormErrors {
    pub fields: Vec<(String, String)>,
    pub form: Option<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, message)| message.clone())
    }

    pub fn add(&mut self, field: &str, result: Result<(), String>) {
        if let Err(message) = result {
            self.fields.push((field.to_string(), message));
        }
    }

    pub fn form(message: impl Into<String>) -> Self {
        FormErrors {
            fields: Vec::new(),
            form: Some(message.into()),
        }
    }
}

/// Where to go after logging in: only a path on this site (no open redirect), else `/`.
///
/// Parsed, not pattern-matched: one `/` then visible ASCII only. Browsers drop tabs and
/// newlines from URLs and read `\` as `/`, so `/\t/evil.example` or `/\\evil.example` would
/// leave the site; anything outside printable ASCII (already percent-encoded in a real
/// link) is refused too, so the result is always a valid `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    fn is_local_path(path: &str) -> bool {
        path.starts_with('/')
            && !matches!(path.as_bytes().get(1), Some(b'/' | b'\\'))
            && path.len() <= 2048
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    }
    match next {
        Some(path) if is_local_path(path) => path.to_string(),
        _ => "/".to_string(),
    }
}

#[server(endpoint = "get_current_user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, ServerFnError> {
    Ok(ssr::current_user().await?)
}

#[server(endpoint = "signup")]
pub async fn signup(
    email: String,
    display_name: String,
    password: String,
    time_zone: Option<String>,
    next: Option<String>,
) -> Result<FormErrors, ServerFnError> {
    Ok(ssr::signup(email, display_name, password, time_zone, next).await?)
}

#[server(endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<FormErrors, ServerFnError> {
    Ok(ssr::login(email, password, next).await?)
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    Ok(ssr::logout().await?)
}

#[server(endpoint = "logout_everywhere")]
pub async fn logout_everywhere() -> Result<(), ServerFnError> {
    Ok(ssr::logout_everywhere().await?)
}

#[server(endpoint = "update_profile")]
pub async fn update_profile(
    display_name: String,
    time_zone: String,
) -> Result<FormErrors, ServerFnError> {
    Ok(ssr::update_profile(display_name, time_zone).await?)
}

#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<FormErrors, ServerFnError> {
    Ok(ssr::change_password(current_password, new_password).await?)
}

#[server(endpoint = "delete_account")]
pub async fn delete_account(password: String) -> Result<FormErrors, ServerFnError> {
    Ok(ssr::delete_account(password).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
        assert!(Email::parse("ada").is_err());
        assert!(Email::parse("ada@localhost").is_err());
        assert!(Email::parse("a@b@c.org").is_err());
        assert!(Email::parse("a b@c.org").is_err());
    }

    #[test]
    fn passwords_need_ten_characters() {
        assert!(check_password_length("short").is_err());
        assert!(check_password_length("long enough!").is_ok());
        assert!(check_password_length(&"x".repeat(129)).is_err());
    }

    #[test]
    fn next_only_goes_to_this_site() {
        assert_eq!(safe_next(Some("/me")), "/me");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for hostile in [
            "/\t/evil.example/",
            "/\n/x",
            "/\r\n/x",
            "/\\evil.example",
            "/x\\y",
            "/ /evil.example",
            "/\u{0}",
            "/caf\u{e9}",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(Some("/events/3?x=1#a")), "/events/3?x=1#a");
    }

    proptest::proptest! {
        /// Whatever comes in, what goes out is a path on this site that a `Location`
        /// header can carry.
        #[test]
        fn next_is_always_a_local_header_safe_path(input in ".{0,40}") {
            let out = safe_next(Some(&input));
            proptest::prop_assert!(out.starts_with('/'));
            proptest::prop_assert!(!out.starts_with("//"));
            proptest::prop_assert!(out.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'));
        }
    }
}
