//! The authorization matrix: every page, route, REST endpoint and server function, asked by
//! each kind of visitor, gives exactly the answer the policy (`app::policy`) and the
//! README's security model promise.
//!
//! Why it is built this way:
//! - Each cell states the exact answer (a status, a redirect and where to, or 200 with a
//!   real result), never "allowed or refused": a 401 where a 403 belongs, a 200 that
//!   carries a form error, or a page that renders an error message as 200 all fail.
//! - The owner of the member-owned rows (the comment's author, the talk's speaker, the
//!   owner of the observation, metric, import and token) is a persona: a positive
//!   control, so a misspelled endpoint that answers 404 to everyone fails its row.
//! - The database is compared before and after each cell: a refusal must change nothing,
//!   a change that is allowed must change something, and reading must change nothing.
//!   Each allowed change runs on its own copy of one prepared database, so that no cell's
//!   change (leaving a group, deleting an account) reaches another; the cells that must
//!   change nothing share one copy and run one after another.
//! - No answer to anyone but the owner may carry the owner's private tracked data.
//! - A second test fails when a page, an axum route or a server function exists without a
//!   row, or when a row names something that does not exist.

use crate::helpers::{server, TestApp, PASSWORD};
use chrono::Utc;
use futures_util::StreamExt;
use sqlx::{Connection, Executor, PgPool};
use std::collections::{BTreeMap, BTreeSet};

/// Who asks. The demo group `qs-north-bay` has the owner and the member as members and the
/// organizer as an organizer; `other-group` has another member and its own organizer; the
/// admin (the first account) belongs to neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persona {
    Anonymous,
    /// A member of the demo group who owns `{comment}`, `{talk}`, `{observation}`,
    /// `{metric}`, `{import}` and `{token}`, and holds a seat at `{event}`.
    Owner,
    /// Another member of the demo group.
    Member,
    /// A member of another group only.
    Another,
    /// The organizer of another group.
    OtherOrganizer,
    /// An organizer of the demo group.
    Organizer,
    Admin,
}
use Persona::*;

const PERSONAS: [Persona; 7] = [
    Anonymous,
    Owner,
    Member,
    Another,
    OtherOrganizer,
    Organizer,
    Admin,
];

/// The answer one persona must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 200 with a real result: no form error in a server function's answer, no error
    /// message in a page. A change must have changed the database; reading must not.
    Ok,
    /// 200, and the database is as it was (logging out when nobody is logged in).
    OkUnchanged,
    /// 200, and the part asked about (`Request::Sees`) is in the answer.
    Shown,
    /// 200, and the part asked about is not in the answer.
    Hidden,
    /// Exactly this status, and nothing changed.
    Status(u16),
    /// 303 to the log-in page, which then comes back to the path asked for; nothing changed.
    LogIn,
    /// 303 to the log-in page, which then goes on to this path; nothing changed.
    LogInThen(&'static str),
    /// 303 to exactly this path (`*` stands for a new id); a change changed the database.
    RedirectTo(&'static str),
}
use Expect::{Hidden, LogIn, Ok, Shown};

/// A part of an answer that only some may see.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// `get_group`: who belongs to the demo group.
    Members,
    /// `get_event`: who is coming to `{event}`.
    Attendees,
    /// `get_event`: the comments on `{event}`.
    Comments,
    /// `get_event`: the owner's talk proposal `{talk}`, not yet accepted.
    Proposal,
    /// `get_event`: the online link of `{event}`.
    OnlineLink,
}

/// What the REST API is sent with.
#[derive(Clone, Copy, Debug)]
enum Credential {
    /// The persona's own read-only token (none for the anonymous visitor).
    ReadToken,
    /// The persona's own token with write access.
    WriteToken,
    /// The persona's session cookie and no token: the API must not take it.
    SessionCookie,
}

type Form = &'static [(&'static str, &'static str)];

