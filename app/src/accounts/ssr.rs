//! Server side of accounts: password hashing (argon2id, off the async threads), sessions
//! in PostgreSQL (tower-sessions), log-in rate limits and data ownership.

use super::{check_password_length, parse_display_name, CurrentUser, Email, FormErrors};
use crate::errors::{internal, unauthorized, AppError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::LazyLock;
use tower_sessions::Session;

const SESSION_USER: &str = "user";
/// Failed log-ins allowed per account, and per client address, in the window below.
const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
const MAX_FAILURES_PER_ADDRESS: i64 = 20;
const FAILURE_WINDOW_MINUTES: i64 = 15;
const WRONG_CREDENTIALS: &str = "That e-mail address and password do not match an account.";

/// What the session cookie stands for. `epoch` is the user's session epoch when they
/// logged in: "log out of all devices" raises it, which ends every older session.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct SessionUser {
    id: i64,
    epoch: i32,
}

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect()
});

/// OWASP's argon2id parameters (19 MiB, 2 iterations, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash to check against when the account does not exist, so that an unknown e-mail
/// takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(b"no such account, ever", &SaltString::generate(&mut OsRng))
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|hash| hash.to_string())
    })
    .await?
    .map_err(internal)
}

/// Checks a password against a stored hash (or the dummy one), on a blocking thread.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// The password rules beyond length: not a common password, not the e-mail address.
pub fn password_policy(password: &str, email: Option<&Email>) -> Result<(), String> {
    check_password_length(password)?;
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(lower.as_str()) {
        return Err("That password is one of the most common ones; choose another.".into());
    }
    if email.is_some_and(|email| email.as_str() == lower) {
        return Err("Do not use your e-mail address as your password.".into());
    }
    Ok(())
}

pub fn pool() -> Result<PgPool, AppError> {
    use_context::<PgPool>().ok_or_else(|| internal("the database pool is missing"))
}

/// A PostgreSQL streaming replica (`cohort serve --replica-url`), for pages that only read.
#[derive(Clone, Debug)]
pub struct ReadPool(pub PgPool);

/// The cookie that a state-changing request leaves for [`FRESH_SECONDS`]: while it is
/// there, the member's reads go to the primary, so that they see what they just wrote
/// even when the replica trails it.
pub const FRESH_COOKIE: &str = "cohort_fresh";
pub const FRESH_SECONDS: u32 = 10;

/// Where a read-only page reads: the replica when there is one, unless this browser
/// wrote in the last [`FRESH_SECONDS`] (then the primary, which has its write). Only for
/// reads that may trail the primary by the replica's lag.
pub fn read_pool() -> Result<PgPool, AppError> {
    let Some(ReadPool(replica)) = use_context::<ReadPool>() else {
        return pool();
    };
    let fresh = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .any(|cookie| {
                cookie
                    .trim()
                    .strip_prefix(FRESH_COOKIE)
                    .is_some_and(|rest| rest.starts_with('='))
            })
    });
    if fresh {
        pool()
    } else {
        Ok(replica)
    }
}

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(internal)
}

/// The client's address, as text for an `inet` column: see [`client_address`].
async fn client_ip() -> Option<String> {
    let peer = leptos_axum::extract::<axum::extract::ConnectInfo<SocketAddr>>()
        .await
        .ok()?
        .0
        .ip();
    let headers = use_context::<http::request::Parts>().map(|parts| parts.headers);
    Some(client_address(peer, headers.as_ref()).to_string())
}

/// Who sent a request: the connection's peer, unless that peer is this machine (a
/// reverse proxy beside Cohort, as the README's Caddy set-up) and says whom it forwards
/// for in `X-Forwarded-For`: then the last address there, the one that proxy saw (an
/// address a client wrote into the header itself comes before it). Without this, behind
/// a proxy every visitor was 127.0.0.1, and 20 failed log-ins from anyone locked
/// everyone out for 15 minutes.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: Option<&http::HeaderMap>,
) -> std::net::IpAddr {
    if !peer.is_loopback() {
        return peer;
    }
    headers
        .and_then(|headers| headers.get_all("x-forwarded-for").iter().next_back())
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok())
        .unwrap_or(peer)
}

