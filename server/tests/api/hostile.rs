//! Security issue 11, hostile input: "Bad input is a clear 4xx with the reason, per item
//! where a batch allows it; valid items of a batch are kept." Every server function gets
//! each of its arguments replaced in turn by hostile values (a NUL, a lone surrogate as
//! invalid UTF-8, a 1 MB string, huge and non-finite numbers, letters where a number
//! belongs, a map where a value belongs), each required argument left out, and a body over
//! the 2 MiB limit; the REST API gets batches that mix a valid item with a hostile one,
//! unparseable bodies and junk query parameters; pages and the other routes get hostile
//! paths and queries. Nothing may answer 5xx or drop the connection, and afterwards the
//! server still answers and what was stored before is intact. Also: a value that only
//! overflows once converted to its metric's unit is refused and not stored, and `next`
//! after logging in or signing up never leads a browser off the site.
//!
//! Every test collects its failures and reports them all at the end.

use crate::helpers::{TestApp, PASSWORD};
use chrono::{TimeDelta, Utc};
use cohort::job_types::cohort_runner;
use cohort::jobs::Services;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Sending requests and judging answers
// ---------------------------------------------------------------------------------------

/// One answer.
struct Reply {
    status: u16,
    location: Option<String>,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A 200 whose body is a `FormErrors` with at least one error.
    fn form_error(&self) -> bool {
        self.status == 200
            && self.json().is_some_and(|body| {
                body["fields"].as_array().is_some_and(|f| !f.is_empty()) || body["form"].is_string()
            })
    }

    fn describe(&self) -> String {
        let location = self
            .location
            .as_ref()
            .map(|l| format!(" (Location: {})", excerpt(l)))
            .unwrap_or_default();
        format!("{}{location} {}", self.status, excerpt(&self.body))
    }
}

/// The first 200 characters, control characters escaped.
fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(200)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if text.chars().count() > 200 {
        out.push_str(&format!("… ({} bytes)", text.len()));
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

/// An error with its causes: "connection closed before message completed" and the like.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends a request; `Err` when there was no complete answer (a dropped connection, a
/// panic in the handler, a time-out).
async fn send(request: reqwest::RequestBuilder) -> Result<Reply, String> {
    let response = request
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|error| format!("no answer (connection dropped?): {}", chain(&error)))?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let location = header("location");
    let content_type = header("content-type").unwrap_or_default();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| format!("the answer ({status}) was cut off: {}", chain(&error)))?;
    Ok(Reply {
        status,
        location,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Sets the body. A body over the limits is refused before the server reads it all, and
/// the server then closes the connection: `Connection: close` keeps the client from
/// reusing it (a reused one fails the next request as if the server had dropped it).
fn with_body(request: reqwest::RequestBuilder, body: Vec<u8>) -> reqwest::RequestBuilder {
    if body.len() > 2 * MIB {
        request.header("Connection", "close").body(body)
    } else {
        request.body(body)
    }
}

async fn send_body(request: reqwest::RequestBuilder, body: Vec<u8>) -> Result<Reply, String> {
    send(with_body(request, body)).await
}

/// What an answer must be.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Any answer but a 5xx (and an answer at all).
    NoServerError,
    /// Exactly this status (400 with a reason in the body).
    Status(u16),
    /// Refused with a reason: a 4xx with a body, or a 200 carrying a form error.
    Refused,
    /// From a plain form post (no JavaScript): a 4xx, or a redirect back to the form
    /// carrying the error (`__err=`), as Leptos does for such posts.
    RefusedToForm,
}

fn judge(expect: Expect, reply: &Result<Reply, String>) -> Result<(), String> {
    let reply = reply.as_ref().map_err(Clone::clone)?;
    if reply.status >= 500 {
        return Err(format!("a server error: {}", reply.describe()));
    }
    let reasoned = !reply.body.trim().is_empty();
    match expect {
        Expect::NoServerError => Ok(()),
        Expect::Status(status) if reply.status == status => {
            if status == 400 && !reasoned {
                Err(format!("400 without a reason: {}", reply.describe()))
            } else {
                Ok(())
            }
        }
        Expect::Status(status) => Err(format!("expected {status}, got {}", reply.describe())),
        Expect::Refused if reply.form_error() => Ok(()),
        Expect::Refused if (400..500).contains(&reply.status) => {
            if reasoned {
                Ok(())
            } else {
                Err(format!("refused without a reason: {}", reply.describe()))
            }
        }
        Expect::Refused => Err(format!(
            "expected a refusal (a 4xx with the reason, or a form error), got {}",
            reply.describe()
        )),
        Expect::RefusedToForm
            if (400..500).contains(&reply.status)
                || ((300..400).contains(&reply.status)
                    && reply
                        .location
                        .as_deref()
                        .is_some_and(|l| l.contains("__err="))) =>
        {
            Ok(())
        }
        Expect::RefusedToForm => Err(format!(
            "expected the error back on the form (a 4xx, or a redirect carrying __err=), got {}",
            reply.describe()
        )),
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn pair(name: &str, value: &str) -> String {
    format!("{}={}", encode(name), encode(value))
}

/// Calls a server function with a raw form body, from this site's origin.
async fn call_raw(
    app: &TestApp,
    client: &reqwest::Client,
    function: &str,
    body: Vec<u8>,
    accept: &str,
) -> Result<Reply, String> {
    send_body(
        client
            .post(format!("{}/api/{function}", app.address))
            .header("Origin", &app.address)
            .header("Accept", accept)
            .header("Content-Type", "application/x-www-form-urlencoded"),
        body,
    )
    .await
}

async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    function: &str,
    form: &[(&str, &str)],
) -> Result<Reply, String> {
    let body = form
        .iter()
        .map(|(name, value)| pair(name, value))
        .collect::<Vec<_>>()
        .join("&");
    call_raw(app, client, function, body.into_bytes(), "application/json").await
}

/// Failures, and how many requests were sent.
#[derive(Default)]
struct Log {
    sent: usize,
    failures: Vec<String>,
}

impl Log {
    fn check(&mut self, what: String, expect: Expect, reply: &Result<Reply, String>) {
        self.sent += 1;
        if let Err(problem) = judge(expect, reply) {
            self.failures.push(format!("{what}: {problem}"));
        }
    }

    fn fail(&mut self, what: String) {
        self.failures.push(what);
    }

    fn finish(self, test: &str, started: Instant) {
        println!(
            "{test}: {} hostile requests in {:.1} s, {} failures",
            self.sent,
            started.elapsed().as_secs_f64(),
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{test}: {} failures ({} requests sent):\n{}",
            self.failures.len(),
            self.sent,
            self.failures.join("\n")
        );
    }
}

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Server functions
// ---------------------------------------------------------------------------------------

/// The hostile values each argument gets in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hostile {
    /// "Hostile\u{0}value": PostgreSQL text cannot hold a NUL.
    Nul,
    /// "Hostile%ED%A0%80value": U+D800, a lone surrogate, as UTF-8 bytes (invalid UTF-8).
    LoneSurrogate,
    /// 1,000,000 letters: far over any length limit, under the 2 MiB body limit.
    Long,
    /// "1e308": finite, but overflows when multiplied.
    Huge,
    /// "-1e309": -infinity as a float.
    NegativeOverflow,
    NotANumber,
    Infinity,
    Letters,
    /// "99999999999999999999": overflows i64 (a finite float).
    Overflow,
    /// "9223372036854775807": i64::MAX (a valid i64, overflows i32 and arithmetic).
    Extreme,
    /// "-1".
    Negative,
    /// `name[a]=1&name[b]=2`: a map where a value belongs (a wrong type).
    Nested,
}

const HOSTILE: [Hostile; 12] = [
    Hostile::Nul,
    Hostile::LoneSurrogate,
    Hostile::Long,
    Hostile::Huge,
    Hostile::NegativeOverflow,
    Hostile::NotANumber,
    Hostile::Infinity,
    Hostile::Letters,
    Hostile::Overflow,
    Hostile::Extreme,
    Hostile::Negative,
    Hostile::Nested,
];

impl Hostile {
    fn label(self) -> &'static str {
        match self {
            Hostile::Nul => "\"Hostile\\u{0}value\" (a NUL)",
            Hostile::LoneSurrogate => "Hostile%ED%A0%80value (a lone surrogate, invalid UTF-8)",
            Hostile::Long => "a 1 MB string",
            Hostile::Huge => "1e308",
            Hostile::NegativeOverflow => "-1e309",
            Hostile::NotANumber => "NaN",
            Hostile::Infinity => "inf",
            Hostile::Letters => "abc",
            Hostile::Overflow => "99999999999999999999",
            Hostile::Extreme => "9223372036854775807",
            Hostile::Negative => "-1",
            Hostile::Nested => "[a]=1&[b]=2 (a map instead of a value)",
        }
    }

    /// `name=value` for a form body, encoded.
    fn pairs(self, name: &str) -> String {
        let n = encode(name);
        match self {
            Hostile::Nul => format!("{n}={}", encode("Hostile\u{0}value")),
            Hostile::LoneSurrogate => format!("{n}=Hostile%ED%A0%80value"),
            Hostile::Long => format!("{n}={}", "a".repeat(1_000_000)),
            Hostile::Huge => format!("{n}=1e308"),
            Hostile::NegativeOverflow => format!("{n}=-1e309"),
            Hostile::NotANumber => format!("{n}=NaN"),
            Hostile::Infinity => format!("{n}=inf"),
            Hostile::Letters => format!("{n}=abc"),
            Hostile::Overflow => format!("{n}=99999999999999999999"),
            Hostile::Extreme => format!("{n}=9223372036854775807"),
            Hostile::Negative => format!("{n}=-1"),
            Hostile::Nested => format!("{n}[a]=1&{n}[b]=2"),
        }
    }
}

