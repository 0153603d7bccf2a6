//! Seats: RSVPs, the waitlist and promotion, kept consistent under concurrency.
//!
//! The rules:
//! - Every change to an event's RSVPs runs in a transaction that first locks the event
//!   row (`SELECT … FOR UPDATE`), so changes to one event happen one at a time and the
//!   seat count read is the seat count written: never overbooked.
//! - A "yes" is a party: the member and their guests, seated whole or waiting whole.
//!   Each yes takes an arrival number while the lock is held; the waitlist is in
//!   arrival order.
//! - Seats go to the earliest waiting party that fits. A newcomer is seated only when
//!   its party fits in the free seats (after every waiting party that fits was seated,
//!   so nobody who fits is passed over).
//! - When seats free, waiting parties are promoted in arrival order. Inside the event's
//!   offer window before the start, a promotion is an offer the member must confirm
//!   within `OFFER_HOLD` (or before the start); an offer that runs out passes the seat
//!   on.
//! - Every promotion, offer and confirmation enqueues its e-mail in the same transaction.

use crate::jobs::{self, Notice};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, Postgres, Transaction};

/// How long a seat offered inside the offer window is held.
pub const OFFER_HOLD: TimeDelta = TimeDelta::hours(4);

/// The answer a member gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    Maybe,
    No,
}

impl Answer {
    pub fn parse(text: &str) -> Option<Answer> {
        match text {
            "yes" => Some(Answer::Yes),
            "maybe" => Some(Answer::Maybe),
            "no" => Some(Answer::No),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::Maybe => "maybe",
            Answer::No => "no",
        }
    }
}

/// Why an RSVP was refused (shown to the member as is).
#[derive(Debug, thiserror::Error)]
pub enum RsvpError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn refuse<T>(message: impl Into<String>) -> Result<T, RsvpError> {
    Err(RsvpError::Refused(message.into()))
}

/// The event as RSVPs see it, read under its row lock.
#[derive(sqlx::FromRow, Debug)]
pub struct LockedEvent {
    pub id: i64,
    pub capacity: Option<i32>,
    pub max_guests: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
    pub rsvp_opens_at: Option<DateTime<Utc>>,
    pub rsvp_closes_at: Option<DateTime<Utc>>,
    pub offer_window_hours: i32,
}

/// Locks the event row for the rest of the transaction.
pub async fn lock_event(
    conn: &mut PgConnection,
    event_id: i64,
) -> Result<Option<LockedEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, capacity, max_guests, starts_at, ends_at, status = 'cancelled' AS cancelled,
                rsvp_opens_at, rsvp_closes_at, offer_window_hours
           FROM events WHERE id = $1 FOR UPDATE",
    )
    .bind(event_id)
    .fetch_optional(conn)
    .await
}

#[derive(sqlx::FromRow, Debug, Clone)]
struct Party {
    user_id: i64,
    guests: i32,
    seat: String,
}

/// Seats held (going or offered), not counting `except`'s party.
async fn seats_held(
    conn: &mut PgConnection,
    event_id: i64,
    except: Option<i64>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(1 + guests), 0)::bigint FROM rsvps
          WHERE event_id = $1 AND seat IN ('going', 'offered') AND user_id IS DISTINCT FROM $2",
    )
    .bind(event_id)
    .bind(except)
    .fetch_one(conn)
    .await
}

/// A member's place in the waitlist (1-based), if waiting.
pub async fn waitlist_position(
    conn: &mut PgConnection,
    event_id: i64,
    user_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT position FROM (
            SELECT user_id, row_number() OVER (ORDER BY arrival) AS position
              FROM rsvps WHERE event_id = $1 AND seat = 'waitlisted') queue
          WHERE user_id = $2",
    )
    .bind(event_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// What an RSVP did, for the page to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Going,
    Waitlisted { position: i64 },
    Answered(Answer),
}

