//! Answering an event: yes, maybe or no (the seats themselves are in `events::seats`).

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::errors::{internal, invalid, AppError};
use crate::events::seats::{self, Answer, Outcome, RsvpError};
use crate::policy::Action;
use chrono::Utc;

pub async fn rsvp(event_id: i64, answer: String, guests: i32) -> Result<String, AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    access(&pool, event_id, Some(&user), Action::Rsvp).await?;
    let answer = Answer::parse(&answer).ok_or_else(|| invalid("Answer yes, maybe or no."))?;
    let mut tx = pool.begin().await?;
    let outcome = seats::set_rsvp(&mut tx, event_id, user.id, answer, guests, Utc::now()).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(RsvpError::Refused(message)) => return Err(invalid(message)),
        Err(RsvpError::Database(error)) => return Err(internal(error)),
    };
    tx.commit().await?;
    Ok(match outcome {
        Outcome::Going => "You're going. A confirmation with a calendar file is on its way.".into(),
        Outcome::Waitlisted { position } => {
            format!("The meetup is full: you are number {position} on the waitlist. We'll e-mail you if a seat frees.")
        }
        Outcome::Answered(Answer::Maybe) => "Marked as maybe.".into(),
        Outcome::Answered(_) => "Marked as not going.".into(),
    })
}
