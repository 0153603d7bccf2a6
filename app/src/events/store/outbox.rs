//! The e-mail outbox that instance admins read at /admin/outbox.

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::errors::AppError;
use crate::events::types::OutboxEmail;
use crate::policy::{require, Action, Actor};
use chrono::{DateTime, Utc};

pub async fn outbox() -> Result<Vec<OutboxEmail>, AppError> {
    let user = require_user().await?;
    require(
        Actor {
            user: Some(&user),
            role: None,
        },
        Action::AdministerInstance,
    )?;
    let pool = pool()?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, String, String, String, DateTime<Utc>, String, bool)> = sqlx::query_as(
        "SELECT id, to_name, to_address, subject, kind, status::text, created_at, text_body, ics IS NOT NULL
           FROM emails ORDER BY created_at DESC, id DESC LIMIT 200",
    )
    .fetch_all(&pool)
    .await
    ?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, address, subject, kind, status, created, text_body, has_ics)| OutboxEmail {
                id,
                to: format!("{name} <{address}>"),
                subject,
                kind,
                status,
                created: moment_label(created, &user.time_zone),
                text_body,
                has_ics,
            },
        )
        .collect())
}
