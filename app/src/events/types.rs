//! What the meetup pages exchange with the server: the shapes of an event page, the
//! event form and the organizer's view. Shared by the server functions
//! (`server_fns`), the pages and the database code (`store`), which import them from
//! here rather than from each other.

use chrono::{DateTime, Utc};
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
    /// The insight its speaker attached, frozen, drawn on the server (members of the
    /// group only).
    pub insight: Option<crate::html::Rendered>,
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
    /// It has started (its report is written).
    pub started: bool,
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
    /// "Since the last meetup": the group's figures, drawn on the server (members only;
    /// none when cancelled).
    pub figures: Option<crate::html::Rendered>,
    /// The viewer's insights they could attach to their own talks here: (subject,
    /// sentence); empty unless they have a talk at this meetup.
    pub my_insights: Vec<(String, String)>,
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