#[derive(Clone, Copy, Debug)]
enum Request {
    /// GET a page or a file, as a browser does.
    Get(&'static str),
    /// A server function, posted from this site's origin as the app's forms do.
    Function(&'static str, Form),
    /// A form posted to an axum route from this site's origin.
    PostForm(&'static str, Form),
    /// A small CSV file uploaded to the import route.
    Upload(&'static str),
    /// The REST API: method, path, credential, JSON body.
    Api(&'static str, &'static str, Credential, Option<&'static str>),
    /// A part of `get_event` or `get_group` that only some may see.
    Sees(Part),
    /// A path that nothing answers but the fallback: (method, path).
    Nowhere(&'static str, &'static str),
}

impl Request {
    /// Whether the request asks for a change (so that allowing it must change something).
    fn changes(self) -> bool {
        match self {
            Request::Function(name, _) => {
                !(name.starts_with("get_") || name.starts_with("list_") || name.ends_with("_form"))
            }
            Request::PostForm(..) | Request::Upload(_) => true,
            Request::Api(method, ..) | Request::Nowhere(method, _) => method != "GET",
            Request::Get(_) | Request::Sees(_) => false,
        }
    }

    /// (method, path) as the router sees it, placeholders left in.
    fn route(self) -> (&'static str, String) {
        match self {
            Request::Get(path) => ("GET", path.to_string()),
            Request::Function(name, _) => ("POST", format!("/api/{name}")),
            Request::PostForm(path, _) | Request::Upload(path) => ("POST", path.to_string()),
            Request::Api(method, path, ..) | Request::Nowhere(method, path) => {
                (method, path.to_string())
            }
            Request::Sees(Part::Members) => ("POST", "/api/get_group".into()),
            Request::Sees(_) => ("POST", "/api/get_event".into()),
        }
    }
}

/// A row: what is asked, and the answer of each persona in the order of `PERSONAS`.
type Row = (&'static str, Request, [Expect; 7]);

use answers::*;

/// The answers many rows share, one column per persona in the order of `PERSONAS`.
#[rustfmt::skip]
mod answers {
    use super::Expect::{self, Hidden, LogIn, Ok, Shown};

    pub(super) const UNAUTHORIZED: Expect = Expect::Status(401);
    pub(super) const FORBIDDEN: Expect = Expect::Status(403);
    pub(super) const NOT_FOUND: Expect = Expect::Status(404);
    const U: Expect = UNAUTHORIZED;
    const F: Expect = FORBIDDEN;
    const N: Expect = NOT_FOUND;

    //                                           Anonymous Owner  Member  Another OtherOrg Organizer Admin
    pub(super) const ANYONE: [Expect; 7]              = [Ok,      Ok,    Ok,     Ok,     Ok,      Ok,       Ok];
    pub(super) const ACCOUNT_PAGE: [Expect; 7]        = [LogIn,   Ok,    Ok,     Ok,     Ok,      Ok,       Ok];
    pub(super) const ACCOUNT: [Expect; 7]             = [U,       Ok,    Ok,     Ok,     Ok,      Ok,       Ok];
    pub(super) const GROUP_MEMBERS: [Expect; 7]       = [U,       Ok,    Ok,     F,      F,       Ok,       F];
    pub(super) const GROUP_MEMBERS_ONLY_FOUND: [Expect; 7] = [U,  Ok,    Ok,     N,      N,       Ok,       N];
    pub(super) const GROUP_MEMBERS_ONLY_FOUND_PAGE: [Expect; 7] = [LogIn, Ok, Ok,   N,      N,       Ok,       N];
    pub(super) const GROUP_MEMBERS_AND_ADMINS_PAGE: [Expect; 7] = [LogIn, Ok, Ok,   F,      F,       Ok,       Ok];
    pub(super) const GROUP_MANAGERS: [Expect; 7]      = [U,       F,     F,      F,      F,       Ok,       Ok];
    pub(super) const GROUP_MANAGERS_PAGE: [Expect; 7] = [LogIn,   F,     F,      F,      F,       Ok,       Ok];
    pub(super) const OWNER_ONLY: [Expect; 7]          = [U,       Ok,    N,      N,      N,       N,        N];
    pub(super) const OWNER_ONLY_PAGE: [Expect; 7]     = [LogIn,   Ok,    N,      N,      N,       N,        N];
    pub(super) const ADMIN_ONLY: [Expect; 7]          = [U,       F,     F,      F,      F,       F,        Ok];
    pub(super) const ADMIN_ONLY_PAGE: [Expect; 7]     = [LogIn,   F,     F,      F,      F,       F,        Ok];
    pub(super) const SEEN_IN_THE_GROUP: [Expect; 7]   = [Hidden,  Shown, Shown,  Hidden, Hidden,  Shown,    Shown];
    pub(super) const SEEN_BY_MANAGERS: [Expect; 7]    = [Hidden,  Shown, Hidden, Hidden, Hidden,  Shown,    Shown];
    pub(super) const JOINERS: [Expect; 7]             = [U,       F,     F,      Ok,     Ok,      F,        Ok];
    pub(super) const AUTHOR_ONLY: [Expect; 7]         = [U,       Ok,    F,      F,      F,       F,        F];
    pub(super) const WRITE_SCOPE_NEEDED: [Expect; 7]  = [U,       F,     F,      F,      F,       F,        F];
    pub(super) const NOBODY_FOUND: [Expect; 7]        = [N,       N,     N,      N,      N,       N,        N];
    pub(super) const NEVER_AUTHENTICATED: [Expect; 7] = [U,       U,     U,      U,      U,       U,        U];
}

/// A new meetup of the demo group; `save_event (edit)` sends the same with `event_id`.
const NEW_EVENT: Form = &[
    ("group_slug", "qs-north-bay"),
    ("title", "Extra meetup"),
    ("body_md", ""),
    ("date", "2031-05-06"),
    ("start_time", "18:30"),
    ("end_time", "20:30"),
    ("time_zone", "America/Los_Angeles"),
    ("venue", ""),
    ("address", ""),
    ("online_url", ""),
    ("capacity", "20"),
    ("max_guests", "0"),
    ("rsvp_opens", ""),
    ("rsvp_closes", ""),
    ("offer_window_hours", "24"),
];
const EDITED_EVENT: Form = &[
    ("group_slug", "qs-north-bay"),
    ("event_id", "{event}"),
    ("title", "Renamed meetup"),
    ("body_md", "New plans"),
    ("date", "2031-05-06"),
    ("start_time", "18:30"),
    ("end_time", "20:30"),
    ("time_zone", "America/Los_Angeles"),
    ("venue", "The library"),
    ("address", ""),
    ("online_url", ""),
    ("capacity", "20"),
    ("max_guests", "0"),
    ("rsvp_opens", ""),
    ("rsvp_closes", ""),
    ("offer_window_hours", "24"),
];
const NEW_GROUP: Form = &[
    ("name", "Quantified Self Oakland"),
    ("slug", "qs-oakland"),
    ("city", "Oakland"),
    ("time_zone", "America/Los_Angeles"),
];
const NEW_PASSWORD: Form = &[
    ("current_password", PASSWORD),
    ("new_password", "another long passphrase"),
];
const NEW_ACCOUNT: Form = &[
    ("email", "new@example.org"),
    ("display_name", "New"),
    ("password", PASSWORD),
];
const NEW_METRIC: Form = &[
    ("name", "Cold showers"),
    ("kind", "yes_no"),
    ("aggregate", "sum"),
];
const DEMO_GROUP: Form = &[("slug", "qs-north-bay")];
const ONE_OBSERVATION: &str =
    r#"{"observations": [{"metric": "mood", "value": 6, "idempotency_key": "matrix"}]}"#;
/// The import's columns: a date and mood.
const IMPORT_MAPPING: Form = &[("col0", "time"), ("col1", "m:mood"), ("time_zone", "UTC")];

/// `{event}` is an upcoming meetup of the demo group; `{comment}` and `{talk}` are the
/// owner's comment and talk proposal on it; `{user}` is the owner; `{observation}`,
/// `{metric}`, `{import}` and `{token}` are the owner's; `{failed_job}` and
/// `{pending_job}` are jobs for the admin to retry and cancel.
#[rustfmt::skip]
const MATRIX: &[Row] = &[
    // Meetups: public pages, members take part, organizers (and admins) manage.
    ("event page", Request::Get("/events/{event}"), ANYONE),
    ("event .ics", Request::Get("/events/{event}/event.ics"), ANYONE),
    ("group calendar", Request::Get("/groups/qs-north-bay/calendar.ics"), ANYONE),
    ("group Atom feed", Request::Get("/groups/qs-north-bay/events.atom"), ANYONE),
    ("get_event", Request::Function("get_event", &[("id", "{event}")]), ANYONE),
    ("who is coming", Request::Sees(Part::Attendees), SEEN_IN_THE_GROUP),
    ("the comments", Request::Sees(Part::Comments), SEEN_IN_THE_GROUP),
    ("a talk proposal", Request::Sees(Part::Proposal), SEEN_BY_MANAGERS),
    // The owner holds a seat; the member has not answered.
    ("the online link", Request::Sees(Part::OnlineLink), SEEN_BY_MANAGERS),
    ("rsvp", Request::Function("rsvp", &[("event_id", "{event}"), ("answer", "maybe")]), GROUP_MEMBERS),
    ("post_comment", Request::Function("post_comment", &[("event_id", "{event}"), ("body", "Hello")]), GROUP_MEMBERS),
    ("propose_talk", Request::Function("propose_talk",
        &[("event_id", "{event}"), ("title", "My sleep"), ("abstract_text", ""), ("minutes", "5")]), GROUP_MEMBERS),
    ("new event page", Request::Get("/groups/qs-north-bay/events/new"), GROUP_MANAGERS_PAGE),
    ("edit event page", Request::Get("/events/{event}/edit"), GROUP_MANAGERS_PAGE),
    ("organizer view", Request::Get("/events/{event}/manage"), GROUP_MANAGERS_PAGE),
    ("attendee CSV", Request::Get("/events/{event}/attendees.csv"), GROUP_MANAGERS_PAGE),
    ("new_event_form", Request::Function("new_event_form", DEMO_GROUP), GROUP_MANAGERS),
    ("edit_event_form", Request::Function("edit_event_form", &[("id", "{event}")]), GROUP_MANAGERS),
    ("save_event (new)", Request::Function("save_event", NEW_EVENT), GROUP_MANAGERS),
    ("save_event (edit)", Request::Function("save_event", EDITED_EVENT), GROUP_MANAGERS),
    ("cancel_event", Request::Function("cancel_event", &[("event_id", "{event}"), ("reason", "Ill")]), GROUP_MANAGERS),
    ("get_manage", Request::Function("get_manage", &[("event_id", "{event}")]), GROUP_MANAGERS),
    ("check_in", Request::Function("check_in",
        &[("event_id", "{event}"), ("user_id", "{user}"), ("present", "true")]), GROUP_MANAGERS),
    ("decide_talk", Request::Function("decide_talk", &[("talk_id", "{talk}"), ("decision", "accept")]), GROUP_MANAGERS),
    ("moderate_comment (hide)", Request::Function("moderate_comment",
        &[("comment_id", "{comment}"), ("action", "hide")]), GROUP_MANAGERS),
    // Organizers hide comments; only the author deletes one.
    ("moderate_comment (delete)", Request::Function("moderate_comment",
        &[("comment_id", "{comment}"), ("action", "delete")]), AUTHOR_ONLY),

    // Groups: public pages; members see who belongs; admins open groups.
    ("home page", Request::Get("/"), ANYONE),
    ("get_home", Request::Function("get_home", &[]), ANYONE),
    ("groups page", Request::Get("/groups"), ANYONE),
    ("group page", Request::Get("/groups/qs-north-bay"), ANYONE),
    ("list_groups", Request::Function("list_groups", &[]), ANYONE),
    ("get_group", Request::Function("get_group", DEMO_GROUP), ANYONE),
    ("who belongs", Request::Sees(Part::Members), SEEN_IN_THE_GROUP),
    ("join_group", Request::Function("join_group", DEMO_GROUP), JOINERS),
    ("leave_group", Request::Function("leave_group", DEMO_GROUP), GROUP_MEMBERS),
    ("promote_member", Request::Function("promote_member",
        &[("slug", "qs-north-bay"), ("user_id", "{user}")]), GROUP_MANAGERS),
    ("create_group", Request::Function("create_group", NEW_GROUP), ADMIN_ONLY),
    // A past meetup's report: the group's members (and admins).
    ("meetup report", Request::Get("/events/{past_event}/report"), GROUP_MEMBERS_AND_ADMINS_PAGE),
    ("meetup report download", Request::Get("/events/{past_event}/report.html"), GROUP_MEMBERS_AND_ADMINS_PAGE),
    // The group's insights: its members only.
    ("group insights page", Request::Get("/groups/qs-north-bay/insights"), GROUP_MEMBERS_ONLY_FOUND_PAGE),
    ("get_group_insights", Request::Function("get_group_insights", DEMO_GROUP), GROUP_MEMBERS_ONLY_FOUND),

    // Accounts. A GET never logs anyone out: /logout shows a button that posts.
    ("login page", Request::Get("/login"), ANYONE),
    ("signup page", Request::Get("/signup"), ANYONE),
    ("logout page", Request::Get("/logout"), ANYONE),
    ("profile page", Request::Get("/me"), ACCOUNT_PAGE),
    ("data export", Request::Get("/me/export"), ACCOUNT_PAGE),
    ("get_current_user", Request::Function("get_current_user", &[]), ANYONE),
    ("update_profile", Request::Function("update_profile", &[("display_name", "New"), ("time_zone", "UTC")]), ACCOUNT),
    ("change_password", Request::Function("change_password", NEW_PASSWORD), ACCOUNT),
    ("logout_everywhere", Request::Function("logout_everywhere", &[]), ACCOUNT),
    ("delete_account", Request::Function("delete_account", &[("password", PASSWORD)]), ACCOUNT),
    ("logout", Request::Function("logout", &[]), [Expect::OkUnchanged, Ok, Ok, Ok, Ok, Ok, Ok]),
    ("login", Request::Function("login", &[("email", "member@example.org"), ("password", PASSWORD)]), ANYONE),
    ("signup", Request::Function("signup", NEW_ACCOUNT), ANYONE),

    // The instance's health and aggregate counts, for monitors and scrapers.
    ("health check", Request::Get("/healthz"), ANYONE),
    ("Prometheus metrics", Request::Get("/metrics"), ANYONE),

    // Capture: each member's own data; another's is "not found".
    ("track page", Request::Get("/track"), ACCOUNT_PAGE),
    ("a built-in metric's page", Request::Get("/track/mood"), ACCOUNT_PAGE),
    ("the owner's metric's page", Request::Get("/track/{metric}"), OWNER_ONLY_PAGE),
    ("observations CSV", Request::Get("/track/export.csv"), ACCOUNT_PAGE),
    ("observations JSON", Request::Get("/track/export.json"), ACCOUNT_PAGE),
    ("get_track", Request::Function("get_track", &[]), ACCOUNT),
    // Display: each member's own insights.
    ("dashboard page", Request::Get("/dashboard"), ACCOUNT_PAGE),
    ("insights page", Request::Get("/insights"), ACCOUNT_PAGE),
    ("get_dashboard", Request::Function("get_dashboard", &[]), ACCOUNT),
    // A search of one's own notes finds only one's own ("slept" is in the owner's note).
    ("get_dashboard (a note search)", Request::Function("get_dashboard", &[("notes", "slept")]), ACCOUNT),
    ("get_pairs", Request::Function("get_pairs", &[("metric", "mood"), ("shown", "1")]), ACCOUNT),
    ("a pair's page", Request::Get("/insights/steps/mood/0"), OWNER_ONLY_PAGE),
    ("get_pair", Request::Function("get_pair", &[("a", "steps"), ("b", "mood"), ("lag", "0")]), OWNER_ONLY),
    ("log_entry", Request::Function("log_entry", &[("metric", "mood"), ("value", "6"), ("key", "matrix")]), ACCOUNT),
    ("get_metric_page (built-in)", Request::Function("get_metric_page", &[("key", "mood")]), ACCOUNT),
    ("get_metric_page (the owner's)", Request::Function("get_metric_page", &[("key", "{metric}")]), OWNER_ONLY),
    ("save_metric_settings (built-in)", Request::Function("save_metric_settings",
        &[("key", "weight"), ("display_unit", "lb"), ("goal", "150")]), ACCOUNT),
    ("save_metric_settings (the owner's)", Request::Function("save_metric_settings",
        &[("key", "{metric}"), ("display_unit", ""), ("goal", ""), ("pinned", "true")]), OWNER_ONLY),
    ("pin_metric (built-in)", Request::Function("pin_metric", &[("key", "alcohol"), ("pinned", "true")]), ACCOUNT),
    ("pin_metric (the owner's)", Request::Function("pin_metric", &[("key", "{metric}"), ("pinned", "true")]), OWNER_ONLY),
    ("create_metric", Request::Function("create_metric", NEW_METRIC), ACCOUNT),
    ("share_metric (built-in)", Request::Function("share_metric",
        &[("key", "mood"), ("group_slug", "qs-north-bay"), ("level", "aggregate")]), GROUP_MEMBERS),
    ("share_metric (the owner's)", Request::Function("share_metric",
        &[("key", "{metric}"), ("group_slug", "qs-north-bay"), ("level", "aggregate")]), OWNER_ONLY),
    ("save_entry", Request::Function("save_entry", &[("id", "{observation}"), ("value", "3"), ("at", "")]), OWNER_ONLY),
    ("delete_entry", Request::Function("delete_entry", &[("id", "{observation}")]), OWNER_ONLY),
    ("exclude_entry", Request::Function("exclude_entry", &[("id", "{observation}"), ("excluded", "true")]), OWNER_ONLY),
    ("annotate_day", Request::Function("annotate_day", &[("day", "{today}"), ("note", "Flight")]), ACCOUNT),
    // Show & tell: only a talk's speaker attaches an insight to it or withdraws it.
    ("attach_insight", Request::Function("attach_insight",
        &[("talk_id", "{talk}"), ("subject", "correlation:steps:mood:0")]), OWNER_ONLY),
    ("withdraw_insight", Request::Function("withdraw_insight", &[("talk_id", "{talk}")]), OWNER_ONLY),
    ("record_insight_event", Request::Function("record_insight_event",
        &[("insight_id", "{insight}"), ("kind", "useful")]), OWNER_ONLY),
    ("record_impressions", Request::Function("record_impressions", &[("ids", "{insight}")]), OWNER_ONLY),

    // Imports: each member's own.
    ("import page", Request::Get("/track/import"), ACCOUNT_PAGE),
    ("list_imports", Request::Function("list_imports", &[]), ACCOUNT),
    ("get_import", Request::Function("get_import", &[("id", "{import}")]), OWNER_ONLY),
    ("import status page", Request::Get("/track/import/{import}"), OWNER_ONLY_PAGE),
    ("upload a file to import", Request::Upload("/track/import"), [LogIn,
        Expect::RedirectTo("/track/import/*"), Expect::RedirectTo("/track/import/*"),
        Expect::RedirectTo("/track/import/*"), Expect::RedirectTo("/track/import/*"),
        Expect::RedirectTo("/track/import/*"), Expect::RedirectTo("/track/import/*")]),
    ("start an import", Request::PostForm("/track/import/{import}/start", IMPORT_MAPPING), [
        Expect::LogInThen("/track/import"), Expect::RedirectTo("/track/import/{import}"),
        NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND]),

    // API tokens: each member's own.
    ("tokens page", Request::Get("/me/tokens"), ACCOUNT_PAGE),
    ("list_tokens", Request::Function("list_tokens", &[]), ACCOUNT),
    ("create_token", Request::Function("create_token", &[("name", "Sync"), ("scope", "read")]), ACCOUNT),
    ("revoke_token", Request::Function("revoke_token", &[("id", "{token}")]), OWNER_ONLY),

    // The REST API: each persona with its own token; a session is no credential there.
    ("API: read observations",
        Request::Api("GET", "/api/v1/observations", Credential::ReadToken, None), ACCOUNT),
    ("API: send observations",
        Request::Api("POST", "/api/v1/observations", Credential::WriteToken, Some(ONE_OBSERVATION)), ACCOUNT),
    ("API: send observations with a read-only token",
        Request::Api("POST", "/api/v1/observations", Credential::ReadToken, Some(ONE_OBSERVATION)), WRITE_SCOPE_NEEDED),
    ("API: metrics", Request::Api("GET", "/api/v1/metrics", Credential::ReadToken, None), ACCOUNT),
    ("API: events", Request::Api("GET", "/api/v1/events", Credential::ReadToken, None), ACCOUNT),
    ("API: daily values (their own)",
        Request::Api("GET", "/api/v1/daily?metric=mood", Credential::ReadToken, None), ACCOUNT),
    ("API: trends (their own)",
        Request::Api("GET", "/api/v1/trends?metric=mood", Credential::ReadToken, None), ACCOUNT),
    ("API: correlations (their own)",
        Request::Api("GET", "/api/v1/correlations", Credential::ReadToken, None), ACCOUNT),
    ("API: insights (their own)",
        Request::Api("GET", "/api/v1/insights", Credential::ReadToken, None), ACCOUNT),
    ("API: the group's figures",
        Request::Api("GET", "/api/v1/groups/qs-north-bay/figures?metric=sleep", Credential::ReadToken, None),
        GROUP_MEMBERS_ONLY_FOUND),
    ("API: an unknown endpoint",
        Request::Api("GET", "/api/v1/nothing-here", Credential::ReadToken, None), NOBODY_FOUND),
    ("API: metrics with a session",
        Request::Api("GET", "/api/v1/metrics", Credential::SessionCookie, None), NEVER_AUTHENTICATED),
    ("API: send observations with a session",
        Request::Api("POST", "/api/v1/observations", Credential::SessionCookie, Some(ONE_OBSERVATION)), NEVER_AUTHENTICATED),
    ("OpenAPI document", Request::Get("/api/v1/openapi.json"), ANYONE),

    // The instance's machinery: admins only.
    ("outbox page", Request::Get("/admin/outbox"), ADMIN_ONLY_PAGE),
    ("get_outbox", Request::Function("get_outbox", &[]), ADMIN_ONLY),
    ("jobs page", Request::Get("/admin/jobs"), ADMIN_ONLY_PAGE),
    ("get_jobs_overview", Request::Function("get_jobs_overview", &[]), ADMIN_ONLY),
    ("pipeline page", Request::Get("/admin/pipeline"), ADMIN_ONLY_PAGE),
    ("get_pipeline_overview", Request::Function("get_pipeline_overview", &[]), ADMIN_ONLY),
    ("retry_job", Request::Function("retry_job", &[("id", "{failed_job}")]), ADMIN_ONLY),
    ("cancel_job", Request::Function("cancel_job", &[("id", "{pending_job}")]), ADMIN_ONLY),

    // Nothing there.
    ("an unknown page", Request::Nowhere("GET", "/no/such/page"), NOBODY_FOUND),
    ("an unknown server function", Request::Nowhere("POST", "/api/no_such_function"), NOBODY_FOUND),
];

/// In every piece of the owner's private tracked data (an observation's note, a metric's
/// name, an import's file name, a token's name): no one else's answer may contain it.
const PRIVATE: &str = "xyzzy";

/// Who a persona is to the server: its session cookie and API tokens.
#[derive(Clone, Default)]
struct Credentials {
    cookie: Option<String>,
    read_token: Option<String>,
    write_token: Option<String>,
}

/// The prepared database every cell starts from.
struct Template {
    database: String,
    credentials: Vec<Credentials>,
    ids: Vec<(&'static str, String)>,
    /// One query that fingerprints every table.
    snapshot: String,
}

impl Template {
    fn fill(&self, text: &str) -> String {
        self.ids
            .iter()
            .fold(text.to_string(), |text, (key, id)| text.replace(key, id))
    }
}

/// Signs up with a cookie-less client; returns the session cookie.
async fn sign_up(app: &TestApp, email: &str, name: &str) -> String {
    let response = app
        .call(
            &reqwest::Client::new(),
            "signup",
            &[
                ("email", email),
                ("display_name", name),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "signing up {email}");
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("cohort_session="))
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_string();
    let body: serde_json::Value = response.json().await.expect("a JSON answer");
    assert_eq!(
        body["fields"],
        serde_json::json!([]),
        "signing up {email}: {body}"
    );
    cookie
}

/// Makes an API token for the member with this session; returns (id, secret).
async fn make_token(app: &TestApp, cookie: &str, name: &str, scope: &str) -> (i64, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/create_token", app.address))
        .header("Origin", &app.address)
        .header("Accept", "application/json")
        .header("Cookie", cookie)
        .form(&[("name", name), ("scope", scope)])
        .send()
        .await
        .expect("making a token");
    assert_eq!(response.status(), 200, "making a token");
    let body: serde_json::Value = response.json().await.expect("a JSON answer");
    (
        body["id"].as_i64().expect("a token id"),
        body["secret"].as_str().expect("a secret").to_string(),
    )
}

async fn scalar(pool: &PgPool, sql: &str, owner: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(owner)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// The demo group and its meetups, the personas, the owner's rows, two jobs; then the
/// server stops and the database is left to be copied.
async fn template() -> Template {
    let app = TestApp::spawn().await;
    let pool = app.pool.clone();
    cohort::seed::seed_demo(&pool, Utc::now()).await.unwrap();
    // The first account administers the instance.
    let mut cookies = BTreeMap::new();
    for (persona, email, name) in [
        (Admin, "admin@example.org", "Admin"),
        (Owner, "owner@example.org", "Owner"),
        (Member, "member@example.org", "Member"),
        (Another, "another@example.org", "Another"),
        (OtherOrganizer, "otherorg@example.org", "Other organizer"),
        (Organizer, "organizer@example.org", "Organizer"),
    ] {
        cookies.insert(persona as usize, sign_up(&app, email, name).await);
    }
    sqlx::raw_sql(
        "INSERT INTO groups (slug, name, city, time_zone) VALUES ('other-group', 'Other Group', 'Elsewhere', 'UTC');
         INSERT INTO memberships (group_id, user_id, role)
         SELECT g.id, u.id, r.role::membership_role FROM groups g, users u,
                (VALUES ('owner@example.org', 'qs-north-bay', 'member'),
                        ('member@example.org', 'qs-north-bay', 'member'),
                        ('organizer@example.org', 'qs-north-bay', 'organizer'),
                        ('another@example.org', 'other-group', 'member'),
                        ('otherorg@example.org', 'other-group', 'organizer')) AS r(email, slug, role)
          WHERE u.email = r.email AND g.slug = r.slug;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let owner: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'owner@example.org'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let past_event: i64 =
        sqlx::query_scalar("SELECT id FROM events WHERE source_key = 'qsnb-meetup-v1.3'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let event: i64 = sqlx::query_scalar(
        "SELECT e.id FROM events e JOIN groups g ON g.id = e.group_id
          WHERE g.slug = 'qs-north-bay' AND e.starts_at > now() AND e.status = 'scheduled'
          ORDER BY e.starts_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE events SET online_url = 'https://meet.example.org/room' WHERE id = $1")
        .bind(event)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO rsvps (event_id, user_id, answer, seat, arrival)
         VALUES ($1, $2, 'yes', 'going', nextval('rsvp_arrival'))",
    )
    .bind(event)
    .bind(owner)
    .execute(&pool)
    .await
    .unwrap();
    let with_event = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(event)
                .bind(owner)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|error| panic!("{sql}: {error}"))
        }
    };
    let comment = with_event(
        "INSERT INTO event_comments (event_id, user_id, body) VALUES ($1, $2, 'See you there') RETURNING id",
    )
    .await;
    let talk = with_event(
        "INSERT INTO talks (event_id, user_id, title, minutes) VALUES ($1, $2, 'My step count', 5) RETURNING id",
    )
    .await;
    // A frozen insight on the owner's talk, for withdraw_insight to delete (shown to the
    // group on purpose: no private marker in it).
    sqlx::query(
        "INSERT INTO talk_insights (talk_id, user_id, subject, frozen, computed_at, inputs_hash)
         VALUES ($1, $2, 'correlation:steps:mood:0',
                 '{\"title\": \"Steps and mood\", \"sentence\": \"Frozen\", \"numbers\": [], \"chart\": null, \"days\": \"\"}',
                 now(), 'abc')",
    )
    .bind(talk)
    .bind(owner)
    .execute(&pool)
    .await
    .unwrap();
    let observation = scalar(
        &pool,
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source, note)
         SELECT $1, id, now() - interval '1 hour', 7, 'quick_log', 'xyzzy: slept badly'
           FROM metrics WHERE key = 'mood' AND owner_id IS NULL
         RETURNING id",
        owner,
    )
    .await;
    scalar(
        &pool,
        "INSERT INTO metrics (owner_id, key, name, kind, unit, display_unit, aggregate, min_value, max_value)
         VALUES ($1, 'owned-metric', 'Xyzzy baths', 'yes_no', 'yes/no', 'yes/no', 'sum', 0, 1) RETURNING id",
        owner,
    )
    .await;
    scalar(
        &pool,
        "INSERT INTO pair_tests (user_id, a, b, lag_days, n, pearson_r, pearson_p, spearman_r,
                                 spearman_p, n_eff, p_adj, q, shown)
         VALUES ($1, 'steps', 'mood', 0, 20, 0.6, 0.01, 0.5, 0.02, 18, 0.01, 0.02, true)
         RETURNING n::bigint",
        owner,
    )
    .await;
    // A note on the day of the owner's observation: on the owner's charts, nobody else's.
    scalar(
        &pool,
        "INSERT INTO day_notes (user_id, day, note)
         VALUES ($1, (now() - interval '1 hour')::date, 'xyzzy: flight home') RETURNING user_id",
        owner,
    )
    .await;
    let insight = scalar(
        &pool,
        "INSERT INTO insights (user_id, kind, subject, metrics, lag_days, numbers, sentence)
         VALUES ($1, 'correlation', 'correlation:steps:mood:0', '{steps,mood}', 0, '{}',
                 'On days with more steps, your mood is higher: xyzzy') RETURNING id",
        owner,
    )
    .await;
    let import = scalar(
        &pool,
        "INSERT INTO imports (user_id, kind, filename, size_bytes, sha256, headers)
         VALUES ($1, 'csv', 'xyzzy-sleep.csv', 0, '', '[\"date\", \"mood\"]') RETURNING id",
        owner,
    )
    .await;
    let failed_job: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, state, last_error) VALUES ('test_failed', 'failed', 'boom') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let pending_job: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, state) VALUES ('test_pending', 'pending') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut credentials = vec![Credentials::default(); PERSONAS.len()];
    let mut token = 0;
    for (index, cookie) in cookies {
        // Only the owner's token names carry the private marker.
        let name = match PERSONAS[index] {
            Owner => "Xyzzy sync",
            _ => "Sync",
        };
        let (read_id, read) = make_token(&app, &cookie, name, "read").await;
        let (_, write) = make_token(&app, &cookie, name, "write").await;
        if PERSONAS[index] == Owner {
            token = read_id;
        }
        credentials[index] = Credentials {
            cookie: Some(cookie),
            read_token: Some(read),
            write_token: Some(write),
        };
    }
    let snapshot = snapshot_query(&pool).await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    drop(app);
    pool.close().await;
    Template {
        database,
        credentials,
        snapshot,
        ids: vec![
            ("{event}", event.to_string()),
            ("{comment}", comment.to_string()),
            ("{talk}", talk.to_string()),
            ("{user}", owner.to_string()),
            ("{observation}", observation.to_string()),
            ("{insight}", insight.to_string()),
            ("{metric}", "owned-metric".to_string()),
            ("{import}", import.to_string()),
            ("{token}", token.to_string()),
            ("{failed_job}", failed_job.to_string()),
            ("{pending_job}", pending_job.to_string()),
            ("{today}", chrono::Utc::now().date_naive().to_string()),
            ("{past_event}", past_event.to_string()),
        ],
    }
}

/// A query giving a fingerprint of every table, to tell whether a request changed
/// anything. Bookkeeping is left out: a token's last use and its rate window (counted
/// for every authenticated API call), and a session's data and expiry (extended on every
/// visit); sessions still count as changed when one begins or ends.
async fn snapshot_query(pool: &PgPool) -> String {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables
          WHERE table_schema IN ('public', 'tower_sessions') AND table_type = 'BASE TABLE'
            AND table_name NOT IN ('_sqlx_migrations', 'api_rate_windows')
          ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|(_, table)| table == "session") && tables.len() > 10,
        "the snapshot misses tables: {tables:?}"
    );
    tables
        .iter()
        .map(|(schema, table)| {
            let ignored = match table.as_str() {
                "api_tokens" => "{last_used_at}",
                "session" => "{data,expiry_date}",
                _ => "{}",
            };
            format!(
                "SELECT '{schema}.{table}' AS name, md5(coalesce(string_agg(x, '|' ORDER BY x), '')) AS hash
                   FROM (SELECT (to_jsonb(t) - '{ignored}'::text[])::text AS x FROM \"{schema}\".\"{table}\" t) s"
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

async fn snapshot(pool: &PgPool, query: &str) -> BTreeMap<String, String> {
    sqlx::query_as::<_, (String, String)>(query)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// A copy of the template database, served.
struct Cell {
    app: TestApp,
    database: String,
}

async fn copy_of(template: &Template, n: usize) -> Cell {
    let database = format!("{}_cell_{n}", template.database);
    let mut admin = sqlx::PgConnection::connect_with(&server().await)
        .await
        .unwrap();
    admin
        .execute(
            format!(
                "CREATE DATABASE {database} TEMPLATE {} STRATEGY FILE_COPY",
                template.database
            )
            .as_str(),
        )
        .await
        .unwrap_or_else(|error| panic!("copying the template database: {error}"));
    admin.close().await.ok();
    let pool = cohort::db::pool_options(5)
        .connect_with(server().await.database(&database))
        .await
        .unwrap();
    Cell {
        app: TestApp::spawn_on(pool).await,
        database,
    }
}

async fn throw_away(cell: Cell) {
    let pool = cell.app.pool.clone();
    drop(cell.app);
    pool.close().await;
    let mut admin = sqlx::PgConnection::connect_with(&server().await)
        .await
        .unwrap();
    admin
        .execute(format!("DROP DATABASE {} WITH (FORCE)", cell.database).as_str())
        .await
        .ok();
    admin.close().await.ok();
}

/// What came back.
struct Answer {
    status: u16,
    location: String,
    body: String,
}

/// Percent-encodes as `encodeURIComponent` (and the `urlencoding` crate) do.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

async fn send(template: &Template, app: &TestApp, persona: Persona, request: Request) -> Answer {
    let credentials = &template.credentials[persona as usize];
    let client = TestApp::new_client();
    let url = |path: &str| format!("{}{}", app.address, template.fill(path));
    let fill_form = |form: Form| -> Vec<(String, String)> {
        form.iter()
            .map(|(key, value)| (key.to_string(), template.fill(value)))
            .collect()
    };
    let with_cookie = |builder: reqwest::RequestBuilder| match &credentials.cookie {
        Some(cookie) => builder.header("Cookie", cookie),
        None => builder,
    };
    let function = |name: &str, form: Vec<(String, String)>| {
        with_cookie(
            client
                .post(format!("{}/api/{name}", app.address))
                .header("Origin", &app.address)
                .header("Accept", "application/json")
                .form(&form),
        )
    };
    let builder = match request {
        Request::Get(path) => with_cookie(client.get(url(path))),
        Request::Function(name, form) => function(name, fill_form(form)),
        Request::Sees(Part::Members) => {
            function("get_group", vec![("slug".into(), "qs-north-bay".into())])
        }
        Request::Sees(_) => function("get_event", vec![("id".into(), template.fill("{event}"))]),
        Request::PostForm(path, form) => with_cookie(
            client
                .post(url(path))
                .header("Origin", &app.address)
                .form(&fill_form(form)),
        ),
        Request::Upload(path) => with_cookie(
            client
                .post(url(path))
                .header("Origin", &app.address)
                .multipart(
                    reqwest::multipart::Form::new().part(
                        "file",
                        reqwest::multipart::Part::bytes(b"date,mood\n2026-11-20,6\n".to_vec())
                            .file_name("mood.csv"),
                    ),
                ),
        ),
        Request::Api(method, path, credential, body) => {
            let mut builder = if method == "POST" {
                client.post(url(path))
            } else {
                client.get(url(path))
            };
            let token = match credential {
                Credential::ReadToken => credentials.read_token.as_ref(),
                Credential::WriteToken => credentials.write_token.as_ref(),
                Credential::SessionCookie => {
                    builder = with_cookie(builder);
                    None
                }
            };
            if let Some(token) = token {
                builder = builder.bearer_auth(token);
            }
            if let Some(body) = body {
                builder = builder
                    .header("Content-Type", "application/json")
                    .body(body);
            }
            builder
        }
        Request::Nowhere("GET", path) => with_cookie(client.get(url(path))),
        Request::Nowhere(_, path) => with_cookie(
            client
                .post(url(path))
                .header("Origin", &app.address)
                .header("Accept", "application/json"),
        ),
    };
    let response = builder.send().await.expect("sending a request");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|location| location.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.text().await.unwrap_or_default();
    Answer {
        status,
        location,
        body,
    }
}

/// Whether `part` is in a `get_event` or `get_group` answer.
fn shows(template: &Template, part: Part, body: &serde_json::Value) -> bool {
    match part {
        Part::Members => !body["members"].is_null(),
        Part::Attendees => !body["attendees"].is_null(),
        Part::Comments => !body["comments"].is_null(),
        Part::OnlineLink => body["online_url"].is_string(),
        Part::Proposal => body["talks"].as_array().is_some_and(|talks| {
            talks.iter().any(|talk| {
                talk["id"].as_i64().map(|id| id.to_string()) == Some(template.fill("{talk}"))
            })
        }),
    }
}

/// Why a 200 is not a real result, if it is not.
fn error_in(body: &str) -> Option<String> {
    if let Result::Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let form_error = json
            .get("fields")
            .is_some_and(|fields| fields.as_array().is_none_or(|fields| !fields.is_empty()))
            || json.get("form").is_some_and(|form| !form.is_null());
        if form_error {
            return Some("a form error".into());
        }
        if let Some(results) = json.get("results").and_then(|results| results.as_array()) {
            if results.iter().any(|result| result["status"] != "accepted") {
                return Some("an item not accepted".into());
            }
        }
        return None;
    }
    // An element with role="alert" and class="error", its attributes in either order.
    let alert = body.match_indices(r#"role="alert""#).any(|(at, _)| {
        let start = body[..at].rfind('<').unwrap_or(0);
        let end = body[at..].find('>').map_or(body.len(), |end| at + end);
        body[start..end].contains(r#"class="error""#)
    });
    alert.then(|| "an error message in the page".into())
}

/// Whether a redirect target matches what is expected (`*` stands for an id).
fn same_target(expected: &str, actual: &str) -> bool {
    match expected.split_once('*') {
        Some((before, after)) => actual
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        None => expected == actual,
    }
}

/// Checks one answer; the database's changed tables are `changed`.
fn judge(
    template: &Template,
    request: Request,
    expect: Expect,
    answer: &Answer,
    changed: &[String],
) -> Result<(), String> {
    let (_, path) = request.route();
    let path = template.fill(&path);
    let unchanged = || {
        if changed.is_empty() {
            Result::Ok(())
        } else {
            Err(format!("changed {changed:?}"))
        }
    };
    let real_change = || match (request.changes(), changed.is_empty()) {
        (true, true) => Err("changed nothing".to_string()),
        (false, false) => Err(format!("a read changed {changed:?}")),
        _ => Result::Ok(()),
    };
    let status = |code: u16| {
        if answer.status == code {
            Result::Ok(())
        } else {
            Err(format!("answered {}", answer.status))
        }
    };
    let redirect = |target: &str| {
        status(303)?;
        if same_target(target, &answer.location) {
            Result::Ok(())
        } else {
            Err(format!("went to {}", answer.location))
        }
    };
    let real = || match error_in(&answer.body) {
        Some(error) => Err(format!("answered 200 with {error}")),
        None => Result::Ok(()),
    };
    match expect {
        Ok => {
            status(200)?;
            real()?;
            real_change()
        }
        Expect::OkUnchanged => {
            status(200)?;
            real()?;
            unchanged()
        }
        Shown | Hidden => {
            status(200)?;
            let Request::Sees(part) = request else {
                return Err("Shown and Hidden are for Sees rows".into());
            };
            let body: serde_json::Value =
                serde_json::from_str(&answer.body).map_err(|_| "not JSON".to_string())?;
            if shows(template, part, &body) != (expect == Shown) {
                return Err(if expect == Shown {
                    "hid it"
                } else {
                    "showed it"
                }
                .into());
            }
            unchanged()
        }
        Expect::Status(code) => {
            status(code)?;
            unchanged()
        }
        LogIn => {
            redirect(&format!("/login?next={}", encode(&path)))?;
            unchanged()
        }
        Expect::LogInThen(next) => {
            redirect(&format!("/login?next={}", encode(next)))?;
            unchanged()
        }
        Expect::RedirectTo(target) => {
            redirect(&template.fill(target))?;
            real_change()
        }
    }
}

fn describe(expect: Expect) -> String {
    match expect {
        Ok => "200 with a result".into(),
        Expect::OkUnchanged => "200 changing nothing".into(),
        Shown => "200 showing it".into(),
        Hidden => "200 hiding it".into(),
        Expect::Status(code) => code.to_string(),
        LogIn => "303 to log in".into(),
        Expect::LogInThen(next) => format!("303 to log in, then {next}"),
        Expect::RedirectTo(target) => format!("303 to {target}"),
    }
}

/// Whether a cell needs a copy of the database of its own: a change that is allowed.
/// Every other cell must change nothing (and is checked for that), so they share one
/// copy and run one after another: the first that changes something is the one named.
fn on_its_own_copy(request: Request, expect: Expect) -> bool {
    request.changes() && matches!(expect, Ok | Expect::RedirectTo(_))
}

/// Asks one cell on its copy, or on the one the others share. Returns what went wrong,
/// and the row's name when the owner was shown their private data.
async fn ask(
    template: &Template,
    shared: &Cell,
    n: usize,
    (name, request, expected): Row,
    persona: usize,
) -> (Option<String>, Option<&'static str>) {
    let own = match on_its_own_copy(request, expected[persona]) {
        true => Some(copy_of(template, n).await),
        false => None,
    };
    let cell = own.as_ref().unwrap_or(shared);
    let before = snapshot(&cell.app.pool, &template.snapshot).await;
    let answer = send(template, &cell.app, PERSONAS[persona], request).await;
    let after = snapshot(&cell.app.pool, &template.snapshot).await;
    if let Some(own) = own {
        throw_away(own).await;
    }
    let changed: Vec<String> = after
        .iter()
        .filter(|(table, hash)| before.get(*table) != Some(*hash))
        .map(|(table, _)| table.clone())
        .collect();
    let expect = expected[persona];
    let mut problems = Vec::new();
    if let Err(problem) = judge(template, request, expect, &answer, &changed) {
        problems.push(problem);
    }
    let private = answer.body.to_lowercase().contains(PRIVATE);
    if PERSONAS[persona] != Owner && private {
        problems.push("showed the owner's private data".into());
    }
    let owner_saw_private = PERSONAS[persona] == Owner && private;
    let failure = (!problems.is_empty()).then(|| {
        // Of a page, what it shows: its main part.
        let shown = answer
            .body
            .find("<main")
            .map_or(answer.body.as_str(), |at| &answer.body[at..]);
        let mut body: String = shown.chars().take(300).collect();
        body = body.replace('\n', " ");
        format!(
            "{name} as {:?}: expected {}, but it {} (answer: {} {} {body})",
            PERSONAS[persona],
            describe(expect),
            problems.join(" and "),
            answer.status,
            answer.location,
        )
    });
    (failure, owner_saw_private.then_some(name))
}

/// Cells with copies of their own asked at once.
const CONCURRENCY: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_server_function_answers_each_visitor_exactly_as_the_policy_says() {
    let template = template().await;
    let cells: Vec<(usize, Row, usize)> = MATRIX
        .iter()
        .flat_map(|row| (0..PERSONAS.len()).map(move |persona| (*row, persona)))
        .enumerate()
        .map(|(n, (row, persona))| (n, row, persona))
        .collect();
    let (own, shared): (Vec<_>, Vec<_>) =
        cells
            .into_iter()
            .partition(|(_, (_, request, expected), persona)| {
                on_its_own_copy(*request, expected[*persona])
            });
    let copy = copy_of(&template, usize::MAX).await;
    let (template, on_copy) = (&template, &copy);
    let one_by_one = futures_util::stream::iter(shared)
        .then(|(n, row, persona)| async move { (n, ask(template, on_copy, n, row, persona).await) })
        .collect::<Vec<_>>();
    let side_by_side = futures_util::stream::iter(own)
        .map(|(n, row, persona)| async move { (n, ask(template, on_copy, n, row, persona).await) })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>();
    let (mut answers, more) = tokio::join!(one_by_one, side_by_side);
    throw_away(copy).await;
    answers.extend(more);
    answers.sort_by_key(|(n, _)| *n);
    let (failures, shown_to_owner): (Vec<_>, Vec<_>) =
        answers.into_iter().map(|(_, answer)| answer).unzip();
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    // The private marker is live: the owner's own data shows it to the owner.
    let shown_to_owner: BTreeSet<&str> = shown_to_owner.into_iter().flatten().collect();
    for row in [
        "observations CSV",
        "observations JSON",
        "data export",
        "API: read observations",
        "get_import",
        "list_tokens",
    ] {
        assert!(
            shown_to_owner.contains(row),
            "{row} did not show the owner their private data; shown in {shown_to_owner:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} answers differ from the matrix:\n{}",
        failures.len(),
        MATRIX.len() * PERSONAS.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Completeness: every page, route and server function has a row.

/// Set in the child process that prints the Leptos route list.
const PRINT_ROUTES: &str = "COHORT_AUTHZ_PRINT_ROUTES";

/// Run by `leptos_routes()` in a process of its own: generating the route list renders
/// the app with resource loading switched off process-wide, which would stall pages that
/// other tests render at the same time (see `startup::route_list`).
#[tokio::test]
#[ignore = "run by every_page_route_and_server_function_has_a_row, in a child process"]
async fn the_leptos_route_list_is_printed_for_the_matrix() {
    if std::env::var_os(PRINT_ROUTES).is_none() {
        return;
    }
    for route in leptos_axum::generate_route_list(app::App) {
        for method in route.methods() {
            println!(
                "ROUTE {} {}",
                format!("{method:?}").to_uppercase(),
                route.path()
            );
        }
    }
}

/// The app's pages: (method, path), from a child process of this test binary.
fn leptos_routes() -> Vec<(String, String)> {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "authz::the_leptos_route_list_is_printed_for_the_matrix",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PRINT_ROUTES, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting the route list process");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).ok();
        text
    });
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().ok();
            panic!("the route list process did not finish");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let text = reader.join().unwrap();
    let routes: Vec<(String, String)> = text
        .lines()
        // The harness may print the test's name on the same line as the first route.
        .filter_map(|line| line.split_once("ROUTE ").map(|(_, route)| route))
        .filter_map(|line| line.split_once(' '))
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert!(
        routes.iter().any(|(_, path)| path == "/events/{id}"),
        "no Leptos routes read: {text}"
    );
    routes
}

/// The axum routes written in `server/src`: (method, path), read from the source, so that
/// a route added there fails this test until it has a row. `any(…)` is method `*`.
fn axum_routes() -> Vec<(String, String)> {
    fn sources(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = Vec::new();
    for (file, text) in &files {
        for unreadable in [
            ".nest(",
            ".nest_service(",
            ".route_service(",
            ".fallback_service(",
        ] {
            // The one fallback service allowed: the site's static files (the same for
            // everyone, no access decision), with Leptos behind it for everything else.
            let text = text.replace(".fallback_service(\n            ServeDir::new(", "");
            assert!(
                !text.contains(unreadable),
                "{}: {unreadable} adds routes this test cannot read; teach axum_routes() about it",
                file.display()
            );
        }
        for (start, _) in text.match_indices(".route(") {
            let rest = &text[start + ".route(".len()..];
            let rest = rest.trim_start();
            let path = rest
                .strip_prefix('"')
                .and_then(|rest| rest.split_once('"'))
                .map(|(path, _)| path)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: a route whose path is not a string literal",
                        file.display()
                    )
                });
            // The handlers: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let handlers = &rest[..end];
            let mut found = false;
            for (method, token) in [
                ("GET", "get("),
                ("POST", "post("),
                ("PUT", "put("),
                ("PATCH", "patch("),
                ("DELETE", "delete("),
                ("*", "any("),
            ] {
                let called = handlers.match_indices(token).any(|(at, _)| {
                    !handlers[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if called {
                    routes.push((method.to_string(), path.to_string()));
                    found = true;
                }
            }
            assert!(found, "{}: no method read for {path}", file.display());
        }
    }
    for known in ["/healthz", "/api/v1/{*rest}", "/track/import/{id}/start"] {
        assert!(
            routes.iter().any(|(_, path)| path == known),
            "the source scan missed {known}: {routes:?}"
        );
    }
    routes
}

/// How well a route pattern matches a path: the number of literal segments in common, or
/// None. `{name}` and `:name` match one segment, `{*name}` the rest.
fn fits(pattern: &str, path: &str) -> Option<usize> {
    let path = path.split('?').next().unwrap_or(path);
    let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut literal = 0;
    for (i, segment) in pattern.iter().enumerate() {
        if segment.starts_with("{*") {
            return (path.len() > i).then_some(literal);
        }
        let actual = path.get(i)?;
        if segment.starts_with('{') || segment.starts_with(':') {
            if actual.is_empty() {
                return None;
            }
        } else if segment == actual {
            literal += 1;
        } else {
            return None;
        }
    }
    (path.len() == pattern.len()).then_some(literal)
}

#[test]
fn every_page_route_and_server_function_has_a_row() {
    let mut routes: BTreeSet<(String, String)> = BTreeSet::new();
    routes.extend(leptos_routes());
    routes.extend(axum_routes());
    let functions: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.to_string(), path.to_string()))
        .collect();
    assert!(
        functions.iter().any(|(_, path)| path == "/api/get_event"),
        "no server functions registered: {functions:?}"
    );
    routes.extend(functions);

    let mut covered = BTreeSet::new();
    let mut problems = Vec::new();
    for (name, request, _) in MATRIX {
        let (method, path) = request.route();
        // The route that answers: the one that fits with the most literal segments.
        let answering = routes
            .iter()
            .filter(|(route_method, _)| route_method == method || route_method == "*")
            .filter_map(|route| fits(&route.1, &path).map(|literal| (literal, route)))
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, route)| route.clone());
        match (request, answering) {
            (Request::Nowhere(..), Some(route)) => {
                problems.push(format!("{name}: {method} {path} is answered by {route:?}"))
            }
            (Request::Nowhere(..), None) => {}
            (_, Some(route)) => {
                covered.insert(route);
            }
            (_, None) => problems.push(format!("{name}: nothing answers {method} {path}")),
        }
    }
    for route in routes.difference(&covered) {
        problems.push(format!("{} {} has no row in the matrix", route.0, route.1));
    }
    assert!(
        problems.is_empty(),
        "the matrix and the app differ:\n{}",
        problems.join("\n")
    );
}