fn valid_time_zone(zone: &str) -> bool {
    zone.parse::<chrono_tz::Tz>().is_ok()
}

/// How long a session lasts past the member's last visit.
pub const SESSION_INACTIVITY_DAYS: i64 = 30;

/// A session is pushed back to [`SESSION_INACTIVITY_DAYS`] from now once less than this
/// is left of it, so a member's visits write their session at most once a day.
const SESSION_REFRESH_AFTER_HOURS: i64 = 24;

/// The member a session belongs to, if it is still valid. A session that has gone a day
/// without being pushed back is marked to be saved: the session layer then writes it
/// with a fresh expiry and sends the cookie again, so a session ends 30 days after the
/// member's last visit, not 30 days after they logged in (tower-sessions saves only a
/// session that changed).
pub async fn user_for_session(
    pool: &PgPool,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(stored) = session.get::<SessionUser>(SESSION_USER).await? else {
        return Ok(None);
    };
    // Whether the stored session is due to be pushed back comes with the member, in the
    // same statement: no round trip of its own.
    let refresh_below = chrono::Utc::now() + chrono::Duration::days(SESSION_INACTIVITY_DAYS)
        - chrono::Duration::hours(SESSION_REFRESH_AFTER_HOURS);
    let row: Option<(i64, String, String, String, bool, i32, bool)> = sqlx::query_as(
        "SELECT id, email, display_name, time_zone, is_admin, session_epoch,
                coalesce((SELECT s.expiry_date < $3 FROM tower_sessions.session s WHERE s.id = $2), false)
           FROM users WHERE id = $1",
    )
    .bind(stored.id)
    .bind(session.id().map(|id| id.to_string()))
    .bind(refresh_below)
    .fetch_optional(pool)
    .await
    ?;
    match row {
        Some((id, email, display_name, time_zone, is_admin, epoch, due))
            if epoch == stored.epoch =>
        {
            if due {
                // Marks the session changed (the same expiry: it counts from now).
                session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(
                    tower_sessions::cookie::time::Duration::days(SESSION_INACTIVITY_DAYS),
                )));
            }
            Ok(Some(CurrentUser {
                id,
                email,
                display_name,
                time_zone,
                is_admin,
            }))
        }
        _ => {
            // Deleted account, or logged out everywhere since: end this session too.
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Whether this request changed its session or its member (log-in, log-out, profile,
/// password, deletion: everything in this module that does). Provided afresh to every
/// request's context by the router; until it is set, a page load's member, looked up
/// before the render, stands for the whole request.
#[derive(Clone, Default)]
pub struct SessionChanged(std::sync::Arc<std::sync::atomic::AtomicBool>);

/// After the session or the member changed: [`current_user`] looks again.
fn forget_current_user() {
    if let Some(changed) = use_context::<SessionChanged>() {
        changed.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    // A page load's member, looked up before the render (`RequestUser`, put in the
    // request by `server/src/security.rs`): without it, a member's page looked its member
    // up twice, a database round trip each.
    let unchanged = use_context::<SessionChanged>()
        .is_some_and(|changed| !changed.0.load(std::sync::atomic::Ordering::Relaxed));
    let known = unchanged
        .then(use_context::<http::request::Parts>)
        .flatten()
        .and_then(|parts| parts.extensions.get::<super::RequestUser>().cloned());
    match known {
        Some(super::RequestUser(user)) => Ok(user),
        None => user_for_session(&pool()?, &session().await?).await,
    }
}

/// The logged-in member, or a 401.
pub async fn require_user() -> Result<CurrentUser, AppError> {
    current_user().await?.ok_or_else(unauthorized)
}

/// Starts a logged-in session under a new id (no session fixation).
async fn start_session(session: &Session, id: i64, epoch: i32) -> Result<(), AppError> {
    forget_current_user();
    session.cycle_id().await?;
    session
        .insert(SESSION_USER, SessionUser { id, epoch })
        .await
        .map_err(internal)
}

pub async fn signup(
    email: String,
    display_name: String,
    password: String,
    time_zone: Option<String>,
    next: Option<String>,
) -> Result<FormErrors, AppError> {
    let mut errors = FormErrors::default();
    let email = Email::parse(&email);
    if let Err(message) = &email {
        errors.fields.push(("email".into(), message.clone()));
    }
    let name = parse_display_name(&display_name);
    errors.add(
        "display_name",
        name.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    errors.add("password", password_policy(&password, email.as_ref().ok()));
    let (Ok(email), Ok(name), true) = (email, name, errors.is_empty()) else {
        return Ok(errors);
    };
    let time_zone = time_zone
        .filter(|zone| valid_time_zone(zone))
        .unwrap_or_else(|| "UTC".into());
    let hash = hash_password(password).await?;

    let pool = pool()?;
    let mut tx = pool.begin().await?;
    // The first real account administers the instance; two sign-ups at once take turns.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cohort.first-admin'))")
        .execute(&mut *tx)
        .await?;
    let created: Option<(i64, i32)> = sqlx::query_as(
        "INSERT INTO users (email, display_name, time_zone, password_hash, is_admin)
         VALUES ($1, $2, $3, $4, NOT EXISTS (SELECT 1 FROM users WHERE NOT is_demo))
         ON CONFLICT (email) DO NOTHING
         RETURNING id, session_epoch",
    )
    .bind(email.as_str())
    .bind(&name)
    .bind(&time_zone)
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, epoch)) = created else {
        errors.fields.push((
            "email".into(),
            "An account with this e-mail address exists already. Log in instead.".into(),
        ));
        return Ok(errors);
    };
    tx.commit().await?;
    tracing::info!(user_id = id, "account created");
    start_session(&session().await?, id, epoch).await?;
    crate::redirect_local(next.as_deref().unwrap_or("/"));
    Ok(FormErrors::default())
}

pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<FormErrors, AppError> {
    let pool = pool()?;
    let email = email.trim().to_lowercase();
    if email.len() > 254 {
        // No account has such an address (sign-up refuses it); nothing to count or check.
        return Ok(FormErrors::form(WRONG_CREDENTIALS));
    }
    let ip = client_ip().await;
    let Some(attempt) = reserve_login_attempt(&pool, &email, ip.as_deref()).await? else {
        tracing::warn!(?ip, "log-in refused: too many failures");
        return Ok(FormErrors::form(format!(
            "Too many failed log-in attempts. Wait {FAILURE_WINDOW_MINUTES} minutes, then try again."
        )));
    };

    let account: Option<(i64, Option<String>, i32)> =
        sqlx::query_as("SELECT id, password_hash, session_epoch FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&pool)
            .await?;
    let hash = account.as_ref().and_then(|(_, hash, _)| hash.clone());
    let matches = verify_password(password, hash).await;
    let (Some((id, _, epoch)), true) = (account, matches) else {
        // The reserved attempt stays a failure.
        return Ok(FormErrors::form(WRONG_CREDENTIALS));
    };
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE login_attempts SET succeeded = true WHERE id = $1")
        .bind(attempt)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM login_attempts WHERE email = $1 AND NOT succeeded")
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    start_session(&session().await?, id, epoch).await?;
    crate::redirect_local(next.as_deref().unwrap_or("/"));
    Ok(FormErrors::default())
}

/// Checks the failure limits and records this attempt, as a failure until the password
/// proves right, in one step: the account's and the address's advisory locks are held
/// while counting and inserting, so simultaneous guesses take turns and at most the
/// limit of them ever reach the password check. `None` when a limit is reached.
async fn reserve_login_attempt(
    pool: &PgPool,
    email: &str,
    ip: Option<&str>,
) -> Result<Option<i64>, AppError> {
    let mut tx = pool.begin().await?;
    // Always the account first, then the address: two locks in one order cannot deadlock.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext('cohort.login.account'), hashtext($1)),
                pg_advisory_xact_lock(hashtext('cohort.login.address'), hashtext(coalesce($2, '')))",
    )
    .bind(email)
    .bind(ip)
    .execute(&mut *tx)
    .await
    ?;
    let (by_account, by_address): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1), count(*) FILTER (WHERE client_ip = $2::inet)
           FROM login_attempts
          WHERE NOT succeeded AND attempted_at > now() - make_interval(mins => $3::int)
            AND (email = $1 OR client_ip = $2::inet)",
    )
    .bind(email)
    .bind(ip)
    .bind(FAILURE_WINDOW_MINUTES as i32)
    .fetch_one(&mut *tx)
    .await?;
    if by_account >= MAX_FAILURES_PER_ACCOUNT || by_address >= MAX_FAILURES_PER_ADDRESS {
        return Ok(None);
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO login_attempts (email, client_ip, succeeded) VALUES ($1, $2::inet, false)
         RETURNING id",
    )
    .bind(email)
    .bind(ip)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

pub async fn logout() -> Result<(), AppError> {
    forget_current_user();
    session().await?.flush().await?;
    crate::redirect_local("/");
    Ok(())
}

pub async fn logout_everywhere() -> Result<(), AppError> {
    let user = require_user().await?;
    sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1")
        .bind(user.id)
        .execute(&pool()?)
        .await?;
    forget_current_user();
    session().await?.flush().await?;
    crate::redirect_local("/login");
    Ok(())
}

pub async fn update_profile(
    display_name: String,
    time_zone: String,
) -> Result<FormErrors, AppError> {
    let user = require_user().await?;
    let mut errors = FormErrors::default();
    let name = parse_display_name(&display_name);
    errors.add(
        "display_name",
        name.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    let time_zone = time_zone.trim().to_string();
    if !valid_time_zone(&time_zone) {
        errors.fields.push((
            "time_zone".into(),
            "Choose a time zone from the list, like Europe/Berlin.".into(),
        ));
    }
    let (Ok(name), true) = (name, errors.is_empty()) else {
        return Ok(errors);
    };
    let pool = pool()?;
    let mut tx = pool.begin().await?;
    let moved: bool = sqlx::query_scalar(
        "UPDATE users SET display_name = $2, time_zone = $3 WHERE id = $1
         RETURNING time_zone IS DISTINCT FROM $4",
    )
    .bind(user.id)
    .bind(name)
    .bind(&time_zone)
    .bind(&user.time_zone)
    .fetch_one(&mut *tx)
    .await?;
    if moved {
        // The member's days now run midnight to midnight somewhere else.
        crate::pipeline::index::enqueue(&mut tx, user.id).await?;
    }
    tx.commit().await?;
    forget_current_user();
    Ok(FormErrors::default())
}

async fn stored_hash(pool: &PgPool, user_id: i64) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await
        .map_err(internal)
}

pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<FormErrors, AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    if !verify_password(current_password, stored_hash(&pool, user.id).await?).await {
        let mut errors = FormErrors::default();
        errors.fields.push((
            "current_password".into(),
            "That is not your current password.".into(),
        ));
        return Ok(errors);
    }
    let email = Email::parse(&user.email).ok();
    if let Err(message) = password_policy(&new_password, email.as_ref()) {
        let mut errors = FormErrors::default();
        errors.fields.push(("new_password".into(), message));
        return Ok(errors);
    }
    let hash = hash_password(new_password).await?;
    // A new password ends every other session; this one continues under a new id.
    let epoch: i32 = sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(user.id)
    .bind(hash)
    .fetch_one(&pool)
    .await
    ?;
    start_session(&session().await?, user.id, epoch).await?;
    Ok(FormErrors::default())
}

