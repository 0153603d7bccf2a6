//! The event form: a new meetup (or a series of them), a copy of one, or an edit.

use super::server_fns::*;
use super::types::*;
use crate::accounts::FormErrors;
use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/groups/:slug/events/new` (with `?from=ID` to duplicate a meetup).
#[component]
pub fn NewEventPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let form = crate::data::load(
        move || {
            (
                params.read().get("slug").unwrap_or_default(),
                query
                    .read()
                    .get("from")
                    .and_then(|id| id.parse::<i64>().ok()),
            )
        },
        |(slug, from)| new_event_form(slug, from),
    );
    view! {
        <Title formatter=crate::html::page_title text="New meetup" />
        <FormLoader form heading="New meetup" />
    }
}

/// `/events/:id/edit`.
#[component]
pub fn EditEventPage() -> impl IntoView {
    let params = use_params_map();
    let form = crate::data::load(
        move || {
            params
                .read()
                .get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        },
        edit_event_form,
    );
    view! {
        <Title formatter=crate::html::page_title text="Edit meetup" />
        <FormLoader form heading="Edit meetup" />
    }
}

#[component]
fn FormLoader(
    form: crate::data::PageData<Result<EventFormData, ServerFnError>>,
    heading: &'static str,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <div class="event-form-page" data-hydrated=move || hydrated.get().to_string()>
            <h1>{heading}</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match form.await {
                        Ok(data) => view! { <EventForm data /> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn EventForm(data: EventFormData) -> impl IntoView {
    let save = ServerAction::<SaveEvent>::new();
    let value = save.value();
    let errors = Memo::new(move |_| match value.get() {
        Some(Ok(errors)) => errors,
        Some(Err(error)) => FormErrors::form(message(&error)),
        None => FormErrors::default(),
    });
    let field = move |name: &'static str| {
        move || {
            errors
                .get()
                .field(name)
                .map(|text| view! { <p class="field-error" role="alert">{text}</p> })
        }
    };
    let editing = data.event_id.is_some();
    let back = match data.event_id {
        Some(id) => format!("/events/{id}"),
        None => format!("/groups/{}", data.group_slug),
    };
    view! {
        <ActionForm action=save attr:class="form event-form">
            <input type="hidden" name="group_slug" value=data.group_slug.clone() />
            {data.event_id.map(|id| view! { <input type="hidden" name="event_id" value=id /> })}
            {move || errors.get().form.map(|text| view! { <p class="error" role="alert">{text}</p> })}
            <label for="ev-title">"Title"</label>
            <input id="ev-title" name="title" required maxlength="200" value=data.title.clone() />
            {field("title")}
            <label for="ev-body">"Description (Markdown)"</label>
            <textarea id="ev-body" name="body_md" rows="6">{crate::html::textarea_text(data.body_md.clone())}</textarea>
            {field("body_md")}
            <fieldset class="when">
                <legend>"When"</legend>
                <div class="row">
                    <div>
                        <label for="ev-date">"Date"</label>
                        <input id="ev-date" name="date" type="date" required value=data.date.clone() />
                        {field("date")}
                    </div>
                    <div>
                        <label for="ev-start">"Starts"</label>
                        <input id="ev-start" name="start_time" type="time" required value=data.start_time.clone() />
                        {field("start_time")}
                    </div>
                    <div>
                        <label for="ev-end">"Ends"</label>
                        <input id="ev-end" name="end_time" type="time" required value=data.end_time.clone() />
                        {field("end_time")}
                    </div>
                </div>
                <label for="ev-tz">"Time zone"</label>
                <input id="ev-tz" name="time_zone" required value=data.time_zone.clone() />
                {field("time_zone")}
            </fieldset>
            {(!editing).then(|| view! {
                <fieldset class="repeat">
                    <legend>"Repeat"</legend>
                    <label for="ev-repeat">"How often"</label>
                    <select id="ev-repeat" name="repeat">
                        <option value="none">"Just once"</option>
                        <option value="weekly">"Every week"</option>
                        <option value="biweekly">"Every 2 weeks"</option>
                        <option value="monthly_day">"Monthly on this day of the month"</option>
                        <option value="monthly_weekday">"Monthly on this weekday (e.g. 2nd Tuesday)"</option>
                    </select>
                    {field("repeat")}
                    <label class="check"><input type="checkbox" name="repeat_last" value="true" />" …on the last such weekday of the month"</label>
                    <label for="ev-until">"Last date (optional)"</label>
                    <input id="ev-until" name="repeat_until" type="date" />
                    {field("repeat_until")}
                    <label for="ev-exceptions">"Skip these dates (optional, like 2026-12-29)"</label>
                    <input id="ev-exceptions" name="exceptions" placeholder="2026-12-29, 2027-01-26" />
                    {field("exceptions")}
                </fieldset>
            })}
            {data.in_series.then(|| view! {
                <fieldset class="scope">
                    <legend>{format!("Part of a series: {}", data.series_label.clone().unwrap_or_default())}</legend>
                    <label class="check"><input type="radio" name="scope" value="this" checked />" Change only this meetup"</label>
                    <label class="check"><input type="radio" name="scope" value="series" />" Change this and the later meetups of the series"</label>
                </fieldset>
            })}
            <fieldset class="where">
                <legend>"Where"</legend>
                <label for="ev-venue">"Venue"</label>
                <input id="ev-venue" name="venue" maxlength="200" value=data.venue.clone() />
                <label for="ev-address">"Address"</label>
                <input id="ev-address" name="address" maxlength="300" value=data.address.clone() />
                <label for="ev-online">"Online link (shown only to members with a seat)"</label>
                <input id="ev-online" name="online_url" type="url" placeholder="https://" value=data.online_url.clone() />
                {field("online_url")}
            </fieldset>
            <fieldset class="seats">
                <legend>"Seats and RSVPs"</legend>
                <div class="row">
                    <div>
                        <label for="ev-capacity">"Seats (empty: no limit)"</label>
                        <input id="ev-capacity" name="capacity" type="number" min="1" inputmode="numeric" value=data.capacity.clone() />
                        {field("capacity")}
                    </div>
                    <div>
                        <label for="ev-guests">"Guests per member"</label>
                        <input id="ev-guests" name="max_guests" type="number" min="0" max="10" inputmode="numeric" value=data.max_guests.clone() />
                        {field("max_guests")}
                    </div>
                </div>
                <div class="row">
                    <div>
                        <label for="ev-opens">"RSVPs open (optional)"</label>
                        <input id="ev-opens" name="rsvp_opens" type="datetime-local" value=data.rsvp_opens.clone() />
                        {field("rsvp_opens")}
                    </div>
                    <div>
                        <label for="ev-closes">"RSVPs close (optional)"</label>
                        <input id="ev-closes" name="rsvp_closes" type="datetime-local" value=data.rsvp_closes.clone() />
                        {field("rsvp_closes")}
                    </div>
                </div>
                <label for="ev-offer">"Offer window, hours before the start"</label>
                <input id="ev-offer" name="offer_window_hours" type="number" min="0" max="720" inputmode="numeric" value=data.offer_window_hours.clone() />
                <p class="hint">"Inside this window a freed seat is offered to the next on the waitlist, who must confirm it within 4 hours; earlier, they get it at once."</p>
                {field("offer_window_hours")}
            </fieldset>
            <div class="actions">
                <button type="submit">{if editing { "Save changes" } else { "Create the meetup" }}</button>
                <a href=back class="button secondary">"Back"</a>
            </div>
        </ActionForm>
    }
}
