//! The authorization matrix: every route and server function, asked by each kind of
//! visitor, is either allowed or refused exactly as the policy says. New routes and
//! server functions join the table below.

use crate::helpers::{TestApp, PASSWORD};
use chrono::Utc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persona {
    Anonymous,
    Member,
    AnotherMember,
    OtherOrganizer,
    Organizer,
    Admin,
}
use Persona::*;
const PERSONAS: [Persona; 6] = [
    Anonymous,
    Member,
    AnotherMember,
    OtherOrganizer,
    Organizer,
    Admin,
];

/// `true`: allowed; `false`: refused.
type Row = (&'static str, Request, [bool; 6]);

#[derive(Clone, Copy, Debug)]
enum Request {
    Page(&'static str),
    Function(&'static str, &'static [(&'static str, &'static str)]),
    /// A server function whose parameters need the world (the member to promote).
    Promote,
    /// Allowed means the group page lists the members.
    SeesMembers,
    /// Allowed means the event page lists who is coming.
    SeesAttendees,
}

const DEMO: &[(&str, &str)] = &[("slug", "qs-north-bay")];

/// `{event}`, `{comment}`, `{talk}` and `{user}` in paths and form values stand for an
/// upcoming demo meetup, a demo member's comment and talk proposal on it, and a demo member.
const EVENT: &[(&str, &str)] = &[("id", "{event}")];
const EVENT_ID: &[(&str, &str)] = &[("event_id", "{event}")];
const NOBODY: [bool; 6] = [false; 6];
const EVERYONE: [bool; 6] = [true; 6];
const MEMBERS: [bool; 6] = [false, true, false, false, true, false];
const MANAGERS: [bool; 6] = [false, false, false, false, true, true];
const ADMIN: [bool; 6] = [false, false, false, false, false, true];
const LOGGED_IN: [bool; 6] = [false, true, true, true, true, true];

const MATRIX: &[Row] = &[
    ("event page", Request::Page("/events/{event}"), EVERYONE),
    (
        "event .ics",
        Request::Page("/events/{event}/event.ics"),
        EVERYONE,
    ),
    (
        "group calendar",
        Request::Page("/groups/qs-north-bay/calendar.ics"),
        EVERYONE,
    ),
    (
        "group Atom feed",
        Request::Page("/groups/qs-north-bay/events.atom"),
        EVERYONE,
    ),
    ("get_event", Request::Function("get_event", EVENT), EVERYONE),
    (
        "attendees visible",
        Request::SeesAttendees,
        [false, true, false, false, true, true],
    ),
    (
        "rsvp",
        Request::Function("rsvp", &[("event_id", "{event}"), ("answer", "yes")]),
        MEMBERS,
    ),
    (
        "post_comment",
        Request::Function(
            "post_comment",
            &[("event_id", "{event}"), ("body", "Hello")],
        ),
        MEMBERS,
    ),
    (
        "propose_talk",
        Request::Function(
            "propose_talk",
            &[
                ("event_id", "{event}"),
                ("title", "My sleep"),
                ("abstract_text", ""),
                ("minutes", "5"),
            ],
        ),
        MEMBERS,
    ),
    (
        "new event page",
        Request::Page("/groups/qs-north-bay/events/new"),
        MANAGERS,
    ),
    (
        "edit event page",
        Request::Page("/events/{event}/edit"),
        MANAGERS,
    ),
    (
        "organizer view",
        Request::Page("/events/{event}/manage"),
        MANAGERS,
    ),
    (
        "attendee CSV",
        Request::Page("/events/{event}/attendees.csv"),
        MANAGERS,
    ),
    (
        "new_event_form",
        Request::Function("new_event_form", DEMO),
        MANAGERS,
    ),
    (
        "edit_event_form",
        Request::Function("edit_event_form", EVENT),
        MANAGERS,
    ),
    (
        "save_event",
        Request::Function(
            "save_event",
            &[
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
            ],
        ),
        MANAGERS,
    ),
    (
        "cancel_event",
        Request::Function(
            "cancel_event",
            &[("event_id", "{event}"), ("reason", "Ill")],
        ),
        MANAGERS,
    ),
    (
        "get_manage",
        Request::Function("get_manage", EVENT_ID),
        MANAGERS,
    ),
    (
        "check_in",
        Request::Function(
            "check_in",
            &[
                ("event_id", "{event}"),
                ("user_id", "{user}"),
                ("present", "true"),
            ],
        ),
        MANAGERS,
    ),
    (
        "decide_talk",
        Request::Function(
            "decide_talk",
            &[("talk_id", "{talk}"), ("decision", "accept")],
        ),
        MANAGERS,
    ),
    (
        "moderate_comment (hide)",
        Request::Function(
            "moderate_comment",
            &[("comment_id", "{comment}"), ("action", "hide")],
        ),
        MANAGERS,
    ),
    (
        "moderate_comment (delete another's)",
        Request::Function(
            "moderate_comment",
            &[("comment_id", "{comment}"), ("action", "delete")],
        ),
        NOBODY,
    ),
    // Capture: each member's own data. `{observation}` is a demo member's.
    ("track page", Request::Page("/track"), LOGGED_IN),
    ("metric page", Request::Page("/track/mood"), LOGGED_IN),
    (
        "observations CSV",
        Request::Page("/track/export.csv"),
        LOGGED_IN,
    ),
    (
        "observations JSON",
        Request::Page("/track/export.json"),
        LOGGED_IN,
    ),
    ("get_track", Request::Function("get_track", &[]), LOGGED_IN),
    (
        "log_entry",
        Request::Function(
            "log_entry",
            &[("metric", "mood"), ("value", "6"), ("key", "matrix")],
        ),
        LOGGED_IN,
    ),
    (
        "get_metric_page",
        Request::Function("get_metric_page", &[("key", "mood")]),
        LOGGED_IN,
    ),
    (
        "save_metric_settings",
        Request::Function(
            "save_metric_settings",
            &[("key", "weight"), ("display_unit", "lb"), ("goal", "150")],
        ),
        LOGGED_IN,
    ),
    (
        "pin_metric",
        Request::Function("pin_metric", &[("key", "alcohol"), ("pinned", "true")]),
        LOGGED_IN,
    ),
    (
        "create_metric",
        Request::Function(
            "create_metric",
            &[
                ("name", "Cold showers"),
                ("kind", "yes_no"),
                ("aggregate", "sum"),
            ],
        ),
        LOGGED_IN,
    ),
    (
        "share_metric (with one's group)",
        Request::Function(
            "share_metric",
            &[
                ("key", "mood"),
                ("group_slug", "qs-north-bay"),
                ("level", "aggregate"),
            ],
        ),
        MEMBERS,
    ),
    (
        "save_entry (another's)",
        Request::Function(
            "save_entry",
            &[("id", "{observation}"), ("value", "1"), ("at", "")],
        ),
        NOBODY,
    ),
    (
        "delete_entry (another's)",
        Request::Function("delete_entry", &[("id", "{observation}")]),
        NOBODY,
    ),
    // Imports: each member's own. `{import}` is a demo member's.
    ("import page", Request::Page("/track/import"), LOGGED_IN),
    (
        "list_imports",
        Request::Function("list_imports", &[]),
        LOGGED_IN,
    ),
    (
        "get_import (another's)",
        Request::Function("get_import", &[("id", "{import}")]),
        NOBODY,
    ),
    (
        "import status page (another's)",
        Request::Page("/track/import/{import}"),
        NOBODY,
    ),
    // API tokens: each member's own. `{token}` is a demo member's.
    ("tokens page", Request::Page("/me/tokens"), LOGGED_IN),
    (
        "list_tokens",
        Request::Function("list_tokens", &[]),
        LOGGED_IN,
    ),
    (
        "create_token",
        Request::Function("create_token", &[("name", "Sync"), ("scope", "read")]),
        LOGGED_IN,
    ),
    (
        "revoke_token (another's)",
        Request::Function("revoke_token", &[("id", "{token}")]),
        NOBODY,
    ),
    // The REST API takes tokens only: a logged-in session is no credential there.
    (
        "API with a session",
        Request::Page("/api/v1/metrics"),
        NOBODY,
    ),
    (
        "OpenAPI document",
        Request::Page("/api/v1/openapi.json"),
        EVERYONE,
    ),
    ("outbox page", Request::Page("/admin/outbox"), ADMIN),
    ("get_outbox", Request::Function("get_outbox", &[]), ADMIN),
    ("jobs page", Request::Page("/admin/jobs"), ADMIN),
    (
        "get_jobs_overview",
        Request::Function("get_jobs_overview", &[]),
        ADMIN,
    ),
    (
        "retry_job",
        Request::Function("retry_job", &[("id", "1")]),
        ADMIN,
    ),
    (
        "cancel_job",
        Request::Function("cancel_job", &[("id", "2")]),
        ADMIN,
    ),
    //                                                         anon   member another other-org organizer admin
    (
        "home page",
        Request::Page("/"),
        [true, true, true, true, true, true],
    ),
    (
        "groups page",
        Request::Page("/groups"),
        [true, true, true, true, true, true],
    ),
    (
        "group page",
        Request::Page("/groups/qs-north-bay"),
        [true, true, true, true, true, true],
    ),
    (
        "login page",
        Request::Page("/login"),
        [true, true, true, true, true, true],
    ),
    (
        "signup page",
        Request::Page("/signup"),
        [true, true, true, true, true, true],
    ),
    (
        "health check",
        Request::Page("/healthz"),
        [true, true, true, true, true, true],
    ),
    (
        "profile page",
        Request::Page("/me"),
        [false, true, true, true, true, true],
    ),
    (
        "data export",
        Request::Page("/me/export"),
        [false, true, true, true, true, true],
    ),
    (
        "get_current_user",
        Request::Function("get_current_user", &[]),
        [true, true, true, true, true, true],
    ),
    (
        "list_groups",
        Request::Function("list_groups", &[]),
        [true, true, true, true, true, true],
    ),
    (
        "get_group",
        Request::Function("get_group", DEMO),
        [true, true, true, true, true, true],
    ),
    (
        "group members visible",
        Request::SeesMembers,
        [false, true, false, false, true, true],
    ),
    (
        "join_group",
        Request::Function("join_group", DEMO),
        [false, false, true, true, false, true],
    ),
    (
        "leave_group",
        Request::Function("leave_group", DEMO),
        [false, true, false, false, true, false],
    ),
    (
        "promote_member",
        Request::Promote,
        [false, false, false, false, true, true],
    ),
    (
        "update_profile",
        Request::Function(
            "update_profile",
            &[("display_name", "New"), ("time_zone", "UTC")],
        ),
        [false, true, true, true, true, true],
    ),
    (
        "change_password",
        Request::Function(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
            ],
        ),
        [false, true, true, true, true, true],
    ),
    (
        "logout_everywhere",
        Request::Function("logout_everywhere", &[]),
        [false, true, true, true, true, true],
    ),
    (
        "delete_account",
        Request::Function("delete_account", &[("password", PASSWORD)]),
        [false, true, true, true, true, true],
    ),
    (
        "logout",
        Request::Function("logout", &[]),
        [true, true, true, true, true, true],
    ),
    (
        "login",
        Request::Function(
            "login",
            &[("email", "member@example.org"), ("password", PASSWORD)],
        ),
        [true, true, true, true, true, true],
    ),
    (
        "signup",
        Request::Function(
            "signup",
            &[
                ("email", "new@example.org"),
                ("display_name", "New"),
                ("password", PASSWORD),
            ],
        ),
        [true, true, true, true, true, true],
    ),
];

struct World {
    app: TestApp,
    clients: Vec<reqwest::Client>,
    promote_target: i64,
    /// Stand-ins for `{event}`, `{comment}`, `{talk}` and `{user}`.
    ids: Vec<(&'static str, String)>,
}

impl World {
    fn fill(&self, text: &str) -> String {
        self.ids
            .iter()
            .fold(text.to_string(), |text, (key, id)| text.replace(key, id))
    }
}

/// The demo group (organizer: a demo member and `organizer@`), another group with its own
/// member and organizer, and an instance admin who belongs to neither.
async fn world() -> World {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, Utc::now())
        .await
        .unwrap();
    let admin = app.member("admin@example.org", "Admin").await; // the first account
    let member = app.member("member@example.org", "Member").await;
    let another = app.member("another@example.org", "Another").await;
    let other_organizer = app.member("otherorg@example.org", "Other organizer").await;
    let organizer = app.member("organizer@example.org", "Organizer").await;
    sqlx::raw_sql(
        "INSERT INTO groups (slug, name, city, time_zone) VALUES ('other-group', 'Other Group', 'Elsewhere', 'UTC');
         INSERT INTO memberships (group_id, user_id, role)
         SELECT g.id, u.id, r.role::membership_role FROM groups g, users u,
                (VALUES ('member@example.org', 'qs-north-bay', 'member'),
                        ('organizer@example.org', 'qs-north-bay', 'organizer'),
                        ('another@example.org', 'other-group', 'member'),
                        ('otherorg@example.org', 'other-group', 'organizer')) AS r(email, slug, role)
          WHERE u.email = r.email AND g.slug = r.slug;
         -- Job 1 failed, job 2 pending: for the admin's retry and cancel.
         INSERT INTO jobs (kind, state, last_error) VALUES ('test_failed', 'failed', 'boom'), ('test_pending', 'pending', NULL);",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let promote_target: i64 = sqlx::query_scalar(
        "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id
          WHERE u.email = 'priya.natarajan@demo.cohort.invalid'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let event: i64 = sqlx::query_scalar(
        "SELECT id FROM events WHERE starts_at > now() ORDER BY starts_at LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let comment: i64 = sqlx::query_scalar(
        "INSERT INTO event_comments (event_id, user_id, body) VALUES ($1, $2, 'See you there') RETURNING id",
    )
    .bind(event)
    .bind(promote_target)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let talk: i64 = sqlx::query_scalar(
        "INSERT INTO talks (event_id, user_id, title, minutes) VALUES ($1, $2, 'My step count', 5) RETURNING id",
    )
    .bind(event)
    .bind(promote_target)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let observation: i64 = sqlx::query_scalar(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source)
         SELECT $1, id, now(), 7, 'quick_log' FROM metrics WHERE key = 'mood' AND owner_id IS NULL
         RETURNING id",
    )
    .bind(promote_target)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let token: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, scope, prefix, secret_hash)
         VALUES ($1, 'Demo', 'read', 'coh_demo', '\\x00') RETURNING id",
    )
    .bind(promote_target)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let import: i64 = sqlx::query_scalar(
        "INSERT INTO imports (user_id, kind, filename, size_bytes, sha256) VALUES ($1, 'csv', 'x.csv', 0, '') RETURNING id",
    )
    .bind(promote_target)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let ids = vec![
        ("{import}", import.to_string()),
        ("{observation}", observation.to_string()),
        ("{token}", token.to_string()),
        ("{event}", event.to_string()),
        ("{comment}", comment.to_string()),
        ("{talk}", talk.to_string()),
        ("{user}", promote_target.to_string()),
    ];
    let clients = vec![
        TestApp::new_client(),
        member,
        another,
        other_organizer,
        organizer,
        admin,
    ];
    World {
        app,
        clients,
        promote_target,
        ids,
    }
}

