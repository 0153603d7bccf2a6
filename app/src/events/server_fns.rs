//! The server functions behind the meetup pages. Each is thin: it hands its arguments
//! to `store`, which checks the policy before it reads or writes anything.

use super::types::*;
use crate::accounts::FormErrors;
use leptos::prelude::*;

#[server(endpoint = "get_event")]
pub async fn get_event(id: i64) -> Result<EventDetail, ServerFnError> {
    Ok(super::store::event_detail(id).await?)
}

/// The answer to an RSVP: what happened, in a sentence.
#[server(endpoint = "rsvp")]
pub async fn rsvp(
    event_id: i64,
    answer: String,
    guests: Option<i32>,
) -> Result<String, ServerFnError> {
    Ok(super::store::rsvp(event_id, answer, guests.unwrap_or(0)).await?)
}

/// The form for a new event of a group; `from` copies an existing event (duplicate).
#[server(endpoint = "new_event_form")]
pub async fn new_event_form(
    slug: String,
    from: Option<i64>,
) -> Result<EventFormData, ServerFnError> {
    Ok(super::store::new_event_form(slug, from).await?)
}

#[server(endpoint = "edit_event_form")]
pub async fn edit_event_form(id: i64) -> Result<EventFormData, ServerFnError> {
    Ok(super::store::edit_event_form(id).await?)
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
    Ok(super::store::save_event(form, repeat).await?)
}

#[server(endpoint = "cancel_event")]
pub async fn cancel_event(event_id: i64, reason: String) -> Result<(), ServerFnError> {
    Ok(super::store::cancel_event(event_id, reason).await?)
}

#[server(endpoint = "post_comment")]
pub async fn post_comment(event_id: i64, body: String) -> Result<(), ServerFnError> {
    Ok(super::store::post_comment(event_id, body).await?)
}

/// An organizer hides a comment (kept, shown as removed); its author may delete it.
#[server(endpoint = "moderate_comment")]
pub async fn moderate_comment(comment_id: i64, action: String) -> Result<(), ServerFnError> {
    Ok(super::store::moderate_comment(comment_id, action).await?)
}

#[server(endpoint = "propose_talk")]
pub async fn propose_talk(
    event_id: i64,
    title: String,
    abstract_text: String,
    minutes: String,
) -> Result<FormErrors, ServerFnError> {
    Ok(super::store::propose_talk(event_id, title, abstract_text, minutes).await?)
}

/// `decision`: "accept" or "decline".
#[server(endpoint = "decide_talk")]
pub async fn decide_talk(talk_id: i64, decision: String) -> Result<(), ServerFnError> {
    Ok(super::store::decide_talk(talk_id, decision).await?)
}

#[server(endpoint = "get_manage")]
pub async fn get_manage(event_id: i64) -> Result<ManageData, ServerFnError> {
    Ok(super::store::manage_data(event_id).await?)
}

/// Marks a member present (or not) at the door.
#[server(endpoint = "check_in")]
pub async fn check_in(event_id: i64, user_id: i64, present: bool) -> Result<(), ServerFnError> {
    Ok(super::store::check_in(event_id, user_id, present).await?)
}