/// What an argument is, which decides what a hostile value must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An integer (i64, i32) or a bool. A value that does not parse is the caller's
    /// mistake: exactly 400 with the reason (issue 11: `event_id=abc` gets 400, not 500).
    /// "9223372036854775807" and "-1" do parse as an i64: anything but 5xx.
    Int,
    /// Free text that is stored (names, notes, comments, titles, keys). A NUL (issue 11: a
    /// NUL in a profile name, a note or a comment gave 500) and a 1 MB string (over-long:
    /// bad input, not something to store) must be refused: a 4xx with the reason or a 200
    /// with a form error. Any other hostile value is fine text ("NaN" is a valid title):
    /// anything but 5xx.
    Text,
    /// A choice, key, slug, e-mail address, date, time, time zone, unit or link: no hostile
    /// value is valid, so each must be refused (4xx or a form error); a map instead of a
    /// value: anything but 5xx.
    Choice,
    /// A number typed as text. NUL, invalid UTF-8, 1 MB, "-1e309", "NaN", "inf" and "abc"
    /// must be refused (4xx or a form error); the finite numbers ("1e308",
    /// "99999999999999999999", "9223372036854775807", "-1") may be in range or not, and a
    /// map instead of a value may be read either way: anything but 5xx.
    Number,
    /// Read leniently by design (passwords, `next`, search words, checkbox flags, the time
    /// zone guessed at sign-up): anything but 5xx.
    Lenient,
}

fn expectation(kind: Kind, value: Hostile) -> Expect {
    use Hostile::*;
    match (kind, value) {
        (Kind::Int, Extreme | Negative) => Expect::NoServerError,
        (Kind::Int, _) => Expect::Status(400),
        (Kind::Text, Nul | Long) => Expect::Refused,
        (Kind::Text, _) => Expect::NoServerError,
        (Kind::Choice, Nested) => Expect::NoServerError,
        (Kind::Choice, _) => Expect::Refused,
        (
            Kind::Number,
            Nul | LoneSurrogate | Long | NegativeOverflow | NotANumber | Infinity | Letters,
        ) => Expect::Refused,
        (Kind::Number, _) => Expect::NoServerError,
        (Kind::Lenient, _) => Expect::NoServerError,
    }
}

struct Arg {
    name: &'static str,
    kind: Kind,
    required: bool,
    /// Sent in every call that does not replace it (`{…}` stands for an id of the world);
    /// `None`: an optional argument left out.
    baseline: Option<&'static str>,
}

fn req(name: &'static str, kind: Kind, value: &'static str) -> Arg {
    Arg {
        name,
        kind,
        required: true,
        baseline: Some(value),
    }
}

fn opt(name: &'static str, kind: Kind, value: Option<&'static str>) -> Arg {
    Arg {
        name,
        kind,
        required: false,
        baseline: value,
    }
}

/// Who calls: someone the function lets through, so that hostile input reaches its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// A new client without a session, per call.
    Anonymous,
    /// A member of the demo group.
    Member,
    /// An organizer of the demo group.
    Organizer,
    /// The instance admin.
    Admin,
    /// A member of their own, for creating metrics (whose names become keys that the
    /// member's lookups would then find).
    Maker,
    /// A new account per call (for the calls that end its session).
    Fresh,
    /// An account of its own, made with the world, for one function whose calls change it
    /// (its profile, its password, leaving or joining the group, deleting it). No hostile
    /// value can complete those calls; the valid call last does.
    Own(&'static str),
}

/// The accounts of `Who::Own`, and whether each belongs to the demo group.
const OWN: [(&str, bool); 5] = [
    ("profile@example.org", false),
    ("changer@example.org", false),
    ("deleter@example.org", false),
    ("leaver@example.org", true),
    ("joiner@example.org", false),
];

struct Spec {
    function: &'static str,
    /// Names this spec in messages ("save_event (a weekly series)").
    label: &'static str,
    who: Who,
    args: Vec<Arg>,
    /// Only these arguments get hostile values; `None`: all of them.
    vary: Option<&'static [&'static str]>,
    /// SQL run after every call: clears what would stop later calls before validation.
    after: Option<&'static str>,
}

fn spec(function: &'static str, who: Who, args: Vec<Arg>) -> Spec {
    Spec {
        function,
        label: function,
        who,
        args,
        vary: None,
        after: None,
    }
}

/// The arguments of `save_event`.
fn event_form(event_id: Option<&'static str>, repeat: Option<&'static str>) -> Vec<Arg> {
    use Kind::*;
    vec![
        req("group_slug", Choice, "qs-north-bay"),
        opt("event_id", Int, event_id),
        req("title", Text, "Extra meetup"),
        req("body_md", Text, "Bring *data*."),
        req("date", Choice, "2031-05-06"),
        req("start_time", Choice, "18:30"),
        req("end_time", Choice, "20:30"),
        req("time_zone", Choice, "America/Los_Angeles"),
        req("venue", Text, "Library"),
        req("address", Text, "1 Main St"),
        req("online_url", Choice, ""),
        req("capacity", Number, "20"),
        req("max_guests", Number, "0"),
        req("rsvp_opens", Choice, ""),
        req("rsvp_closes", Choice, ""),
        req("offer_window_hours", Number, "24"),
        opt("repeat", Choice, repeat),
        opt("repeat_last", Lenient, None),
        opt("repeat_until", Choice, repeat.map(|_| "2031-07-01")),
        opt("exceptions", Choice, repeat.map(|_| "")),
        opt("scope", Lenient, event_id.map(|_| "series")),
    ]
}