async fn allowed(world: &World, client: &reqwest::Client, request: Request) -> (bool, String) {
    let app = &world.app;
    let response = match request {
        Request::Page(path) => client
            .get(format!("{}{}", app.address, world.fill(path)))
            .send()
            .await
            .unwrap(),
        Request::Function(name, form) => {
            let filled: Vec<(&str, String)> =
                form.iter().map(|(k, v)| (*k, world.fill(v))).collect();
            let form: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call(client, name, &form).await
        }
        Request::Promote => {
            let id = world.promote_target.to_string();
            app.call(
                client,
                "promote_member",
                &[("slug", "qs-north-bay"), ("user_id", &id)],
            )
            .await
        }
        Request::SeesMembers => {
            let body: serde_json::Value = app
                .call(client, "get_group", DEMO)
                .await
                .json()
                .await
                .unwrap();
            return (!body["members"].is_null(), body.to_string());
        }
        Request::SeesAttendees => {
            let body: serde_json::Value = app
                .call(client, "get_event", &[("id", &world.fill("{event}"))])
                .await
                .json()
                .await
                .unwrap();
            return (!body["attendees"].is_null(), body.to_string());
        }
    };
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.text().await.unwrap_or_default();
    // 404 refuses too: another member's entry is "not found" rather than "forbidden",
    // so that nobody learns which ids exist.
    let refused = (status.is_redirection() && location.starts_with("/login"))
        || status == 401
        || status == 403
        || status == 404;
    assert!(
        status.is_success() || status.is_redirection() || refused,
        "{request:?}: neither allowed nor refused: {status} {location} {body}"
    );
    // A form that succeeds may answer with a redirect to what it made.
    let verdict =
        status.is_success() || (status.is_redirection() && !location.starts_with("/login"));
    (verdict, format!("{status} {location} {body}"))
}

#[tokio::test]
async fn every_route_and_server_function_allows_exactly_whom_the_policy_allows() {
    let mut failures = Vec::new();
    for (name, request, expected) in MATRIX {
        // A fresh world per row: a row's calls (leaving, deleting) must not change the next.
        let world = world().await;
        for (i, persona) in PERSONAS.iter().enumerate() {
            let (verdict, detail) = allowed(&world, &world.clients[i], *request).await;
            if verdict != expected[i] {
                failures.push(format!(
                    "{name} as {persona:?}: expected {}, got {detail}",
                    if expected[i] { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix mismatches:\n{}",
        failures.join("\n")
    );
}
