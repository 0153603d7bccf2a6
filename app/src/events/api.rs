//! What the meetup pages exchange with the server: the shapes of an event page, the
//! event form and the organizer's view, and the server functions behind them. Each
//! server function checks the policy in `store` before it reads or writes anything.

use crate::accounts::FormErrors;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A member's own RSVP, as their event page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRsvp {
    /// "yes", "maybe" or "no".
    pub answer: String,
    pub guests: i32,
    /// "going", "waitlisted" or "offered" for a yes.
    pub seat: Option<String>,
    /// 1-based, while waitlisted.
    pub position: Option<i64>,
    /// While a seat is offered: until when, in the event's zone.
    pub offer_expires: Option<String>,
    pub checked_in: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub user_id: i64,
    pub display_name: String,
    pub guests: i32,
    /// "going", "offered", "waitlisted", "maybe" or "no".
    pub status: String,
    pub position: Option<i64>,
    pub checked_in: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub posted: String,
    pub hidden: bool,
    pub mine: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkView {
    pub id: i64,
    pub speaker: String,
    pub title: String,
    pub abstract_text: String,
    pub minutes: i32,
    /// "proposed", "accepted" or "declined".
    pub status: String,
    pub mine: bool,
}

/// Whether RSVPs are taken now, and if not why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RsvpGate {
    Open,
    NotYet(String),
    Closed,
    Cancelled,
    Over,
}

/// Everything an event page shows, already cut to what the viewer may see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    pub id: i64,
    pub group_slug: String,
    pub group_name: String,
    pub title: String,
    /// Markdown rendered and sanitised on the server.
    pub body_html: String,
    /// The first words of the description as plain text (link previews).
    pub summary: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub date_label: String,
    pub time_label: String,
    pub time_zone: String,
    /// The same time in the viewer's own zone when it differs from the event's.
    pub viewer_time: Option<String>,
    pub venue: String,
    pub address: String,
    pub map_url: Option<String>,
    /// Only for members with a seat.
    pub online_url: Option<String>,
    pub has_online_link: bool,
    pub capacity: Option<i32>,
    pub seats_taken: i64,
    pub waitlist_count: i64,
    pub max_guests: i32,
    pub gate: RsvpGate,
    pub cancelled: bool,
    pub cancel_reason: String,
    pub past: bool,
    /// "Monthly on the last Tuesday" for an occurrence of a series.
    pub series: Option<String>,
    /// Checked-in members and their guests, once it is over.
    pub attendance: Option<i64>,
    pub logged_in: bool,
    pub is_member: bool,
    pub can_manage: bool,
    pub my_rsvp: Option<MyRsvp>,
    /// Members only.
    pub attendees: Option<Vec<Attendee>>,
    /// Accepted talks for everyone; organizers also see proposals, speakers their own.
    pub talks: Vec<TalkView>,
    /// Members only.
    pub comments: Option<Vec<CommentView>>,
    pub can_moderate: bool,
}

/// The event form's fields as text, as the browser sends them back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFormData {
    pub group_slug: String,
    pub group_name: String,
    /// Set when editing.
    pub event_id: Option<i64>,
    pub in_series: bool,
    pub series_label: Option<String>,
    pub title: String,
    pub body_md: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub time_zone: String,
    pub venue: String,
    pub address: String,
    pub online_url: String,
    pub capacity: String,
    pub max_guests: String,
    pub rsvp_opens: String,
    pub rsvp_closes: String,
    pub offer_window_hours: String,
}

/// The organizer's view: counts, everyone's RSVP and check-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManageData {
    pub event_id: i64,
    pub title: String,
    pub group_slug: String,
    pub when: String,
    pub capacity: Option<i32>,
    pub going: i64,
    pub going_guests: i64,
    pub offered: i64,
    pub waitlisted: i64,
    pub maybe: i64,
    pub no: i64,
    pub checked_in: i64,
    /// Members with an RSVP first, then the group's other members (walk-ins).
    pub people: Vec<Attendee>,
}

/// One e-mail of the outbox, for instance admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEmail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub kind: String,
    pub status: String,
    pub created: String,
    pub text_body: String,
    pub has_ics: bool,
}

#[server(endpoint = "get_event")]
pub async fn get_event(id: i64) -> Result<EventDetail, ServerFnError> {
    super::store::event_detail(id).await
}

