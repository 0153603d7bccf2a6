//! The page of one meetup: when and where, the RSVP panel with the waitlist, who is
//! coming, the agenda of talks, comments, and the organizer's tools.

use super::server_fns::*;
use super::types::*;
use crate::errors::message;
use crate::insights::talk::{AttachInsight, TalkInsightControls, WithdrawInsight};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

fn error_line(error: Option<ServerFnError>) -> Option<impl IntoView> {
    error.map(|error| view! { <p class="error" role="alert">{message(&error)}</p> })
}

#[component]
pub fn EventPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let rsvp = ServerAction::<Rsvp>::new();
    let cancel = ServerAction::<CancelEvent>::new();
    let comment = ServerAction::<PostComment>::new();
    let moderate = ServerAction::<ModerateComment>::new();
    let propose = ServerAction::<ProposeTalk>::new();
    let decide = ServerAction::<DecideTalk>::new();
    let attach = ServerAction::<AttachInsight>::new();
    let withdraw = ServerAction::<WithdrawInsight>::new();
    let detail = crate::data::load(
        move || {
            (
                id(),
                rsvp.version().get(),
                cancel.version().get(),
                comment.version().get(),
                moderate.version().get(),
                propose.version().get() + decide.version().get(),
                attach.version().get() + withdraw.version().get(),
            )
        },
        |(id, ..)| get_event(id),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let actions = EventActions {
        rsvp,
        cancel,
        comment,
        moderate,
        propose,
        decide,
        attach,
        withdraw,
    };

    view! {
        <div class="event-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="loading">"Loading the meetup…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(event) => view! { <EventView event actions /> }.into_any(),
                        Err(error) => view! {
                            <Title formatter=crate::html::page_title text="Meetup" />
                            <p class="error" role="alert">{message(&error)}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[derive(Clone, Copy)]
struct EventActions {
    rsvp: ServerAction<Rsvp>,
    cancel: ServerAction<CancelEvent>,
    comment: ServerAction<PostComment>,
    moderate: ServerAction<ModerateComment>,
    propose: ServerAction<ProposeTalk>,
    decide: ServerAction<DecideTalk>,
    attach: ServerAction<AttachInsight>,
    withdraw: ServerAction<WithdrawInsight>,
}

#[component]
fn EventView(event: EventDetail, actions: EventActions) -> impl IntoView {
    let id = event.id;
    let seats = match event.capacity {
        Some(capacity) => format!("{} of {capacity} seats taken", event.seats_taken),
        None => format!("{} going", event.seats_taken),
    };
    let waiting =
        (event.waitlist_count > 0).then(|| format!(" · {} on the waitlist", event.waitlist_count));
    let description = if event.summary.is_empty() {
        format!(
            "{} · {}, {}",
            event.group_name, event.date_label, event.time_label
        )
    } else {
        event.summary.clone()
    };
    view! {
        <Title formatter=crate::html::page_title text=event.title.clone() />
        <Meta property="og:title" content=event.title.clone() />
        <Meta property="og:type" content="website" />
        <Meta property="og:description" content=description.clone() />
        <Meta name="description" content=description />
        <Meta property="og:site_name" content="Cohort" />
        <article class=if event.cancelled { "event cancelled" } else { "event" } data-event-id=id>
            <p class="crumbs"><a href=format!("/groups/{}", event.group_slug)>{event.group_name.clone()}</a></p>
            <h1>{event.title.clone()}</h1>
            {event.cancelled.then(|| view! {
                <p class="banner cancelled" role="status">
                    <strong>"Cancelled."</strong>" "{event.cancel_reason.clone()}
                </p>
            })}
            <dl class="facts">
                <dt>"When"</dt>
                <dd>
                    <time datetime=event.starts_at.to_rfc3339()>{event.date_label.clone()}", "{event.time_label.clone()}</time>
                    <span class="muted">" (" {event.time_zone.clone()} ")"</span>
                    {event.viewer_time.clone().map(|time| view! { <br /><span class="viewer-time">{time}</span> })}
                    {event.series.clone().map(|series| view! { <br /><span class="muted series">{series}</span> })}
                </dd>
                {(!event.venue.is_empty() || !event.address.is_empty()).then(|| view! {
                    <dt>"Where"</dt>
                    <dd>
                        {event.venue.clone()}
                        {(!event.address.is_empty()).then(|| view! { <br /><span class="address">{event.address.clone()}</span> })}
                        {event.map_url.clone().map(|url| view! {
                            " "<a href=url rel="noopener noreferrer" target="_blank">"Map"</a>
                        })}
                    </dd>
                })}
                {event.has_online_link.then(|| view! {
                    <dt>"Online"</dt>
                    <dd>{match event.online_url.clone() {
                        Some(url) => view! { <a class="online-link" href=url.clone() rel="noopener noreferrer">{url.clone()}</a> }.into_any(),
                        None => view! { <span class="muted">"The link is shown to members with a seat."</span> }.into_any(),
                    }}</dd>
                })}
                <dt>"Seats"</dt>
                <dd class="seats">{seats}{waiting}</dd>
                {event.attendance.map(|count| view! {
                    <dt>"Attendance"</dt>
                    <dd class="attendance">{if count == 0 { "Not recorded".to_string() } else { format!("{count} attended") }}</dd>
                })}
            </dl>
            <p class="calendar-links">
                <a href=format!("/events/{id}/event.ics") download=format!("meetup-{id}.ics")>"Add to calendar (.ics)"</a>
                {(event.is_member && event.started && !event.cancelled).then(|| view! {
                    " · "<a href=format!("/events/{id}/report") rel="external">"Meetup report"</a>
                    " · "<a href=format!("/events/{id}/report.html") download=format!("meetup-report-{id}.html")>"Download it (HTML)"</a>
                })}
            </p>
            <RsvpPanel event=event.clone() action=actions.rsvp />
            <section class="description" inner_html=event.body_html.clone()></section>
            {event.can_manage.then(|| view! { <OrganizerTools event=event.clone() cancel=actions.cancel /> })}
            <Agenda event=event.clone() actions />
            {event.figures.clone().map(|figures| view! { <div class="drawn" inner_html=figures.rendered_html()></div> })}
            {event.attendees.clone().map(|people| view! { <AttendeeList people /> })}
            {event.comments.clone().map(|comments| view! {
                <Comments event_id=id comments can_moderate=event.can_moderate post=actions.comment moderate=actions.moderate />
            })}
        </article>
    }
}

#[component]
fn RsvpPanel(event: EventDetail, action: ServerAction<Rsvp>) -> impl IntoView {
    let id = event.id;
    let result = move || match action.value().get() {
        Some(Ok(text)) => Some(view! { <p class="notice" role="status">{text}</p> }.into_any()),
        Some(Err(error)) => {
            Some(view! { <p class="error" role="alert">{message(&error)}</p> }.into_any())
        }
        None => None,
    };
    let closed = match &event.gate {
        RsvpGate::Open => None,
        RsvpGate::NotYet(when) => Some(format!("RSVPs open {when}.")),
        RsvpGate::Closed => Some("RSVPs are closed.".to_string()),
        RsvpGate::Cancelled => Some("This meetup was cancelled.".to_string()),
        RsvpGate::Over => Some("This meetup is over.".to_string()),
    };
    let status = event.my_rsvp.clone().map(|mine| {
        let guests = match mine.guests {
            0 => String::new(),
            1 => " with 1 guest".to_string(),
            n => format!(" with {n} guests"),
        };
        let text = match (mine.seat.as_deref(), mine.answer.as_str()) {
            (Some("going"), _) => format!("You're going{guests}."),
            (Some("waitlisted"), _) => format!(
                "You're number {} on the waitlist{guests}. If a seat frees, it's yours and we'll e-mail you.",
                mine.position.unwrap_or(0)
            ),
            (Some("offered"), _) => format!(
                "A seat opened up for you{guests}! Confirm by {} to keep it.",
                mine.offer_expires.clone().unwrap_or_default()
            ),
            (_, "maybe") => "You answered maybe.".to_string(),
            _ => "You're not going.".to_string(),
        };
        view! { <p class="my-rsvp" data-seat=mine.seat.clone().unwrap_or_else(|| mine.answer.clone())>{text}</p> }
    });
    let offered = event
        .my_rsvp
        .as_ref()
        .is_some_and(|mine| mine.seat.as_deref() == Some("offered"));
    let current_guests = event.my_rsvp.as_ref().map_or(0, |mine| mine.guests);
    let answer_form = move |answer: &'static str, label: &'static str, class: &'static str| {
        let guests = (answer == "yes").then_some(current_guests);
        view! {
            <ActionForm action attr:class="inline">
                <input type="hidden" name="event_id" value=id />
                <input type="hidden" name="answer" value=answer />
                {guests.filter(|_| event.max_guests == 0 || offered).map(|guests| view! { <input type="hidden" name="guests" value=guests /> })}
                <button type="submit" class=class>{label}</button>
            </ActionForm>
        }
    };
    let body = if let Some(closed) = closed {
        view! { <p class="muted">{closed}</p> }.into_any()
    } else if !event.logged_in {
        view! {
            <p>
                <a href=format!("/login?next=/events/{id}")>"Log in"</a>" or "
                <a href=format!("/signup?next=/events/{id}")>"sign up"</a>" to RSVP."
            </p>
        }
        .into_any()
    } else if !event.is_member {
        view! {
            <p>"Join " <a href=format!("/groups/{}", event.group_slug)>{event.group_name.clone()}</a> " to RSVP."</p>
        }
        .into_any()
    } else if offered {
        view! {
            <div class="rsvp-buttons">
                {answer_form("yes", "Confirm my seat", "")}
                {answer_form("no", "I can't come", "secondary")}
            </div>
        }
        .into_any()
    } else {
        let max_guests = event.max_guests;
        view! {
            <div class="rsvp-buttons">
                {if max_guests > 0 {
                    view! {
                        <ActionForm action attr:class="inline guests-form">
                            <input type="hidden" name="event_id" value=id />
                            <input type="hidden" name="answer" value="yes" />
                            <label for="rsvp-guests">"Guests"</label>
                            <select id="rsvp-guests" name="guests">
                                {(0..=max_guests).map(|n| view! { <option value=n selected=n == current_guests>{n}</option> }).collect_view()}
                            </select>
                            <button type="submit">"Yes, I'll come"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    answer_form("yes", "Yes, I'll come", "").into_any()
                }}
                {answer_form("maybe", "Maybe", "secondary")}
                {answer_form("no", "No", "secondary")}
            </div>
        }
        .into_any()
    };
    view! {
        <section class="rsvp" aria-labelledby="rsvp-heading">
            <h2 id="rsvp-heading">"Are you coming?"</h2>
            {status}
            {body}
            {result}
        </section>
    }
}

#[component]
fn OrganizerTools(event: EventDetail, cancel: ServerAction<CancelEvent>) -> impl IntoView {
    let id = event.id;
    view! {
        <section class="organizer-tools" aria-label="Organizer tools">
            <a class="button secondary small" href=format!("/events/{id}/edit")>"Edit"</a>
            <a class="button secondary small" href=format!("/groups/{}/events/new?from={id}", event.group_slug)>"Duplicate"</a>
            <a class="button secondary small" href=format!("/events/{id}/manage")>"Organizer view & check-in"</a>
            {(!event.cancelled && !event.past).then(|| view! {
                <details class="cancel-event">
                    <summary>"Cancel this meetup"</summary>
                    <ActionForm action=cancel attr:class="form">
                        <input type="hidden" name="event_id" value=id />
                        <label for="cancel-reason">"Reason (sent to everyone who RSVP'd)"</label>
                        <textarea id="cancel-reason" name="reason" rows="2" maxlength="1000"></textarea>
                        <button type="submit" class="danger">"Cancel the meetup"</button>
                    </ActionForm>
                </details>
            })}
            {move || error_line(cancel.value().get().and_then(Result::err))}
        </section>
    }
}

#[component]
fn AttendeeList(people: Vec<Attendee>) -> impl IntoView {
    let group = |status: &str| {
        people
            .iter()
            .filter(|p| p.status == status)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (going, waiting, maybe) = (
        [group("going"), group("offered")].concat(),
        group("waitlisted"),
        group("maybe"),
    );
    let name = |person: &Attendee| match person.guests {
        0 => person.display_name.clone(),
        n => format!("{} +{n}", person.display_name),
    };
    view! {
        <section class="attendees" aria-labelledby="attendees-heading">
            <h2 id="attendees-heading">"Who's coming"</h2>
            <h3>"Going (" {going.len()} ")"</h3>
            {if going.is_empty() { view! { <p class="muted">"Nobody yet."</p> }.into_any() } else {
                view! { <ul class="people going">{going.iter().map(|p| view! { <li>{name(p)}</li> }).collect_view()}</ul> }.into_any()
            }}
            {(!waiting.is_empty()).then(|| view! {
                <h3>"Waitlist"</h3>
                <ol class="people waitlist">{waiting.iter().map(|p| view! { <li>{name(p)}</li> }).collect_view()}</ol>
            })}
            {(!maybe.is_empty()).then(|| view! {
                <h3>"Maybe"</h3>
                <ul class="people maybe">{maybe.iter().map(|p| view! { <li>{p.display_name.clone()}</li> }).collect_view()}</ul>
            })}
        </section>
    }
}

#[component]
fn Agenda(event: EventDetail, actions: EventActions) -> impl IntoView {
    let (propose, decide) = (actions.propose, actions.decide);
    let choices = event.my_insights.clone();
    // A talk's frozen insight, and its speaker's controls.
    let insight = move |talk: &TalkView| {
        let shown = talk.insight.clone().map(|insight| {
            view! { <div class="drawn" inner_html=insight.rendered_html()></div> }
        });
        let controls = (talk.mine && !event.cancelled).then(|| {
            view! {
                <TalkInsightControls talk_id=talk.id attached=talk.insight.is_some()
                    choices=choices.clone() attach=actions.attach withdraw=actions.withdraw />
            }
        });
        view! { {shown}{controls} }.into_any()
    };
    let accepted: Vec<TalkView> = event
        .talks
        .iter()
        .filter(|t| t.status == "accepted")
        .cloned()
        .collect();
    let others: Vec<TalkView> = event
        .talks
        .iter()
        .filter(|t| t.status != "accepted")
        .cloned()
        .collect();
    let total: i32 = accepted.iter().map(|t| t.minutes).sum();
    let can_manage = event.can_manage;
    let open = event.is_member && !event.past && !event.cancelled;
    let errors = Memo::new(move |_| match propose.value().get() {
        Some(Ok(errors)) => errors,
        Some(Err(error)) => crate::accounts::FormErrors::form(message(&error)),
        None => Default::default(),
    });
    let field = move |name: &'static str| {
        move || {
            errors
                .get()
                .field(name)
                .map(|text| view! { <p class="field-error" role="alert">{text}</p> })
        }
    };
    view! {
        <section class="agenda" aria-labelledby="agenda-heading">
            <h2 id="agenda-heading">"Show & tell"</h2>
            {if accepted.is_empty() {
                view! { <p class="muted">"No talks on the agenda yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="talks">
                        {accepted.into_iter().map(|talk| view! {
                            <li data-talk=talk.id>
                                <strong>{talk.title.clone()}</strong>" · "{talk.speaker.clone()}" · "{talk.minutes}" min"
                                {(!talk.abstract_text.is_empty()).then(|| view! { <p class="abstract">{talk.abstract_text.clone()}</p> })}
                                {insight(&talk)}
                            </li>
                        }).collect_view()}
                    </ol>
                    <p class="muted">{total}" minutes of talks"</p>
                }.into_any()
            }}
            {(!others.is_empty()).then(|| view! {
                <h3>{if can_manage { "Proposals" } else { "Your proposals" }}</h3>
                <ul class="proposals">
                    {others.into_iter().map(|talk| {
                        let pending = talk.status == "proposed";
                        view! {
                            <li data-talk-status=talk.status.clone() data-talk=talk.id>
                                <strong>{talk.title.clone()}</strong>" · "{talk.speaker.clone()}" · "{talk.minutes}" min "
                                <span class="badge">{talk.status.clone()}</span>
                                {insight(&talk)}
                                {(can_manage && pending).then(|| view! {
                                    <ActionForm action=decide attr:class="inline">
                                        <input type="hidden" name="talk_id" value=talk.id />
                                        <input type="hidden" name="decision" value="accept" />
                                        <button type="submit" class="small">"Accept"</button>
                                    </ActionForm>
                                    <ActionForm action=decide attr:class="inline">
                                        <input type="hidden" name="talk_id" value=talk.id />
                                        <input type="hidden" name="decision" value="decline" />
                                        <button type="submit" class="small secondary">"Decline"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            {open.then(|| view! {
                <details class="propose-talk">
                    <summary>"Propose a talk"</summary>
                    <ActionForm action=propose attr:class="form">
                        <input type="hidden" name="event_id" value=event.id />
                        <label for="talk-title">"Title"</label>
                        <input id="talk-title" name="title" required maxlength="200" />
                        {field("title")}
                        <label for="talk-abstract">"What you'll show (optional)"</label>
                        <textarea id="talk-abstract" name="abstract_text" rows="3" maxlength="4000"></textarea>
                        {field("abstract_text")}
                        <label for="talk-minutes">"Minutes"</label>
                        <input id="talk-minutes" name="minutes" type="number" min="1" max="120" value="10" inputmode="numeric" />
                        {field("minutes")}
                        <button type="submit">"Propose"</button>
                        {move || errors.get().form.map(|text| view! { <p class="error" role="alert">{text}</p> })}
                        {move || matches!(propose.value().get(), Some(Ok(ref e)) if e.is_empty()).then(|| view! { <p class="notice" role="status">"Proposed. The organizers will decide."</p> })}
                    </ActionForm>
                </details>
            })}
            {move || error_line(decide.value().get().and_then(Result::err))}
            {move || error_line(actions.attach.value().get().and_then(Result::err))}
            {move || error_line(actions.withdraw.value().get().and_then(Result::err))}
        </section>
    }
}

#[component]
fn Comments(
    event_id: i64,
    comments: Vec<CommentView>,
    can_moderate: bool,
    post: ServerAction<PostComment>,
    moderate: ServerAction<ModerateComment>,
) -> impl IntoView {
    view! {
        <section class="comments" aria-labelledby="comments-heading">
            <h2 id="comments-heading">"Comments"</h2>
            {if comments.is_empty() { Some(view! { <p class="muted">"No comments yet."</p> }) } else { None }}
            <ul class="comment-list">
                {comments.into_iter().map(|comment| {
                    let button = |action: &'static str, label: &'static str| view! {
                        <ActionForm action=moderate attr:class="inline">
                            <input type="hidden" name="comment_id" value=comment.id />
                            <input type="hidden" name="action" value=action />
                            <button type="submit" class="link small">{label}</button>
                        </ActionForm>
                    };
                    view! {
                        <li class=if comment.hidden { "comment hidden" } else { "comment" }>
                            <p class="comment-meta"><strong>{comment.author.clone()}</strong>" · "<span class="muted">{comment.posted.clone()}</span></p>
                            {if comment.hidden && !can_moderate {
                                view! { <p class="muted">"Removed by an organizer."</p> }.into_any()
                            } else {
                                view! { <p class="comment-body">{comment.body.clone()}</p> }.into_any()
                            }}
                            {(can_moderate && !comment.hidden).then(|| button("hide", "Hide"))}
                            {(can_moderate && comment.hidden).then(|| button("show", "Show again"))}
                            {comment.mine.then(|| button("delete", "Delete"))}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <ActionForm action=post attr:class="form comment-form">
                <input type="hidden" name="event_id" value=event_id />
                <label for="comment-body">"Add a comment"</label>
                <textarea id="comment-body" name="body" rows="2" maxlength="4000" required></textarea>
                <button type="submit">"Post"</button>
            </ActionForm>
            {move || error_line(post.value().get().and_then(Result::err))}
            {move || error_line(moderate.value().get().and_then(Result::err))}
        </section>
    }
}