/// Every server function, with who calls it and what its arguments are.
fn specs() -> Vec<Spec> {
    use Kind::*;
    use Who::*;
    vec![
        // Accounts.
        spec("get_current_user", Anonymous, vec![]),
        Spec {
            // A new address per call ({n}); the client is new too, so each succeeds alone.
            ..spec(
                "signup",
                Anonymous,
                vec![
                    req("email", Choice, "hostile{n}@example.org"),
                    req("display_name", Text, "Hostile"),
                    req("password", Lenient, PASSWORD),
                    opt("time_zone", Lenient, Some("Europe/Berlin")),
                    opt("next", Lenient, Some("/me")),
                ],
            )
        },
        Spec {
            // Failed attempts would lock the account and the address after a few calls.
            after: Some("DELETE FROM login_attempts"),
            ..spec(
                "login",
                Anonymous,
                vec![
                    req("email", Choice, "member@example.org"),
                    req("password", Lenient, PASSWORD),
                    opt("next", Lenient, Some("/me")),
                ],
            )
        },
        spec("logout", Fresh, vec![]),
        spec("logout_everywhere", Fresh, vec![]),
        spec(
            "update_profile",
            Own("profile@example.org"),
            vec![
                req("display_name", Text, "New name"),
                req("time_zone", Choice, "Europe/Berlin"),
            ],
        ),
        Spec {
            // A hostile new password may be a valid one ("Hostile\u{0}value"): put the
            // old one back so that the next calls get past the current-password check.
            after: Some(
                "UPDATE users SET password_hash =
                        (SELECT password_hash FROM users WHERE email = 'member@example.org')
                  WHERE email = 'changer@example.org'",
            ),
            ..spec(
                "change_password",
                Own("changer@example.org"),
                vec![
                    req("current_password", Lenient, PASSWORD),
                    req("new_password", Lenient, "another long passphrase"),
                ],
            )
        },
        spec(
            "delete_account",
            Own("deleter@example.org"),
            vec![req("password", Lenient, PASSWORD)],
        ),
        // Groups.
        spec("list_groups", Anonymous, vec![]),
        spec(
            "get_group",
            Member,
            vec![req("slug", Choice, "qs-north-bay")],
        ),
        spec(
            "join_group",
            Own("joiner@example.org"),
            vec![req("slug", Choice, "qs-north-bay")],
        ),
        spec(
            "leave_group",
            Own("leaver@example.org"),
            vec![req("slug", Choice, "qs-north-bay")],
        ),
        Spec {
            // Groups made by hostile names ("abc", "nan") would be found by the slug
            // lookups of the other calls.
            after: Some("DELETE FROM groups WHERE slug <> 'qs-north-bay'"),
            ..spec(
                "create_group",
                Admin,
                vec![
                    req("name", Text, "Hostile group"),
                    req("slug", Text, "hostile-{n}"),
                    req("city", Text, "Nowhere"),
                    req("time_zone", Choice, "UTC"),
                ],
            )
        },
        spec(
            "promote_member",
            Organizer,
            vec![
                req("slug", Choice, "qs-north-bay"),
                req("user_id", Int, "{user}"),
            ],
        ),
        // Meetups.
        spec("get_home", Anonymous, vec![]),
        spec("get_event", Member, vec![req("id", Int, "{event}")]),
        spec(
            "rsvp",
            Member,
            vec![
                req("event_id", Int, "{event}"),
                req("answer", Choice, "yes"),
                opt("guests", Int, Some("0")),
            ],
        ),
        spec(
            "new_event_form",
            Organizer,
            vec![
                req("slug", Choice, "qs-north-bay"),
                opt("from", Int, Some("{event}")),
            ],
        ),
        spec(
            "edit_event_form",
            Organizer,
            vec![req("id", Int, "{event3}")],
        ),
        Spec {
            label: "save_event (a new meetup)",
            // `repeat_until` and `exceptions` only count for a series: the next spec.
            vary: Some(&[
                "group_slug",
                "event_id",
                "title",
                "body_md",
                "date",
                "start_time",
                "end_time",
                "time_zone",
                "venue",
                "address",
                "online_url",
                "capacity",
                "max_guests",
                "rsvp_opens",
                "rsvp_closes",
                "offer_window_hours",
                "repeat",
                "repeat_last",
                "scope",
            ]),
            ..spec("save_event", Organizer, event_form(None, None))
        },
        Spec {
            label: "save_event (a weekly series)",
            vary: Some(&["repeat_last", "repeat_until", "exceptions"]),
            ..spec("save_event", Organizer, event_form(None, Some("weekly")))
        },
        Spec {
            label: "save_event (editing a meetup and the later ones)",
            vary: Some(&["title", "body_md", "venue", "address", "scope"]),
            ..spec("save_event", Organizer, event_form(Some("{event3}"), None))
        },
        spec(
            "cancel_event",
            Organizer,
            vec![req("event_id", Int, "{event2}"), req("reason", Text, "Ill")],
        ),
        spec(
            "post_comment",
            Member,
            vec![req("event_id", Int, "{event}"), req("body", Text, "Hello")],
        ),
        spec(
            "moderate_comment",
            Organizer,
            vec![
                req("comment_id", Int, "{comment}"),
                req("action", Choice, "hide"),
            ],
        ),
        spec(
            "propose_talk",
            Member,
            vec![
                req("event_id", Int, "{event}"),
                req("title", Text, "My sleep"),
                req("abstract_text", Text, ""),
                req("minutes", Number, "5"),
            ],
        ),
        spec(
            "get_group_insights",
            Member,
            vec![req("slug", Choice, "qs-north-bay")],
        ),
        spec(
            "attach_insight",
            Member,
            vec![
                req("talk_id", Int, "{my_talk}"),
                req("subject", Choice, "correlation:steps:mood:0"),
            ],
        ),
        spec(
            "withdraw_insight",
            Member,
            vec![req("talk_id", Int, "{my_talk}")],
        ),
        spec(
            "decide_talk",
            Organizer,
            vec![
                req("talk_id", Int, "{talk}"),
                req("decision", Choice, "accept"),
            ],
        ),
        spec(
            "get_manage",
            Organizer,
            vec![req("event_id", Int, "{event}")],
        ),
        spec(
            "check_in",
            Organizer,
            vec![
                req("event_id", Int, "{event}"),
                req("user_id", Int, "{user}"),
                req("present", Int, "true"),
            ],
        ),
        spec("get_outbox", Admin, vec![]),
        // API tokens.
        spec("list_tokens", Member, vec![]),
        Spec {
            // At most 20 live tokens: revoke what the calls made.
            after: Some(
                "UPDATE api_tokens SET revoked_at = now()
                  WHERE user_id = (SELECT id FROM users WHERE email = 'member@example.org')",
            ),
            ..spec(
                "create_token",
                Member,
                vec![req("name", Text, "Sync"), req("scope", Choice, "read")],
            )
        },
        spec("revoke_token", Member, vec![req("id", Int, "{token}")]),
        // Tracking.
        spec("get_track", Member, vec![]),
        spec(
            "get_dashboard",
            Member,
            vec![opt("notes", Lenient, Some("walk hills"))],
        ),
        spec(
            "get_pairs",
            Member,
            vec![opt("metric", Lenient, None), opt("shown", Lenient, None)],
        ),
        spec(
            "log_entry",
            Member,
            vec![
                req("metric", Choice, "mood"),
                req("value", Number, "6"),
                opt("unit", Choice, None),
                opt("at", Choice, None),
                opt("note", Text, Some("#hostile")),
                req("key", Text, "k{n}"),
            ],
        ),
        spec(
            "get_metric_page",
            Member,
            vec![
                req("key", Choice, "mood"),
                opt("from", Choice, None),
                opt("to", Choice, None),
                opt("search", Lenient, None),
                opt("page", Int, None),
            ],
        ),
        spec(
            "save_entry",
            Member,
            vec![
                req("id", Int, "{observation}"),
                req("value", Number, "7"),
                opt("unit", Choice, None),
                req("at", Choice, ""),
                opt("note", Text, Some("edited")),
            ],
        ),
        spec("delete_entry", Member, vec![req("id", Int, "{doomed}")]),
        spec(
            "exclude_entry",
            Member,
            vec![
                req("id", Int, "{observation}"),
                req("excluded", Int, "true"),
            ],
        ),
        spec(
            "annotate_day",
            Member,
            vec![
                req("day", Choice, "{today}"),
                opt("note", Text, Some("Flight home")),
            ],
        ),
        spec(
            "get_pair",
            Member,
            vec![
                req("a", Lenient, "steps"),
                req("b", Lenient, "mood"),
                req("lag", Lenient, "0"),
            ],
        ),
        spec(
            "record_impressions",
            Member,
            vec![req("ids", Lenient, "{insight}")],
        ),
        spec(
            "record_insight_event",
            Member,
            vec![
                req("insight_id", Int, "{insight}"),
                req("kind", Choice, "useful"),
            ],
        ),
        spec(
            "save_metric_settings",
            Member,
            vec![
                req("key", Choice, "weight"),
                opt("display_unit", Choice, Some("lb")),
                opt("goal", Number, Some("150")),
                opt("pinned", Lenient, Some("true")),
            ],
        ),
        spec(
            "pin_metric",
            Member,
            vec![req("key", Choice, "alcohol"), req("pinned", Int, "true")],
        ),
        spec(
            "share_metric",
            Member,
            vec![
                req("key", Choice, "mood"),
                req("group_slug", Choice, "qs-north-bay"),
                req("level", Choice, "aggregate"),
            ],
        ),
        spec(
            "create_metric",
            Maker,
            vec![
                req("name", Text, "Metric {n}"),
                req("kind", Choice, "quantity"),
                opt("unit", Text, Some("pages")),
                req("aggregate", Choice, "sum"),
                opt("min", Number, None),
                opt("max", Number, None),
                opt("goal", Number, None),
            ],
        ),
        // Imports.
        spec("get_import", Member, vec![req("id", Int, "{import}")]),
        spec("list_imports", Member, vec![]),
        // Administration.
        spec("get_jobs_overview", Admin, vec![]),
        spec("get_pipeline_overview", Admin, vec![]),
        spec("retry_job", Admin, vec![req("id", Int, "{job_failed}")]),
        spec("cancel_job", Admin, vec![req("id", Int, "{job_pending}")]),
    ]
}

struct World {
    app: TestApp,
    member: reqwest::Client,
    organizer: reqwest::Client,
    admin: reqwest::Client,
    maker: reqwest::Client,
    own: Vec<(&'static str, reqwest::Client)>,
    member_id: i64,
    /// Stand-ins for `{event}` and the others.
    ids: Vec<(&'static str, String)>,
    counter: AtomicU64,
}

impl World {
    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }

    fn fill(&self, text: &str) -> String {
        let text = if text.contains("{n}") {
            text.replace("{n}", &self.next().to_string())
        } else {
            text.to_string()
        };
        self.ids
            .iter()
            .fold(text, |text, (key, id)| text.replace(key, id))
    }

    async fn client(&self, who: Who) -> reqwest::Client {
        match who {
            Who::Anonymous => TestApp::new_client(),
            Who::Member => self.member.clone(),
            Who::Organizer => self.organizer.clone(),
            Who::Admin => self.admin.clone(),
            Who::Maker => self.maker.clone(),
            Who::Fresh => {
                let email = format!("fresh{}@example.org", self.next());
                self.app.member(&email, "Fresh").await
            }
            Who::Own(email) => self
                .own
                .iter()
                .find(|(own, _)| *own == email)
                .map(|(_, client)| client.clone())
                .unwrap_or_else(|| panic!("{email} is not one of OWN")),
        }
    }
}

/// The demo group with a member, an organizer (and the admin outside it), the ids the
/// calls need, and a logged entry that must survive everything.
async fn world() -> World {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, Utc::now())
        .await
        .unwrap();
    let admin = app.member("admin@example.org", "Admin").await; // the first account
    let member = app.member("member@example.org", "Member").await;
    let organizer = app.member("organizer@example.org", "Organizer").await;
    let maker = app.member("maker@example.org", "Maker").await;
    let mut own = Vec::new();
    for (email, in_group) in OWN {
        own.push((email, app.member(email, "Own").await));
        if in_group {
            sqlx::query(
                "INSERT INTO memberships (group_id, user_id)
                 SELECT g.id, u.id FROM groups g, users u WHERE g.slug = 'qs-north-bay' AND u.email = $1",
            )
            .bind(email)
            .execute(&app.pool)
            .await
            .unwrap();
        }
    }
    sqlx::raw_sql(
        "INSERT INTO memberships (group_id, user_id, role)
         SELECT g.id, u.id, r.role::membership_role FROM groups g, users u,
                (VALUES ('member@example.org', 'member'), ('organizer@example.org', 'organizer'))
                    AS r(email, role)
          WHERE g.slug = 'qs-north-bay' AND u.email = r.email",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let user_id = |email: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let member_id = user_id("member@example.org").await;
    let demo_member = user_id("priya.natarajan@demo.cohort.invalid").await;
    let events: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM events WHERE starts_at > now() AND status = 'scheduled'
          ORDER BY starts_at, id LIMIT 3",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 3, "the demo has three upcoming meetups");
    let scalar = |sql: &'static str, first: i64, second: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(first)
                .bind(second)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let comment = scalar(
        "INSERT INTO event_comments (event_id, user_id, body) VALUES ($1, $2, 'See you there') RETURNING id",
        events[0],
        demo_member,
    )
    .await;
    let talk = scalar(
        "INSERT INTO talks (event_id, user_id, title, minutes) VALUES ($1, $2, 'My step count', 5) RETURNING id",
        events[0],
        demo_member,
    )
    .await;
    // The member's own talk, to attach an insight to.
    let my_talk = scalar(
        "INSERT INTO talks (event_id, user_id, title, minutes) VALUES ($1, $2, 'My insight', 5) RETURNING id",
        events[0],
        member_id,
    )
    .await;
    let observation_sql =
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source)
         SELECT $1, id, now() - make_interval(hours => $2::int), 7, 'quick_log'
           FROM metrics WHERE key = 'mood' AND owner_id IS NULL RETURNING id";
    let observation = scalar(observation_sql, member_id, 2).await;
    let doomed = scalar(observation_sql, member_id, 3).await;
    let token = scalar(
        "INSERT INTO api_tokens (user_id, name, scope, prefix, secret_hash)
         VALUES ($1, 'Old', 'read', 'coh_old', decode(lpad(to_hex($2), 8, '0'), 'hex')) RETURNING id",
        member_id,
        1,
    )
    .await;
    let import = scalar(
        "INSERT INTO imports (user_id, kind, filename, size_bytes, sha256)
         VALUES ($1, 'csv', 'x.csv', $2, '') RETURNING id",
        member_id,
        0,
    )
    .await;
    // A tested pair, for get_pair's baseline.
    scalar(
        "INSERT INTO pair_tests (user_id, a, b, lag_days, n, pearson_r, pearson_p, spearman_r,
                                 spearman_p, n_eff, p_adj, q, shown)
         VALUES ($1, 'steps', 'mood', $2::int, 20, 0.6, 0.01, 0.5, 0.02, 18, 0.01, 0.02, true)
         RETURNING n::bigint",
        member_id,
        0,
    )
    .await;
    let insight = scalar(
        "INSERT INTO insights (user_id, kind, subject, metrics, lag_days, numbers, sentence)
         VALUES ($1, 'correlation', 'correlation:steps:mood:' || $2::text, '{steps,mood}', 0, '{}', 'x')
         RETURNING id",
        member_id,
        0,
    )
    .await;
    // In a queue no worker serves, so that they stay as they are until called.
    let jobs: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, queue, state, last_error)
         VALUES ('test_failed', 'hostile', 'failed', 'boom'), ('test_pending', 'hostile', 'pending', NULL)
         RETURNING id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let ids = vec![
        ("{event3}", events[2].to_string()),
        ("{event2}", events[1].to_string()),
        ("{event}", events[0].to_string()),
        ("{comment}", comment.to_string()),
        ("{talk}", talk.to_string()),
        ("{my_talk}", my_talk.to_string()),
        ("{user}", demo_member.to_string()),
        ("{observation}", observation.to_string()),
        ("{today}", chrono::Utc::now().date_naive().to_string()),
        ("{doomed}", doomed.to_string()),
        ("{token}", token.to_string()),
        ("{import}", import.to_string()),
        ("{insight}", insight.to_string()),
        ("{job_failed}", jobs[0].to_string()),
        ("{job_pending}", jobs[1].to_string()),
    ];
    World {
        app,
        member,
        organizer,
        admin,
        maker,
        own,
        member_id,
        ids,
        counter: AtomicU64::new(1),
    }
}