pub async fn delete_account(password: String) -> Result<FormErrors, AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    if !verify_password(password, stored_hash(&pool, user.id).await?).await {
        let mut errors = FormErrors::default();
        errors
            .fields
            .push(("password".into(), "That is not your password.".into()));
        return Ok(errors);
    }
    erase_user(&pool, user.id).await?;
    forget_current_user();
    session().await?.flush().await?;
    tracing::info!(user_id = user.id, "account deleted");
    crate::redirect_local("/");
    Ok(FormErrors::default())
}

/// Erases a member and everything personal to them: memberships and RSVPs go with the
/// row; their comments, talk proposals and e-mails are deleted; seats they held at
/// meetups still to come pass to the waitlist.
pub async fn erase_user(pool: &PgPool, user_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let held: Vec<i64> = sqlx::query_scalar(
        "SELECT r.event_id FROM rsvps r JOIN events e ON e.id = r.event_id
          WHERE r.user_id = $1 AND r.seat IN ('going', 'offered') AND e.ends_at > now() ORDER BY r.event_id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    for table in ["event_comments", "talks", "emails"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    let email: Option<String> =
        sqlx::query_scalar("DELETE FROM users WHERE id = $1 RETURNING email")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(email) = email {
        sqlx::query("DELETE FROM login_attempts WHERE email = $1")
            .bind(email)
            .execute(&mut *tx)
            .await?;
    }
    for event_id in held {
        crate::events::seats::settle(&mut tx, event_id, chrono::Utc::now()).await?;
    }
    tx.commit().await
}

/// A random password of 16 characters from an alphabet without look-alikes (~80 bits).
pub fn random_password() -> String {
    use argon2::password_hash::rand_core::RngCore;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_a_local_proxy_the_client_is_the_last_forwarded_address() {
        let headers = |values: &[&str]| {
            let mut map = http::HeaderMap::new();
            for value in values {
                map.append("x-forwarded-for", value.parse().unwrap());
            }
            map
        };
        let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let remote: std::net::IpAddr = "198.51.100.9".parse().unwrap();
        let address =
            |peer, values: &[&str]| client_address(peer, Some(&headers(values))).to_string();
        // The proxy appends the address it saw; what the client wrote comes first.
        assert_eq!(address(local, &["203.0.113.7"]), "203.0.113.7");
        assert_eq!(address(local, &["6.6.6.6, 203.0.113.7"]), "203.0.113.7");
        assert_eq!(address(local, &["6.6.6.6", "203.0.113.7"]), "203.0.113.7");
        assert_eq!(
            address("::1".parse().unwrap(), &["2001:db8::1"]),
            "2001:db8::1"
        );
        // No header, or nothing readable in it: the peer.
        assert_eq!(address(local, &[]), "127.0.0.1");
        assert_eq!(address(local, &["not an address"]), "127.0.0.1");
        assert_eq!(client_address(local, None).to_string(), "127.0.0.1");
        // A client connecting directly cannot choose its address.
        assert_eq!(address(remote, &["203.0.113.7"]), "198.51.100.9");
    }

    #[test]
    fn common_passwords_are_refused() {
        assert!(password_policy("qwertyuiop", None).is_err());
        assert!(password_policy("1234567890", None).is_err());
        assert!(password_policy("correct horse battery", None).is_ok());
        let email = Email::parse("someone@example.org").unwrap();
        assert!(password_policy("someone@example.org", Some(&email)).is_err());
    }

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = argon2()
            .hash_password(b"a fine password", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(argon2()
            .verify_password(b"a fine password", &parsed)
            .is_ok());
        assert!(argon2().verify_password(b"another one", &parsed).is_err());
    }
}
