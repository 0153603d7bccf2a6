//! Show-and-tell talks: proposing one, and organizers accepting or declining.

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::accounts::FormErrors;
use crate::errors::{invalid, not_found, AppError};
use crate::policy::Action;
use chrono::Utc;

pub async fn propose_talk(
    event_id: i64,
    title: String,
    abstract_text: String,
    minutes: String,
) -> Result<FormErrors, AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::TakePart).await?;
    if event.cancelled || event.ends_at <= Utc::now() {
        return Ok(FormErrors::form(
            "Talks can be proposed for meetups still to come.",
        ));
    }
    let mut errors = FormErrors::default();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        errors.fields.push((
            "title".into(),
            "Give the talk a title of up to 200 characters.".into(),
        ));
    }
    if abstract_text.chars().count() > 4000 {
        errors.fields.push((
            "abstract_text".into(),
            "Keep the abstract under 4,000 characters.".into(),
        ));
    }
    let minutes = match minutes.trim().parse::<i32>() {
        Ok(minutes) if (1..=120).contains(&minutes) => minutes,
        _ => {
            errors.fields.push((
                "minutes".into(),
                "Say how long it takes: 1 to 120 minutes.".into(),
            ));
            0
        }
    };
    if !errors.is_empty() {
        return Ok(errors);
    }
    sqlx::query("INSERT INTO talks (event_id, user_id, title, abstract, minutes) VALUES ($1, $2, $3, $4, $5)")
        .bind(event_id)
        .bind(user.id)
        .bind(title)
        .bind(abstract_text.trim())
        .bind(minutes)
        .execute(&pool)
        .await
        ?;
    Ok(FormErrors::default())
}

pub async fn decide_talk(talk_id: i64, decision: String) -> Result<(), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let event_id: i64 = sqlx::query_scalar("SELECT event_id FROM talks WHERE id = $1")
        .bind(talk_id)
        .fetch_optional(&pool)
        .await?
        .ok_or_else(|| not_found("talk"))?;
    access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    let status = match decision.as_str() {
        "accept" => "accepted",
        "decline" => "declined",
        _ => return Err(invalid("Accept or decline the talk.")),
    };
    sqlx::query("UPDATE talks SET status = $2::talk_status, decided_at = now() WHERE id = $1")
        .bind(talk_id)
        .bind(status)
        .execute(&pool)
        .await?;
    Ok(())
}