/// Sends one body as the spec's caller, judges the answer and runs the spec's clean-up.
async fn attempt(
    world: &World,
    spec: &Spec,
    body: Vec<u8>,
    what: String,
    expect: Expect,
    log: &mut Log,
) {
    attempt_as(world, spec, body, what, expect, log, JSON).await
}

const JSON: &str = "application/json";
/// What a browser sends for a plain form post (no JavaScript).
const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn attempt_as(
    world: &World,
    spec: &Spec,
    body: Vec<u8>,
    what: String,
    expect: Expect,
    log: &mut Log,
    accept: &str,
) {
    let client = world.client(spec.who).await;
    let mut request = client
        .post(format!("{}/api/{}", world.app.address, spec.function))
        .header("Origin", &world.app.address)
        .header("Accept", accept)
        .header("Content-Type", "application/x-www-form-urlencoded");
    request = with_body(request, body);
    let what = if accept == HTML {
        request = request.header("Referer", format!("{}/hostile-form", world.app.address));
        format!("{what} (a plain form post, Accept: text/html)")
    } else {
        what
    };
    let reply = send(request).await;
    log.check(format!("{} {what}", spec.label), expect, &reply);
    if let Some(sql) = spec.after {
        sqlx::raw_sql(sql).execute(&world.app.pool).await.unwrap();
    }
}

/// The spec's arguments as form pairs, `replace` given by `with` (`None`: left out).
fn body_of(
    world: &World,
    spec: &Spec,
    replace: Option<&str>,
    with: Option<String>,
    extra: Option<&[u8]>,
) -> Vec<u8> {
    let mut parts: Vec<String> = Vec::new();
    for arg in &spec.args {
        if Some(arg.name) == replace {
            if let Some(pairs) = &with {
                parts.push(pairs.clone());
            }
        } else if let Some(value) = arg.baseline {
            parts.push(pair(arg.name, &world.fill(value)));
        }
    }
    let mut body = parts.join("&").into_bytes();
    if let Some(extra) = extra {
        if !body.is_empty() {
            body.push(b'&');
        }
        body.extend_from_slice(extra);
    }
    body
}