/// Records a member's answer. The caller has checked that they may RSVP; this checks
/// the event's own rules (cancelled, ended, RSVP window, guests, seats).
pub async fn set_rsvp(
    tx: &mut Transaction<'_, Postgres>,
    event_id: i64,
    user_id: i64,
    answer: Answer,
    guests: i32,
    now: DateTime<Utc>,
) -> Result<Outcome, RsvpError> {
    let Some(event) = lock_event(tx, event_id).await? else {
        return refuse("No such meetup.");
    };
    if event.cancelled {
        return refuse("This meetup was cancelled.");
    }
    if event.ends_at <= now {
        return refuse("This meetup is over.");
    }
    if let Some(opens) = event.rsvp_opens_at.filter(|opens| *opens > now) {
        return refuse(format!(
            "RSVPs open at {} UTC.",
            opens.format("%Y-%m-%d %H:%M")
        ));
    }
    if event.rsvp_closes_at.is_some_and(|closes| closes <= now) {
        return refuse("RSVPs for this meetup are closed.");
    }
    let guests = if answer == Answer::Yes { guests } else { 0 };
    if guests < 0 {
        return refuse("Guests cannot be fewer than none.");
    }
    if guests > event.max_guests {
        return refuse(match event.max_guests {
            0 => "This meetup does not take guests.".to_string(),
            1 => "You can bring one guest at most.".to_string(),
            n => format!("You can bring {n} guests at most."),
        });
    }
    // Offers that ran out free their seats first, so that whoever waits gets them
    // before this answer is weighed.
    settle_in(tx, &event, now).await?;
    promote(tx, &event, now).await?;

    let current: Option<Party> = sqlx::query_as(
        "SELECT user_id, guests, coalesce(seat::text, '') AS seat
           FROM rsvps WHERE event_id = $1 AND user_id = $2",
    )
    .bind(event_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    let held_before = current
        .as_ref()
        .is_some_and(|party| party.seat == "going" || party.seat == "offered");

    let outcome = match answer {
        Answer::Maybe | Answer::No => {
            sqlx::query(
                "INSERT INTO rsvps (event_id, user_id, answer, guests) VALUES ($1, $2, $3::rsvp_answer, 0)
                 ON CONFLICT (event_id, user_id) DO UPDATE
                    SET answer = EXCLUDED.answer, guests = 0, seat = NULL, arrival = NULL,
                        offer_expires_at = NULL, updated_at = now()",
            )
            .bind(event_id)
            .bind(user_id)
            .bind(answer.as_str())
            .execute(&mut **tx)
            .await?;
            Outcome::Answered(answer)
        }
        Answer::Yes => {
            let others = seats_held(tx, event_id, Some(user_id)).await?;
            let free = event.capacity.map(|capacity| i64::from(capacity) - others);
            let party = 1 + i64::from(guests);
            let fits = free.is_none_or(|free| party <= free);
            match current.as_ref().map(|party| party.seat.as_str()) {
                // Already holding seats (or offered them: answering yes confirms).
                Some("going") | Some("offered") => {
                    if !fits {
                        let most = free.unwrap_or(0) - 1;
                        return refuse(if most <= 0 {
                            "No more seats are free, so you cannot bring guests now.".to_string()
                        } else {
                            format!(
                                "Only {} seats are free, so you can bring {most} guests at most.",
                                most + 1
                            )
                        });
                    }
                    sqlx::query(
                        "UPDATE rsvps SET guests = $3, seat = 'going', offer_expires_at = NULL, updated_at = now()
                          WHERE event_id = $1 AND user_id = $2",
                    )
                    .bind(event_id)
                    .bind(user_id)
                    .bind(guests)
                    .execute(&mut **tx)
                    .await?;
                    Outcome::Going
                }
                // Waiting already: keep the place in line, with the new party size.
                Some("waitlisted") => {
                    sqlx::query("UPDATE rsvps SET guests = $3, updated_at = now() WHERE event_id = $1 AND user_id = $2")
                        .bind(event_id)
                        .bind(user_id)
                        .bind(guests)
                        .execute(&mut **tx)
                        .await?;
                    Outcome::Waitlisted { position: 0 }
                }
                _ => {
                    let seat = if fits { "going" } else { "waitlisted" };
                    sqlx::query(
                        "INSERT INTO rsvps (event_id, user_id, answer, guests, seat, arrival)
                         VALUES ($1, $2, 'yes', $3, $4::seat_state, nextval('rsvp_arrival'))
                         ON CONFLICT (event_id, user_id) DO UPDATE
                            SET answer = 'yes', guests = EXCLUDED.guests, seat = EXCLUDED.seat,
                                arrival = EXCLUDED.arrival, offer_expires_at = NULL, updated_at = now()",
                    )
                    .bind(event_id)
                    .bind(user_id)
                    .bind(guests)
                    .bind(seat)
                    .execute(&mut **tx)
                    .await?;
                    if fits {
                        Outcome::Going
                    } else {
                        Outcome::Waitlisted { position: 0 }
                    }
                }
            }
        }
    };

    // Seats may have freed (a no, fewer guests): pass them on.
    if held_before || answer == Answer::Yes {
        promote(tx, &event, now).await?;
    }
    let outcome = match outcome {
        Outcome::Waitlisted { .. } => match waitlist_position(tx, event_id, user_id).await? {
            Some(position) => Outcome::Waitlisted { position },
            // Promoted at once by the pass above (fewer guests made it fit).
            None => Outcome::Going,
        },
        other => other,
    };
    let notice = match &outcome {
        Outcome::Going => Some(Notice::RsvpConfirmed {
            answer: "yes".into(),
            guests,
        }),
        Outcome::Waitlisted { position } => Some(Notice::Waitlisted {
            position: *position,
        }),
        // Answering "no" or "maybe" sends nothing: fewer e-mails nobody needs.
        Outcome::Answered(_) => None,
    };
    // Changing only the number of guests of a seat already held is not news either.
    let repeat_yes = matches!(outcome, Outcome::Going)
        && current.as_ref().is_some_and(|party| party.seat == "going");
    let repeat_wait = matches!(outcome, Outcome::Waitlisted { .. })
        && current
            .as_ref()
            .is_some_and(|party| party.seat == "waitlisted");
    if let Some(notice) = notice.filter(|_| !repeat_yes && !repeat_wait) {
        jobs::notify(tx, event_id, user_id, notice).await?;
    }
    // Whoever holds a seat gets the reminder, whatever made the event (the form, a
    // series, the demo seed): scheduling it again only confirms its time.
    if outcome == Outcome::Going {
        jobs::schedule_reminder(tx, event_id, event.starts_at).await?;
    }
    Ok(outcome)
}

/// Expires stale offers and promotes whoever fits. Called (with the event locked) by
/// every RSVP change, by event edits that change the capacity, and by the
/// `SettleSeats` job when an offer runs out.
pub async fn settle(
    tx: &mut Transaction<'_, Postgres>,
    event_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if let Some(event) = lock_event(tx, event_id).await? {
        settle_in(tx, &event, now).await?;
        promote(tx, &event, now).await?;
    }
    Ok(())
}

/// Offers that ran out become a "no" (the member can answer again and join the back of the line).
async fn settle_in(
    conn: &mut PgConnection,
    event: &LockedEvent,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rsvps SET answer = 'no', guests = 0, seat = NULL, arrival = NULL, offer_expires_at = NULL, updated_at = now()
          WHERE event_id = $1 AND seat = 'offered' AND offer_expires_at <= $2",
    )
    .bind(event.id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Seats waiting parties that fit, earliest first; inside the offer window the seat is
/// offered instead. Enqueues each member's e-mail.
async fn promote(
    tx: &mut Transaction<'_, Postgres>,
    event: &LockedEvent,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let Some(capacity) = event.capacity else {
        // No limit: nobody waits.
        let waiting: Vec<i64> = sqlx::query_scalar(
            "UPDATE rsvps SET seat = 'going', updated_at = now() WHERE event_id = $1 AND seat = 'waitlisted' RETURNING user_id",
        )
        .bind(event.id)
        .fetch_all(&mut **tx)
        .await?;
        for user_id in waiting {
            jobs::notify(tx, event.id, user_id, Notice::Promoted).await?;
        }
        return Ok(());
    };
    if event.cancelled || event.ends_at <= now {
        return Ok(());
    }
    let mut free = i64::from(capacity) - seats_held(tx, event.id, None).await?;
    if free <= 0 {
        return Ok(());
    }
    let waiting: Vec<Party> = sqlx::query_as(
        "SELECT user_id, guests, seat::text AS seat FROM rsvps
          WHERE event_id = $1 AND seat = 'waitlisted' ORDER BY arrival",
    )
    .bind(event.id)
    .fetch_all(&mut **tx)
    .await?;
    let offering = event.starts_at - TimeDelta::hours(event.offer_window_hours.into()) <= now;
    for party in waiting {
        let size = 1 + i64::from(party.guests);
        if size > free {
            continue;
        }
        free -= size;
        if offering {
            let expires_at = (now + OFFER_HOLD).min(event.starts_at);
            sqlx::query(
                "UPDATE rsvps SET seat = 'offered', offer_expires_at = $3, updated_at = now()
                  WHERE event_id = $1 AND user_id = $2",
            )
            .bind(event.id)
            .bind(party.user_id)
            .bind(expires_at)
            .execute(&mut **tx)
            .await?;
            jobs::notify(tx, event.id, party.user_id, Notice::Offered { expires_at }).await?;
            jobs::schedule_settle(tx, event.id, expires_at).await?;
        } else {
            sqlx::query("UPDATE rsvps SET seat = 'going', updated_at = now() WHERE event_id = $1 AND user_id = $2")
                .bind(event.id)
                .bind(party.user_id)
                .execute(&mut **tx)
                .await?;
            jobs::notify(tx, event.id, party.user_id, Notice::Promoted).await?;
            jobs::schedule_reminder(tx, event.id, event.starts_at).await?;
        }
        if free == 0 {
            break;
        }
    }
    Ok(())
}