/// The answer to an RSVP: what happened, in a sentence.
#[server(endpoint = "rsvp")]
pub async fn rsvp(
    event_id: i64,
    answer: String,
    guests: Option<i32>,
) -> Result<String, ServerFnError> {
    super::store::rsvp(event_id, answer, guests.unwrap_or(0)).await
}

/// The form for a new event of a group; `from` copies an existing event (duplicate).
#[server(endpoint = "new_event_form")]
pub async fn new_event_form(
    slug: String,
    from: Option<i64>,
) -> Result<EventFormData, ServerFnError> {
    super::store::new_event_form(slug, from).await
}

#[server(endpoint = "edit_event_form")]
pub async fn edit_event_form(id: i64) -> Result<EventFormData, ServerFnError> {
    super::store::edit_event_form(id).await
}

/// Creates (no `event_id`) or edits an event. `repeat` makes a new event a series
/// (`weekly`, `biweekly`, `monthly_day`, `monthly_weekday` with `repeat_last`);
/// `scope` = `series` applies an edit to the rest of the series.
#[server(endpoint = "save_event")]
#[allow(clippy::too_many_arguments)]
pub async fn save_event(
    group_slug: String,
    event_id: Option<i64>,
    title: String,
    body_md: String,
    date: String,
    start_time: String,
    end_time: String,
    time_zone: String,
    venue: String,
    address: String,
    online_url: String,
    capacity: String,
    max_guests: String,
    rsvp_opens: String,
    rsvp_closes: String,
    offer_window_hours: String,
    repeat: Option<String>,
    repeat_last: Option<String>,
    repeat_until: Option<String>,
    exceptions: Option<String>,
    scope: Option<String>,
) -> Result<FormErrors, ServerFnError> {
    let form = EventFormData {
        group_slug,
        group_name: String::new(),
        event_id,
        in_series: false,
        series_label: None,
        title,
        body_md,
        date,
        start_time,
        end_time,
        time_zone,
        venue,
        address,
        online_url,
        capacity,
        max_guests,
        rsvp_opens,
        rsvp_closes,
        offer_window_hours,
    };
    let repeat = super::store::RepeatInput {
        repeat: repeat.unwrap_or_default(),
        last: repeat_last.is_some_and(|value| !value.is_empty() && value != "false"),
        until: repeat_until.unwrap_or_default(),
        exceptions: exceptions.unwrap_or_default(),
        whole_series: scope.as_deref() == Some("series"),
    };
    super::store::save_event(form, repeat).await
}

#[server(endpoint = "cancel_event")]
pub async fn cancel_event(event_id: i64, reason: String) -> Result<(), ServerFnError> {
    super::store::cancel_event(event_id, reason).await
}

#[server(endpoint = "post_comment")]
pub async fn post_comment(event_id: i64, body: String) -> Result<(), ServerFnError> {
    super::store::post_comment(event_id, body).await
}

/// An organizer hides a comment (kept, shown as removed); its author may delete it.
#[server(endpoint = "moderate_comment")]
pub async fn moderate_comment(comment_id: i64, action: String) -> Result<(), ServerFnError> {
    super::store::moderate_comment(comment_id, action).await
}

#[server(endpoint = "propose_talk")]
pub async fn propose_talk(
    event_id: i64,
    title: String,
    abstract_text: String,
    minutes: String,
) -> Result<FormErrors, ServerFnError> {
    super::store::propose_talk(event_id, title, abstract_text, minutes).await
}

/// `decision`: "accept" or "decline".
#[server(endpoint = "decide_talk")]
pub async fn decide_talk(talk_id: i64, decision: String) -> Result<(), ServerFnError> {
    super::store::decide_talk(talk_id, decision).await
}

#[server(endpoint = "get_manage")]
pub async fn get_manage(event_id: i64) -> Result<ManageData, ServerFnError> {
    super::store::manage_data(event_id).await
}

/// Marks a member present (or not) at the door.
#[server(endpoint = "check_in")]
pub async fn check_in(event_id: i64, user_id: i64, present: bool) -> Result<(), ServerFnError> {
    super::store::check_in(event_id, user_id, present).await
}

#[server(endpoint = "get_outbox")]
pub async fn get_outbox() -> Result<Vec<OutboxEmail>, ServerFnError> {
    super::store::outbox().await
}