async fn barrage(world: &World, spec: &Spec, log: &mut Log) {
    for arg in &spec.args {
        if spec.vary.is_some_and(|vary| !vary.contains(&arg.name)) {
            continue;
        }
        for value in HOSTILE {
            let body = body_of(
                world,
                spec,
                Some(arg.name),
                Some(value.pairs(arg.name)),
                None,
            );
            let what = match value {
                Hostile::Nested => {
                    format!("{0}[a]=1&{0}[b]=2 (a map instead of a value)", arg.name)
                }
                _ => format!("{}={}", arg.name, value.label()),
            };
            attempt(world, spec, body, what, expectation(arg.kind, value), log).await;
        }
        if arg.required {
            // A required argument left out: the caller's mistake, 400.
            let body = body_of(world, spec, Some(arg.name), None, None);
            let what = format!("without {}", arg.name);
            attempt(world, spec, body, what, Expect::Status(400), log).await;
        }
    }
    // Over the 2 MiB limit of server functions: 413, not 500.
    let padding = format!("padding={}", "a".repeat(3 * MIB));
    let body = body_of(world, spec, None, None, Some(padding.as_bytes()));
    attempt(
        world,
        spec,
        body,
        "with a 3 MiB body".into(),
        Expect::Status(413),
        log,
    )
    .await;
    // Raw bytes that are not UTF-8 (an unknown field): anything but 5xx.
    let body = body_of(world, spec, None, None, Some(b"junk=\xED\xA0\x80\xFF"));
    attempt(
        world,
        spec,
        body,
        "with raw invalid UTF-8 bytes in an extra field".into(),
        Expect::NoServerError,
        log,
    )
    .await;
    // The same mistakes from a browser without JavaScript: a 4xx or the error carried back
    // to the form, never a 5xx or a dropped connection. (A form error is a successful
    // answer there, so a NUL in text only has to avoid a 5xx.)
    let varied = |kind: Kind| {
        spec.args
            .iter()
            .find(|arg| arg.kind == kind && spec.vary.is_none_or(|vary| vary.contains(&arg.name)))
    };
    if let Some(arg) = varied(Kind::Int) {
        let body = body_of(
            world,
            spec,
            Some(arg.name),
            Some(Hostile::Letters.pairs(arg.name)),
            None,
        );
        let what = format!("{}=abc", arg.name);
        attempt_as(world, spec, body, what, Expect::RefusedToForm, log, HTML).await;
    }
    if let Some(arg) = varied(Kind::Text) {
        let body = body_of(
            world,
            spec,
            Some(arg.name),
            Some(Hostile::Nul.pairs(arg.name)),
            None,
        );
        let what = format!("{}={}", arg.name, Hostile::Nul.label());
        attempt_as(world, spec, body, what, Expect::NoServerError, log, HTML).await;
    }
    if let Some(arg) = spec.args.iter().find(|arg| arg.required) {
        let body = body_of(world, spec, Some(arg.name), None, None);
        let what = format!("without {}", arg.name);
        attempt_as(world, spec, body, what, Expect::RefusedToForm, log, HTML).await;
    }
    let body = body_of(world, spec, None, None, Some(padding.as_bytes()));
    let what = "with a 3 MiB body".into();
    attempt_as(world, spec, body, what, Expect::RefusedToForm, log, HTML).await;
    if spec.args.is_empty() {
        let body = Hostile::Nul.pairs("junk").into_bytes();
        attempt(
            world,
            spec,
            body,
            "with an unexpected field holding a NUL".into(),
            Expect::NoServerError,
            log,
        )
        .await;
    }
    // Last, the valid call: it must succeed, else the hostile calls above may have been
    // refused before their input was ever checked.
    let client = world.client(spec.who).await;
    let reply = call_raw(
        &world.app,
        &client,
        spec.function,
        body_of(world, spec, None, None, None),
        "application/json",
    )
    .await;
    log.sent += 1;
    match &reply {
        Ok(reply) if reply.status < 400 && !reply.form_error() => {}
        Ok(reply) => log.fail(format!(
            "{} with valid arguments (the test's baseline) did not succeed, so its hostile calls may not reach validation: {}",
            spec.label,
            reply.describe()
        )),
        Err(error) => log.fail(format!("{} with valid arguments: {error}", spec.label)),
    }
    if let Some(sql) = spec.after {
        sqlx::raw_sql(sql).execute(&world.app.pool).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_arguments_to_every_server_function_are_refused_without_a_server_error() {
    let started = Instant::now();
    let world = world().await;
    let app = &world.app;
    let mut log = Log::default();
    let specs = specs();

    // Every registered server function has hostile coverage, and nothing here is stale.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    let covered: BTreeSet<String> = specs.iter().map(|s| s.function.to_string()).collect();
    for missing in registered.difference(&covered) {
        log.fail(format!(
            "server function {missing} has no hostile coverage: add it to specs() in hostile.rs"
        ));
    }
    for stale in covered.difference(&registered) {
        log.fail(format!(
            "specs() in hostile.rs names {stale}, which is not a registered server function"
        ));
    }

    // Stored before the barrage; must be intact after it.
    let sentinel = call(
        app,
        &world.member,
        "log_entry",
        &[
            ("metric", "weight"),
            ("value", "70.5"),
            ("unit", "kg"),
            ("note", "sentinel #keep"),
            ("key", "sentinel"),
        ],
    )
    .await;
    assert!(
        sentinel.as_ref().is_ok_and(|r| r.status == 200),
        "logging the sentinel entry: {:?}",
        sentinel.map(|r| r.describe())
    );
    let (sentinel_id, sentinel_value): (i64, f64) = sqlx::query_as(
        "SELECT id, value FROM observations WHERE user_id = $1 AND note = 'sentinel #keep'",
    )
    .bind(world.member_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();

    // A few functions at a time; `create_group` alone and last, since the groups it makes
    // (a group "abc") would be found by the slug lookups of the others.
    let (alone, together): (Vec<&Spec>, Vec<&Spec>) = specs
        .iter()
        .partition(|spec| spec.function == "create_group");
    let logs: Vec<Log> = futures_util::stream::iter(together)
        .map(|spec| {
            let world = &world;
            async move {
                let begun = Instant::now();
                let mut log = Log::default();
                barrage(world, spec, &mut log).await;
                if begun.elapsed() > Duration::from_secs(5) {
                    println!(
                        "  {} took {:.1} s",
                        spec.label,
                        begun.elapsed().as_secs_f64()
                    );
                }
                log
            }
        })
        .buffered(4)
        .collect()
        .await;
    for spec_log in logs {
        log.sent += spec_log.sent;
        log.failures.extend(spec_log.failures);
    }
    for spec in alone {
        barrage(&world, spec, &mut log).await;
    }

    // The server still answers, and what was stored is intact.
    let health = send(app.client.get(format!("{}/healthz", app.address))).await;
    log.check(
        "GET /healthz after the barrage".into(),
        Expect::Status(200),
        &health,
    );
    match world.app.whoami(&world.member).await {
        Some(email) if email == "member@example.org" => {}
        other => log.fail(format!(
            "after the barrage the member's session answers {other:?} instead of member@example.org"
        )),
    }
    let stored: Option<(f64, String)> =
        sqlx::query_as("SELECT value, note FROM observations WHERE id = $1")
            .bind(sentinel_id)
            .fetch_optional(&app.pool)
            .await
            .unwrap();
    if stored != Some((sentinel_value, "sentinel #keep".to_string())) {
        log.fail(format!(
            "the sentinel entry logged before the barrage changed: {stored:?}, was ({sentinel_value}, \"sentinel #keep\")"
        ));
    }
    let non_finite: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM observations WHERE value IN ('Infinity', '-Infinity', 'NaN'))
              + (SELECT count(*) FROM metric_settings WHERE goal IN ('Infinity', '-Infinity', 'NaN'))
              + (SELECT count(*) FROM metrics WHERE min_value IN ('Infinity', '-Infinity', 'NaN')
                                                  OR max_value IN ('Infinity', '-Infinity', 'NaN'))",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    if non_finite > 0 {
        log.fail(format!(
            "{non_finite} non-finite values (inf, -inf, NaN) were stored by the barrage"
        ));
    }
    // What the barrage stored still reads back and renders.
    for (function, form) in [
        ("get_track", vec![]),
        ("get_dashboard", vec![]),
        ("get_pairs", vec![]),
        ("get_metric_page", vec![("key", "mood")]),
        ("get_metric_page", vec![("key", "weight")]),
        ("get_event", vec![("id", world.ids[2].1.as_str())]),
        ("get_group", vec![("slug", "qs-north-bay")]),
        ("get_home", vec![]),
    ] {
        let reply = call(app, &world.member, function, &form).await;
        log.check(
            format!("{function} {form:?} after the barrage"),
            Expect::Status(200),
            &reply,
        );
    }
    for path in [
        "/track".to_string(),
        "/track/mood".to_string(),
        "/me".to_string(),
        "/me/export".to_string(),
        "/track/export.csv".to_string(),
        "/track/export.json".to_string(),
        format!("/events/{}", world.ids[2].1),
        format!("/events/{}", world.ids[0].1),
        "/groups/qs-north-bay".to_string(),
    ] {
        let reply = send(world.member.get(format!("{}{path}", app.address))).await;
        log.check(
            format!("GET {path} after the barrage"),
            Expect::Status(200),
            &reply,
        );
    }
    println!(
        "server functions: {} registered, {} specs",
        registered.len(),
        specs.len()
    );
    log.finish("server functions", started);
}

// ---------------------------------------------------------------------------------------
// A value that only overflows once converted
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_values_that_overflow_in_unit_conversion_are_refused_and_not_stored() {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let mut log = Log::default();
    let client = app.member("kilo@example.org", "Kilo").await;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'kilo@example.org'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // A metric of their own in kg, without bounds.
    let reply = call(
        &app,
        &client,
        "create_metric",
        &[
            ("name", "Kettlebell"),
            ("kind", "quantity"),
            ("unit", "kg"),
            ("aggregate", "last"),
        ],
    )
    .await;
    assert!(
        reply
            .as_ref()
            .is_ok_and(|r| r.status < 400 && !r.form_error()),
        "creating the metric: {:?}",
        reply.map(|r| r.describe())
    );
    let key: String =
        sqlx::query_scalar("SELECT key FROM metrics WHERE owner_id = $1 AND name = 'Kettlebell'")
            .bind(user)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    // 1e308 is finite; in stones it is 6.35e308 kg, which is not.
    for (i, (value, unit)) in [("1e308", "st"), ("1e308", "stone"), ("1.7e308", "st")]
        .into_iter()
        .enumerate()
    {
        let idempotency = format!("huge-{i}");
        let reply = call(
            &app,
            &client,
            "log_entry",
            &[
                ("metric", key.as_str()),
                ("value", value),
                ("unit", unit),
                ("key", idempotency.as_str()),
            ],
        )
        .await;
        log.check(
            format!("log_entry value={value} unit={unit} on a kg metric without bounds"),
            Expect::Refused,
            &reply,
        );
    }
    let landed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM raw_observations WHERE user_id = $1 AND idempotency_key LIKE 'huge-%'",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    if landed > 0 {
        log.fail(format!(
            "log_entry of 1e308 st: {landed} entries landed in raw_observations; nothing may be stored"
        ));
    }

    // Editing an entry to 1e308 st.
    let reply = call(
        &app,
        &client,
        "log_entry",
        &[
            ("metric", key.as_str()),
            ("value", "20"),
            ("unit", "kg"),
            ("key", "base"),
        ],
    )
    .await;
    log.check(
        "log_entry value=20 unit=kg".into(),
        Expect::Status(200),
        &reply,
    );
    let entry: Option<i64> = sqlx::query_scalar(
        "SELECT o.id FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 AND m.key = $2",
    )
    .bind(user)
    .bind(&key)
    .fetch_optional(&app.pool)
    .await
    .unwrap();
    match entry {
        None => log.fail("log_entry value=20 unit=kg stored no observation".into()),
        Some(entry) => {
            let id = entry.to_string();
            let reply = call(
                &app,
                &client,
                "save_entry",
                &[
                    ("id", id.as_str()),
                    ("value", "1e308"),
                    ("unit", "st"),
                    ("at", ""),
                ],
            )
            .await;
            log.check(
                "save_entry value=1e308 unit=st on a kg metric without bounds".into(),
                Expect::Refused,
                &reply,
            );
            let value: f64 = sqlx::query_scalar("SELECT value FROM observations WHERE id = $1")
                .bind(entry)
                .fetch_one(&app.pool)
                .await
                .unwrap();
            if value != 20.0 {
                log.fail(format!(
                    "save_entry value=1e308 unit=st changed the stored value from 20 to {value}"
                ));
            }
        }
    }

    // A goal of 1e308 st.
    let reply = call(
        &app,
        &client,
        "save_metric_settings",
        &[
            ("key", key.as_str()),
            ("display_unit", "st"),
            ("goal", "1e308"),
        ],
    )
    .await;
    log.check(
        "save_metric_settings display_unit=st goal=1e308 on a kg metric".into(),
        Expect::Refused,
        &reply,
    );

    // The REST API: the valid item is kept, the overflowing ones refused.
    let token = call(
        &app,
        &client,
        "create_token",
        &[("name", "Script"), ("scope", "write")],
    )
    .await
    .ok()
    .and_then(|r| r.json())
    .and_then(|body| body["secret"].as_str().map(str::to_string))
    .expect("a write token");
    let batch = json!({ "observations": [
        { "metric": key, "value": 1e308, "unit": "st", "idempotency_key": "api-huge-number" },
        { "metric": key, "value": "1e308", "unit": "st", "idempotency_key": "api-huge-text" },
        { "metric": key, "value": 21, "unit": "kg", "idempotency_key": "api-valid" },
    ]});
    let reply = send(
        reqwest::Client::new()
            .post(format!("{}/api/v1/observations", app.address))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(batch.to_string()),
    )
    .await;
    log.sent += 1;
    match &reply {
        Ok(reply) if reply.status == 200 => {
            let body = reply.json().unwrap_or_default();
            let statuses: Vec<&str> = body["results"]
                .as_array()
                .map(|results| results.iter().filter_map(|r| r["status"].as_str()).collect())
                .unwrap_or_default();
            if statuses != ["rejected", "rejected", "accepted"] {
                log.fail(format!(
                    "POST /api/v1/observations with 1e308 st (number and text) and 21 kg on a kg metric: expected rejected, rejected, accepted; got {statuses:?}: {}",
                    excerpt(&reply.body)
                ));
            }
        }
        Ok(reply) => log.fail(format!(
            "POST /api/v1/observations with 1e308 st on a kg metric: expected 200 with a result per item, got {}",
            reply.describe()
        )),
        Err(error) => log.fail(format!("POST /api/v1/observations with 1e308 st: {error}")),
    }
    if let Err(error) = cohort_runner(app.pool.clone(), 1, Arc::new(Services::default()))
        .run_pending()
        .await
    {
        log.fail(format!(
            "running Distill after the API batch failed: {error:#}"
        ));
    }
    let non_finite: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM observations WHERE value IN ('Infinity', '-Infinity', 'NaN'))
              + (SELECT count(*) FROM metric_settings WHERE goal IN ('Infinity', '-Infinity', 'NaN'))",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    if non_finite > 0 {
        log.fail(format!(
            "{non_finite} non-finite values (inf, -inf, NaN) are stored after 1e308 st"
        ));
    }
    log.finish("unit conversion", started);
}

// ---------------------------------------------------------------------------------------
// `next` after logging in and signing up
// ---------------------------------------------------------------------------------------

/// Where a browser goes with this Location: this site, or an error naming where.
fn stays_on_site(base: &reqwest::Url, location: &str) -> Result<(), String> {
    // `Url::join` resolves as browsers do (WHATWG): tabs and newlines are removed, `\` is
    // `/`, `//host` is another host.
    match base.join(location) {
        Ok(url) if url.origin() == base.origin() => Ok(()),
        Ok(url) => Err(format!(
            "Location {location:?} takes a browser off the site, to {url}"
        )),
        Err(error) => Err(format!(
            "Location {location:?} is not a path on this site ({error})"
        )),
    }
}

