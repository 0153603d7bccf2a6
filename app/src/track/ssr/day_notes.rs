//! A member's notes on days ("started magnesium", "flight to Tokyo"): one per day, shown
//! on the charts of every one of their metrics, read by no one else.

use super::*;
use crate::errors::{invalid, AppError};

/// The longest note on a day, in characters (the table's check says the same).
pub const DAY_NOTE_MAX: usize = 140;

/// Notes `day` with `note`, replacing the day's note if it has one; an empty note
/// removes it. A day more than a year away, a note too long or with control characters
/// is a 400 that changes nothing.
pub async fn annotate_day(day: String, note: String) -> Result<(), AppError> {
    let (user, pool) = member().await?;
    let Some(day) = parse_day(&day, "noted")? else {
        return Err(invalid("Pick the day the note is for."));
    };
    let today = user
        .time_zone
        .parse::<chrono_tz::Tz>()
        .map(|tz| Utc::now().with_timezone(&tz).date_naive())
        .unwrap_or_else(|_| Utc::now().date_naive());
    if (day - today).num_days().abs() > 366 {
        return Err(invalid(
            "A note can go on a day within a year of today, before or after.",
        ));
    }
    let note = note.trim();
    if note.chars().any(char::is_control) {
        return Err(invalid("A day's note is one line of text."));
    }
    let length = note.chars().count();
    if length > DAY_NOTE_MAX {
        return Err(invalid(format!(
            "A day's note is at most {DAY_NOTE_MAX} characters; this one has {length}."
        )));
    }
    if note.is_empty() {
        sqlx::query("DELETE FROM day_notes WHERE user_id = $1 AND day = $2")
            .bind(user.id)
            .bind(day)
            .execute(&pool)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO day_notes (user_id, day, note) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, day) DO UPDATE SET note = EXCLUDED.note, updated_at = now()",
        )
        .bind(user.id)
        .bind(day)
        .bind(note)
        .execute(&pool)
        .await?;
    }
    Ok(())
}
