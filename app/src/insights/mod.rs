//! A member's insights: what the pipeline found in their data, and Measure's record of
//! what members do with it (impressions, opens, useful / not useful), which tells which
//! kinds of insight are worth showing. The pages that show insights call
//! [`record_insight_event`].

use leptos::prelude::*;

// Used by the server only (the pages receive drawn paths); pure, tested on the host.
pub mod band;
pub mod brush;
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
pub mod chart;
pub mod dashboard;
pub mod group;
pub mod line;
pub mod meetup;
pub mod notes;
pub mod pair;
pub mod pairs;
pub mod profile;
pub mod svg;
pub mod talk;

pub use dashboard::DashboardPage;
pub use pair::PairPage;
pub use pairs::PairsPage;

/// What a member did with an insight.
pub const EVENT_KINDS: [&str; 4] = ["impression", "open", "useful", "not_useful"];

/// Records that the member saw, opened or voted on one of their own insights.
#[server(endpoint = "record_insight_event")]
pub async fn record_insight_event(insight_id: i64, kind: String) -> Result<(), ServerFnError> {
    Ok(ssr::record(insight_id, kind).await?)
}

/// The most insights one call records as seen.
pub const MAX_IMPRESSIONS: usize = 50;

/// Records that the member saw these of their insights (`ids` comma-separated, at most
/// [`MAX_IMPRESSIONS`]): sent once by the dashboard's page after it has loaded.
#[server(endpoint = "record_impressions")]
pub async fn record_impressions(ids: String) -> Result<(), ServerFnError> {
    Ok(ssr::impressions(ids).await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{EVENT_KINDS, MAX_IMPRESSIONS};
    use crate::accounts::ssr::{pool, require_user};
    use crate::errors::{invalid, not_found, AppError};

    pub async fn record(insight_id: i64, kind: String) -> Result<(), AppError> {
        let user = require_user().await?;
        if !EVENT_KINDS.contains(&kind.as_str()) {
            return Err(invalid(
                "An insight event is an impression, open, useful or not_useful.",
            ));
        }
        // Only on the member's own insight; anyone else's is as if it did not exist.
        let recorded = sqlx::query(
            "INSERT INTO insight_events (insight_id, user_id, kind)
             SELECT id, user_id, $3 FROM insights WHERE id = $1 AND user_id = $2",
        )
        .bind(insight_id)
        .bind(user.id)
        .bind(&kind)
        .execute(&pool()?)
        .await?
        .rows_affected();
        if recorded == 0 {
            return Err(not_found("insight"));
        }
        Ok(())
    }

    pub async fn impressions(ids: String) -> Result<(), AppError> {
        let user = require_user().await?;
        let ids: Vec<i64> = ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| invalid("ids is a comma-separated list of insight ids."))?;
        if ids.is_empty() || ids.len() > MAX_IMPRESSIONS {
            return Err(invalid(format!(
                "Between 1 and {MAX_IMPRESSIONS} insight ids, please."
            )));
        }
        // The member's own insights only; anyone else's are as if they did not exist.
        let recorded = sqlx::query(
            "INSERT INTO insight_events (insight_id, user_id, kind)
             SELECT id, user_id, 'impression' FROM insights
              WHERE id = ANY($1) AND user_id = $2",
        )
        .bind(&ids)
        .bind(user.id)
        .execute(&pool()?)
        .await?
        .rows_affected();
        if recorded == 0 {
            return Err(not_found("insight"));
        }
        Ok(())
    }
}