#[tokio::test]
async fn hostile_next_after_login_or_signup_never_leaves_the_site_or_drops_the_connection() {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let mut log = Log::default();
    app.member("quinn@example.org", "Quinn").await;
    let base = reqwest::Url::parse(&app.address).unwrap();
    let nexts = [
        "/\n/x",
        "/\t/evil.example/",
        "/\t\t/evil.example",
        "/\r\n/evil.example/",
        "/\r/evil.example/",
        "/\u{0}/x",
        "/\u{b}/evil.example",
        "/\u{7f}/x",
        "/ /evil.example",
        "/\\evil.example",
        "/%09/evil.example/",
        "/%2F/evil.example",
        "\t//evil.example",
        " //evil.example",
        "/\u{3000}/evil.example",
        "/\u{2028}/evil.example",
    ];
    let mut n = 0;
    for next in nexts {
        for accept in ["application/json", "text/html"] {
            for function in ["login", "signup"] {
                n += 1;
                let email = format!("next{n}@example.org");
                let form: Vec<(&str, &str)> = if function == "login" {
                    vec![
                        ("email", "quinn@example.org"),
                        ("password", PASSWORD),
                        ("next", next),
                    ]
                } else {
                    vec![
                        ("email", email.as_str()),
                        ("display_name", "Next"),
                        ("password", PASSWORD),
                        ("next", next),
                    ]
                };
                let body = form
                    .iter()
                    .map(|(name, value)| pair(name, value))
                    .collect::<Vec<_>>()
                    .join("&");
                let client = TestApp::new_client();
                let reply = call_raw(&app, &client, function, body.into_bytes(), accept).await;
                let what = format!("{function} with next={next:?} (Accept: {accept})");
                log.check(what.clone(), Expect::NoServerError, &reply);
                if let Ok(reply) = &reply {
                    if let Some(location) = &reply.location {
                        if let Err(problem) = stays_on_site(&base, location) {
                            log.fail(format!("{what}: {problem}"));
                        }
                    }
                }
            }
        }
    }
    log.finish("next", started);
}

// ---------------------------------------------------------------------------------------
// The REST API
// ---------------------------------------------------------------------------------------

async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    authorization: Option<reqwest::header::HeaderValue>,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Reply, String> {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.address));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(body) = body {
        request = with_body(request, body);
    }
    send(request).await
}

fn bearer(token: &str) -> Option<reqwest::header::HeaderValue> {
    Some(reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).unwrap())
}

/// A refusal in the API's own form: 4xx, `application/problem+json`, with a code and detail.
fn problem(reply: &Reply) -> Result<(), String> {
    let body = reply.json().unwrap_or_default();
    if (400..500).contains(&reply.status)
        && reply.content_type == "application/problem+json"
        && body["code"].is_string()
        && body["detail"].as_str().is_some_and(|d| !d.is_empty())
    {
        Ok(())
    } else {
        Err(format!(
            "expected a 4xx application/problem+json with a code and detail, got {} ({})",
            reply.describe(),
            reply.content_type
        ))
    }
}

/// What must become of the hostile item of a two-item batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    /// `rejected`, with the reason; the valid item `accepted`.
    Rejected,
    /// Either fate (it is not invalid, only odd), but no 5xx and the valid item `accepted`.
    Either,
    /// The body cannot be read as JSON: a 400 problem for the whole batch is right; a 200
    /// must still keep the valid item.
    Unreadable,
}

