//! Comments on an event: posting, and organizers hiding (authors deleting) them.

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::errors::{forbidden, invalid, not_found, AppError};
use crate::policy::Action;

pub async fn post_comment(event_id: i64, body: String) -> Result<(), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    access(&pool, event_id, Some(&user), Action::TakePart).await?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(invalid("Write a comment of up to 4,000 characters."));
    }
    sqlx::query("INSERT INTO event_comments (event_id, user_id, body) VALUES ($1, $2, $3)")
        .bind(event_id)
        .bind(user.id)
        .bind(body)
        .execute(&pool)
        .await?;
    Ok(())
}

pub async fn moderate_comment(comment_id: i64, action: String) -> Result<(), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT event_id, user_id FROM event_comments WHERE id = $1")
            .bind(comment_id)
            .fetch_optional(&pool)
            .await?;
    let (event_id, author) = row.ok_or_else(|| not_found("comment"))?;
    match action.as_str() {
        "delete" if author == Some(user.id) => {
            access(&pool, event_id, Some(&user), Action::ViewGroup).await?;
            sqlx::query("DELETE FROM event_comments WHERE id = $1")
                .bind(comment_id)
                .execute(&pool)
                .await?;
        }
        "hide" | "show" => {
            access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
            sqlx::query(
                "UPDATE event_comments SET hidden_at = CASE WHEN $2 THEN now() END, hidden_by = CASE WHEN $2 THEN $3 END
                  WHERE id = $1",
            )
            .bind(comment_id)
            .bind(action == "hide")
            .bind(user.id)
            .execute(&pool)
            .await
            ?;
        }
        "delete" => return Err(forbidden()),
        _ => return Err(invalid("Hide, show or delete a comment.")),
    }
    Ok(())
}