#[tokio::test]
async fn hostile_input_to_the_rest_api_is_refused_per_item_and_valid_items_are_kept() {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let mut log = Log::default();
    let client = app.member("api@example.org", "Api").await;
    let user: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'api@example.org'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let token = |scope: &'static str| {
        let (app, client) = (&app, &client);
        async move {
            call(
                app,
                client,
                "create_token",
                &[("name", "Script"), ("scope", scope)],
            )
            .await
            .ok()
            .and_then(|r| r.json())
            .and_then(|body| body["secret"].as_str().map(str::to_string))
            .expect("a token")
        }
    };
    let write = token("write").await;
    let read = token("read").await;
    let reply = call(
        &app,
        &client,
        "create_metric",
        &[
            ("name", "Kettlebell"),
            ("kind", "quantity"),
            ("unit", "kg"),
            ("aggregate", "last"),
        ],
    )
    .await;
    assert!(reply.is_ok_and(|r| r.status < 400 && !r.form_error()));
    let kettlebell: String =
        sqlx::query_scalar("SELECT key FROM metrics WHERE owner_id = $1 AND name = 'Kettlebell'")
            .bind(user)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let yesterday = (Utc::now() - TimeDelta::days(1)).to_rfc3339();
    let post = |body: Vec<u8>, content_type: &'static str| {
        let (app, write) = (&app, &write);
        async move {
            api(
                app,
                reqwest::Method::POST,
                "/api/v1/observations",
                bearer(write),
                Some(content_type),
                Some(body),
            )
            .await
        }
    };

    // Stored before; must be intact after.
    let sentinel = json!({ "observations": [{ "metric": "weight", "value": 70.5, "unit": "kg",
        "time": yesterday, "note": "sentinel #keep", "idempotency_key": "sentinel" }] });
    let reply = post(sentinel.to_string().into_bytes(), "application/json").await;
    assert!(
        reply
            .as_ref()
            .is_ok_and(|r| r.status == 200 && r.body.contains("\"accepted\":1")),
        "storing the sentinel: {:?}",
        reply.map(|r| r.describe())
    );
    cohort_runner(app.pool.clone(), 1, Arc::new(Services::default()))
        .run_pending()
        .await
        .unwrap();

    let long = "a".repeat(1_000_000);
    let nines = "9".repeat(1_000_000);
    let hostile: Vec<(String, String, Item)> = vec![
        // NUL in each text field (issue 11: a NUL in a note failed the whole batch with 500).
        (
            "a NUL in the note".into(),
            json!({ "metric": "mood", "value": 5, "note": "bad\u{0}note" }).to_string(),
            Item::Rejected,
        ),
        (
            "a NUL in the metric".into(),
            json!({ "metric": "mo\u{0}od", "value": 5 }).to_string(),
            Item::Rejected,
        ),
        (
            "a NUL in the unit".into(),
            json!({ "metric": "weight", "value": 70, "unit": "k\u{0}g" }).to_string(),
            Item::Rejected,
        ),
        (
            "a NUL in the time".into(),
            json!({ "metric": "mood", "value": 5, "time": "2026-11-01\u{0}" }).to_string(),
            Item::Rejected,
        ),
        (
            "a NUL in the value".into(),
            json!({ "metric": "mood", "value": "5\u{0}" }).to_string(),
            Item::Rejected,
        ),
        (
            "a NUL in the idempotency key".into(),
            json!({ "metric": "mood", "value": 5, "idempotency_key": "k\u{0}" }).to_string(),
            Item::Rejected,
        ),
        // Over-long strings.
        (
            "a 1 MB note".into(),
            json!({ "metric": "mood", "value": 5, "note": long }).to_string(),
            Item::Rejected,
        ),
        (
            "a 1 MB metric name".into(),
            json!({ "metric": long, "value": 5 }).to_string(),
            Item::Rejected,
        ),
        (
            "a 1 MB unit".into(),
            json!({ "metric": "weight", "value": 70, "unit": long }).to_string(),
            Item::Rejected,
        ),
        (
            "a 1 MB time".into(),
            json!({ "metric": "mood", "value": 5, "time": long }).to_string(),
            Item::Rejected,
        ),
        (
            "a 1 MB idempotency key".into(),
            json!({ "metric": "mood", "value": 5, "idempotency_key": long }).to_string(),
            Item::Rejected,
        ),
        (
            "a value of a million nines, as text".into(),
            json!({ "metric": "steps", "value": nines }).to_string(),
            Item::Rejected,
        ),
        // Huge and non-finite numbers.
        (
            "1e308 mood".into(),
            json!({ "metric": "mood", "value": 1e308 }).to_string(),
            Item::Rejected,
        ),
        (
            "-1e308 steps".into(),
            json!({ "metric": "steps", "value": -1e308 }).to_string(),
            Item::Rejected,
        ),
        (
            "\"NaN\" as the value".into(),
            json!({ "metric": "weight", "value": "NaN" }).to_string(),
            Item::Rejected,
        ),
        (
            "\"inf\" as the value".into(),
            json!({ "metric": "weight", "value": "inf" }).to_string(),
            Item::Rejected,
        ),
        (
            "\"-inf\" as the value".into(),
            json!({ "metric": "weight", "value": "-inf" }).to_string(),
            Item::Rejected,
        ),
        (
            "\"1e309\" as the value".into(),
            json!({ "metric": "weight", "value": "1e309" }).to_string(),
            Item::Rejected,
        ),
        (
            "1e308 st on a kg metric without bounds".into(),
            json!({ "metric": kettlebell, "value": 1e308, "unit": "st" }).to_string(),
            Item::Rejected,
        ),
        // Wrong types.
        (
            "an array as the value".into(),
            json!({ "metric": "mood", "value": [5] }).to_string(),
            Item::Rejected,
        ),
        (
            "an object as the value".into(),
            json!({ "metric": "mood", "value": { "n": 5 } }).to_string(),
            Item::Rejected,
        ),
        (
            "null as the value".into(),
            json!({ "metric": "mood", "value": null }).to_string(),
            Item::Rejected,
        ),
        (
            "no value".into(),
            json!({ "metric": "mood" }).to_string(),
            Item::Rejected,
        ),
        (
            "true as a mood".into(),
            json!({ "metric": "mood", "value": true }).to_string(),
            Item::Rejected,
        ),
        (
            "a number as the metric".into(),
            json!({ "metric": 5, "value": 5 }).to_string(),
            Item::Rejected,
        ),
        (
            "null as the metric".into(),
            json!({ "metric": null, "value": 5 }).to_string(),
            Item::Rejected,
        ),
        (
            "a number as the note".into(),
            json!({ "metric": "mood", "value": 5, "note": 5 }).to_string(),
            Item::Rejected,
        ),
        (
            "an object as the note".into(),
            json!({ "metric": "mood", "value": 5, "note": {} }).to_string(),
            Item::Rejected,
        ),
        (
            "a number as the time".into(),
            json!({ "metric": "mood", "value": 5, "time": 1_700_000_000 }).to_string(),
            Item::Rejected,
        ),
        (
            "true as the unit".into(),
            json!({ "metric": "weight", "value": 70, "unit": true }).to_string(),
            Item::Rejected,
        ),
        (
            "an array as the idempotency key".into(),
            json!({ "metric": "mood", "value": 5, "idempotency_key": ["k"] }).to_string(),
            Item::Rejected,
        ),
        (
            "a string as the item".into(),
            json!("mood 5").to_string(),
            Item::Rejected,
        ),
        ("null as the item".into(), "null".into(), Item::Rejected),
        (
            "an array as the item".into(),
            "[\"mood\", 5]".into(),
            Item::Rejected,
        ),
        (
            "a time before the year 0".into(),
            json!({ "metric": "mood", "value": 5, "time": "-5000-01-01T00:00:00Z" }).to_string(),
            Item::Rejected,
        ),
        (
            "a time in the year 200000".into(),
            json!({ "metric": "mood", "value": 5, "time": "+200000-01-01T00:00:00Z" }).to_string(),
            Item::Rejected,
        ),
        // Odd but not invalid: either fate, never a 5xx.
        (
            "a NUL in an unknown field".into(),
            json!({ "metric": "mood", "value": 5, "extra": "\u{0}" }).to_string(),
            Item::Either,
        ),
        (
            "a NUL in the time zone (no time given)".into(),
            json!({ "metric": "mood", "value": 5, "time_zone": "\u{0}" }).to_string(),
            Item::Either,
        ),
        (
            "1e308 in an unknown field".into(),
            json!({ "metric": "mood", "value": 5, "extra": 1e308 }).to_string(),
            Item::Either,
        ),
        // Not JSON that can be read: the whole body may be refused.
        (
            "a lone leading surrogate in the note".into(),
            r#"{"metric": "mood", "value": 5, "note": "\ud800"}"#.into(),
            Item::Unreadable,
        ),
        (
            "a lone trailing surrogate in the metric".into(),
            r#"{"metric": "\udc00", "value": 5}"#.into(),
            Item::Unreadable,
        ),
        (
            "1e400 as the value".into(),
            r#"{"metric": "steps", "value": 1e400}"#.into(),
            Item::Unreadable,
        ),
        (
            "-1e309 as the value".into(),
            r#"{"metric": "steps", "value": -1e309}"#.into(),
            Item::Unreadable,
        ),
        (
            "NaN as a bare JSON value".into(),
            r#"{"metric": "steps", "value": NaN}"#.into(),
            Item::Unreadable,
        ),
        (
            "Infinity as a bare JSON value".into(),
            r#"{"metric": "steps", "value": Infinity}"#.into(),
            Item::Unreadable,
        ),
        (
            "a raw NUL byte in a string".into(),
            "{\"metric\": \"mood\", \"value\": 5, \"note\": \"a\u{0}b\"}".into(),
            Item::Unreadable,
        ),
        (
            "an item nested 100,000 arrays deep".into(),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            Item::Unreadable,
        ),
    ];

    let mut kept = 0;
    for (i, (label, item, fate)) in hostile.iter().enumerate() {
        let valid = json!({ "metric": "steps", "value": 1000 + i, "time": yesterday,
            "idempotency_key": format!("valid-{i}") });
        let body = format!("{{\"observations\": [{valid}, {item}]}}");
        let reply = post(body.into_bytes(), "application/json").await;
        let what = format!("POST /api/v1/observations with a valid item and {label}");
        log.sent += 1;
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                log.fail(format!("{what}: {error}"));
                continue;
            }
        };
        if reply.status >= 500 {
            log.fail(format!("{what}: a server error: {}", reply.describe()));
            continue;
        }
        if *fate == Item::Unreadable && reply.status != 200 {
            if let Err(problem) = problem(&reply) {
                log.fail(format!("{what}: {problem}"));
            }
            continue;
        }
        if reply.status != 200 {
            log.fail(format!(
                "{what}: expected 200 with a result per item (the valid one kept, the other refused with its reason), got {}",
                reply.describe()
            ));
            continue;
        }
        let body = reply.json().unwrap_or_default();
        let results = body["results"].as_array().cloned().unwrap_or_default();
        let status = |n: usize| {
            results
                .get(n)
                .and_then(|r| r["status"].as_str())
                .unwrap_or("(none)")
        };
        if status(0) == "accepted" {
            kept += 1;
        } else {
            log.fail(format!(
                "{what}: the valid item was not kept: {}",
                excerpt(&reply.body)
            ));
        }
        let reason = results
            .get(1)
            .and_then(|r| r["error"].as_str())
            .is_some_and(|e| !e.trim().is_empty());
        match fate {
            Item::Rejected if status(1) != "rejected" || !reason => log.fail(format!(
                "{what}: expected the hostile item rejected with a reason, got {}: {}",
                status(1),
                excerpt(&reply.body)
            )),
            Item::Either | Item::Unreadable
                if !["accepted", "rejected", "duplicate"].contains(&status(1)) =>
            {
                log.fail(format!(
                    "{what}: no result for the second item: {}",
                    excerpt(&reply.body)
                ))
            }
            _ => {}
        }
    }

    // Whole bodies that are not a batch.
    let valid =
        json!({ "metric": "steps", "value": 5, "time": yesterday, "idempotency_key": "never" });
    let mut invalid_utf8 =
        format!("{{\"observations\": [{valid}, {{\"metric\": \"mood\", \"value\": 5, \"note\": \"")
            .into_bytes();
    invalid_utf8.extend_from_slice(b"\xED\xA0\x80\xFF\"}]}");
    let over_limit = {
        // 17 MiB of notes: over the API's 16 MiB body limit.
        let note = "n".repeat(MIB);
        let items: Vec<Value> = (0..17)
            .map(|i| json!({ "metric": "steps", "value": i, "note": note }))
            .collect();
        json!({ "observations": items }).to_string().into_bytes()
    };
    let wholes: Vec<(&str, Vec<u8>, &str, Expect)> = vec![
        (
            "raw invalid UTF-8 bytes in a note",
            invalid_utf8,
            "application/json",
            Expect::Status(400),
        ),
        (
            "a truncated body",
            b"{\"observations\": [{\"metric\": \"mo".to_vec(),
            "application/json",
            Expect::Status(400),
        ),
        (
            "a string as the batch",
            b"{\"observations\": \"mood 5\"}".to_vec(),
            "application/json",
            Expect::Status(400),
        ),
        (
            "null as the batch",
            b"{\"observations\": null}".to_vec(),
            "application/json",
            Expect::Status(400),
        ),
        (
            "a number as the body",
            b"5e400".to_vec(),
            "application/json",
            Expect::Status(400),
        ),
        (
            "an empty body",
            Vec::new(),
            "application/json",
            Expect::Status(400),
        ),
        (
            "a form body",
            b"metric=mood&value=5".to_vec(),
            "application/x-www-form-urlencoded",
            Expect::Refused,
        ),
        (
            "JSON as text/plain",
            json!({ "observations": [valid] }).to_string().into_bytes(),
            "text/plain",
            Expect::Refused,
        ),
        (
            "a 17 MiB body (over the 16 MiB limit)",
            over_limit,
            "application/json",
            Expect::Status(413),
        ),
    ];
    for (label, body, content_type, expect) in wholes {
        let reply = post(body, content_type).await;
        let what = format!("POST /api/v1/observations with {label}");
        log.check(what.clone(), expect, &reply);
        if let Ok(reply) = &reply {
            if reply.status < 500 {
                if let Err(problem) = problem(reply) {
                    log.fail(format!("{what}: {problem}"));
                }
            }
        }
    }

    // Junk query parameters and paths.
    let long_metric = "a".repeat(8000);
    let gets: Vec<String> = [
        "/api/v1/observations?metric=%00",
        "/api/v1/observations?metric=%ED%A0%80",
        "/api/v1/observations?metric=mo%00od&limit=5",
        "/api/v1/observations?limit=abc",
        "/api/v1/observations?limit=1e308",
        "/api/v1/observations?limit=-1e309",
        "/api/v1/observations?limit=NaN",
        "/api/v1/observations?limit=99999999999999999999",
        "/api/v1/observations?limit=9223372036854775807",
        "/api/v1/observations?limit=-1",
        "/api/v1/observations?limit=%00",
        "/api/v1/observations?limit=5&limit=6",
        "/api/v1/observations?limit[]=5",
        "/api/v1/observations?metric[a]=mood",
        "/api/v1/observations?from=%00",
        "/api/v1/observations?from=abc",
        "/api/v1/observations?from=1e308",
        "/api/v1/observations?from=%ED%A0%80",
        "/api/v1/observations?from=-5000-01-01",
        "/api/v1/observations?from=-5000-01-01T00:00:00Z",
        "/api/v1/observations?to=%2B200000-01-01",
        "/api/v1/observations?to=%2B262143-12-31T23:59:59Z",
        "/api/v1/observations?from=2026-01-01T00:00:00%2B99:00",
        "/api/v1/observations?cursor=abc",
        "/api/v1/observations?cursor=%00.%00",
        "/api/v1/observations?cursor=1e308.1",
        "/api/v1/observations?cursor=99999999999999999999.1",
        "/api/v1/observations?cursor=-9223372036854775808.1",
        "/api/v1/observations?cursor=9223372036854775807.9223372036854775807",
        "/api/v1/observations?cursor=-250000000000000000.1",
        "/api/v1/observations?cursor=8000000000000000000.1",
        "/api/v1/observations?cursor=1.%ED%A0%80",
        "/api/v1/metrics?junk=%00&limit=abc",
        "/api/v1/events?junk=%ED%A0%80",
        "/api/v1/%00",
        "/api/v1/observations/%ED%A0%80",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("/api/v1/observations?metric={long_metric}")])
    .collect();
    for path in &gets {
        let reply = api(&app, reqwest::Method::GET, path, bearer(&read), None, None).await;
        let shown = excerpt(path);
        log.check(format!("GET {shown}"), Expect::NoServerError, &reply);
        if let Ok(reply) = &reply {
            if (400..500).contains(&reply.status) {
                if let Err(problem) = problem(reply) {
                    log.fail(format!("GET {shown}: {problem}"));
                }
            }
        }
    }

    // Hostile credentials: 401, never more.
    let header = |bytes: &[u8]| Some(reqwest::header::HeaderValue::from_bytes(bytes).unwrap());
    let long_token = format!("Bearer coh_{}", "a".repeat(60_000));
    for (label, authorization) in [
        ("an empty bearer token", header(b"Bearer ")),
        (
            "a bearer token of invalid UTF-8",
            header(b"Bearer coh_\xED\xA0\x80\xFF"),
        ),
        ("a 60 kB bearer token", header(long_token.as_bytes())),
        ("Basic credentials", header(b"Basic YWJjOmRlZg==")),
    ] {
        let reply = api(
            &app,
            reqwest::Method::GET,
            "/api/v1/metrics",
            authorization,
            None,
            None,
        )
        .await;
        log.check(
            format!("GET /api/v1/metrics with {label}"),
            Expect::Status(401),
            &reply,
        );
    }

    // The valid items were kept, distilled, and the sentinel is intact.
    if let Err(error) = cohort_runner(app.pool.clone(), 1, Arc::new(Services::default()))
        .run_pending()
        .await
    {
        log.fail(format!(
            "running Distill after the barrage failed: {error:#}"
        ));
    }
    let landed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM raw_observations WHERE user_id = $1 AND idempotency_key LIKE 'valid-%'",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    if landed != kept {
        log.fail(format!(
            "{kept} valid items were answered `accepted` but {landed} landed in raw_observations"
        ));
    }
    let reply = api(
        &app,
        reqwest::Method::GET,
        "/api/v1/observations?metric=weight",
        bearer(&read),
        None,
        None,
    )
    .await;
    log.sent += 1;
    match reply {
        Ok(reply) if reply.status == 200 => {
            let body = reply.json().unwrap_or_default();
            let sentinel: Vec<&Value> = body["data"]
                .as_array()
                .map(|data| {
                    data.iter()
                        .filter(|o| o["note"] == "sentinel #keep")
                        .collect()
                })
                .unwrap_or_default();
            if sentinel.len() != 1 || sentinel[0]["value"] != json!(70.5) {
                log.fail(format!(
                    "the sentinel observation stored before the barrage is not intact: {}",
                    excerpt(&reply.body)
                ));
            }
        }
        Ok(reply) => log.fail(format!(
            "reading the sentinel back after the barrage: {}",
            reply.describe()
        )),
        Err(error) => log.fail(format!(
            "reading the sentinel back after the barrage: {error}"
        )),
    }
    let non_finite: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM observations WHERE value IN ('Infinity', '-Infinity', 'NaN')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    if non_finite > 0 {
        log.fail(format!(
            "{non_finite} non-finite observations were stored through the API"
        ));
    }
    let health = send(app.client.get(format!("{}/healthz", app.address))).await;
    log.check(
        "GET /healthz after the barrage".into(),
        Expect::Status(200),
        &health,
    );
    println!(
        "REST API: POST and GET /api/v1/observations, GET /api/v1/metrics, GET /api/v1/events and unknown paths; {} mixed batches, {kept} valid items kept",
        hostile.len()
    );
    log.finish("REST API", started);
}

// ---------------------------------------------------------------------------------------
// Pages and the other routes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_paths_and_queries_to_pages_and_routes_get_no_server_error() {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let mut log = Log::default();
    cohort::seed::seed_demo(&app.pool, Utc::now())
        .await
        .unwrap();
    app.member("admin@example.org", "Admin").await; // the first account
    let organizer = app.member("organizer@example.org", "Organizer").await;
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO memberships (group_id, user_id, role)
         SELECT g.id, u.id, 'organizer' FROM groups g, users u
          WHERE g.slug = 'qs-north-bay' AND u.email = 'organizer@example.org'
         RETURNING user_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let import: i64 = sqlx::query_scalar(
        "INSERT INTO imports (user_id, kind, filename, size_bytes, sha256, headers)
         VALUES ($1, 'csv', 'x.csv', 0, '', '[\"date\", \"Weight (kg)\"]') RETURNING id",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let eight_k = "a".repeat(8000);
    let mut gets: Vec<String> = Vec::new();
    for id in [
        "abc",
        "1e308",
        "99999999999999999999",
        "9223372036854775807",
        "-1",
        "%00",
        "%ED%A0%80",
        eight_k.as_str(),
    ] {
        for tail in ["", "/event.ics", "/attendees.csv", "/edit", "/manage"] {
            gets.push(format!("/events/{id}{tail}"));
        }
    }
    for slug in ["%00", "%ED%A0%80", "a%00b", eight_k.as_str()] {
        for tail in ["", "/calendar.ics", "/events.atom", "/events/new"] {
            gets.push(format!("/groups/{slug}{tail}"));
        }
    }
    gets.extend(
        [
            "/groups/qs-north-bay/events/new?from=abc",
            "/groups/qs-north-bay/events/new?from=%00",
            "/groups/qs-north-bay/events/new?from=99999999999999999999",
            "/track/%00",
            "/track/%ED%A0%80",
            "/track/mood?from=%00",
            "/track/mood?from=abc&to=1e308&page=abc&search=%00",
            "/track/mood?search=%ED%A0%80",
            "/track/mood?page=-1",
            "/track/mood?page=0",
            "/track/mood?page=99999999999999999999",
            "/track/mood?page=9223372036854775807",
            "/track/mood?from=-5000-01-01&to=%2B200000-01-01",
            "/track/import/abc",
            "/track/import/%00",
            "/track/import/99999999999999999999",
            "/track/export.csv?from=%00",
            "/track/export.json?junk=%ED%A0%80",
            "/?show=%00",
            "/?show=%ED%A0%80",
            "/login?next=%00",
            "/login?next=%0A/x",
            "/signup?next=%09/evil.example",
            "/me/export?junk=%00",
            "/me/tokens?junk=%00",
            "/admin/jobs?junk=%00",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for path in &gets {
        let reply = send(organizer.get(format!("{}{path}", app.address))).await;
        log.check(
            format!("GET {}", excerpt(path)),
            Expect::NoServerError,
            &reply,
        );
    }

    // Starting an import with hostile mappings.
    let post_form = |path: String, body: Vec<u8>, content_type: &'static str| {
        let (app, organizer) = (&app, &organizer);
        async move {
            send_body(
                organizer
                    .post(format!("{}{path}", app.address))
                    .header("Origin", &app.address)
                    .header("Content-Type", content_type),
                body,
            )
            .await
        }
    };
    let start = format!("/track/import/{import}/start");
    let form = "application/x-www-form-urlencoded";
    for (label, path, body) in [
        (
            "a NUL in the time zone",
            start.clone(),
            b"time_zone=%00&col0=time&col1=ignore".to_vec(),
        ),
        (
            "a NUL in a metric's key",
            start.clone(),
            b"time_zone=UTC&col0=time&col1=m%3A%00".to_vec(),
        ),
        (
            "a lone surrogate in a metric's key",
            start.clone(),
            b"time_zone=UTC&col0=time&col1=m%3A%ED%A0%80".to_vec(),
        ),
        (
            "a 1 MB metric key",
            start.clone(),
            format!("time_zone=UTC&col0=time&col1=m%3A{}", "a".repeat(1_000_000)).into_bytes(),
        ),
        (
            "a NUL in a role",
            start.clone(),
            b"time_zone=UTC&col0=%00&col1=value".to_vec(),
        ),
        (
            "raw invalid UTF-8",
            start.clone(),
            b"time_zone=\xED\xA0\x80\xFF".to_vec(),
        ),
        (
            "a 3 MiB body",
            start.clone(),
            format!("time_zone=UTC&padding={}", "a".repeat(3 * MIB)).into_bytes(),
        ),
        (
            "a non-numeric id",
            "/track/import/abc/start".into(),
            b"time_zone=UTC".to_vec(),
        ),
        (
            "an id of 1e308",
            "/track/import/1e308/start".into(),
            b"time_zone=UTC".to_vec(),
        ),
        (
            "a NUL for an id",
            "/track/import/%00/start".into(),
            b"time_zone=UTC".to_vec(),
        ),
    ] {
        let reply = post_form(path.clone(), body, form).await;
        log.check(
            format!("POST {path} with {label}"),
            Expect::NoServerError,
            &reply,
        );
    }

    // Uploads: junk bodies, and a CSV file full of NULs and invalid UTF-8.
    for (label, body, content_type) in [
        ("a text/plain body", b"date,steps\n".to_vec(), "text/plain"),
        (
            "a multipart body that is garbage",
            b"garbage\x00\xff".to_vec(),
            "multipart/form-data; boundary=zzz",
        ),
        (
            "a multipart body without a boundary",
            b"--zzz\r\n".to_vec(),
            "multipart/form-data",
        ),
    ] {
        let reply = post_form("/track/import".into(), body, content_type).await;
        log.check(
            format!("POST /track/import with {label}"),
            Expect::NoServerError,
            &reply,
        );
    }
    let file = b"da\x00te,Weight (kg),No\xED\xA0\x80te\n2026-11-01,\x00,\xff\xfe\n2026-11-02,1e308,\x00\x00\n".to_vec();
    let upload = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("ho\u{0}stile.csv"),
    );
    let reply = send(
        organizer
            .post(format!("{}/track/import", app.address))
            .header("Origin", &app.address)
            .multipart(upload),
    )
    .await;
    log.check(
        "POST /track/import with a CSV of NULs and invalid UTF-8".into(),
        Expect::NoServerError,
        &reply,
    );
    if let Ok(Some(location)) = reply.map(|r| r.location) {
        if location.starts_with("/track/import/") {
            let page = send(organizer.get(format!("{}{location}", app.address))).await;
            log.check(
                format!("GET {location} (the preview of that CSV)"),
                Expect::NoServerError,
                &page,
            );
            let id = location.trim_start_matches("/track/import/");
            let view = call(&app, &organizer, "get_import", &[("id", id)]).await;
            log.check(
                format!("get_import {id} (the preview of that CSV)"),
                Expect::NoServerError,
                &view,
            );
        }
    }
    let health = send(app.client.get(format!("{}/healthz", app.address))).await;
    log.check(
        "GET /healthz after the barrage".into(),
        Expect::Status(200),
        &health,
    );
    log.finish("pages and routes", started);
}
