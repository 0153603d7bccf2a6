//! A member's insights: what the pipeline found in their data, and Measure's record of
//! what members do with it (impressions, opens, useful / not useful), which tells which
//! kinds of insight are worth showing. The pages that show insights call
//! [`record_insight_event`].

use leptos::prelude::*;

// Used by the server only (the pages receive drawn paths); pure, tested on the host.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
pub mod chart;
pub mod dashboard;
pub mod line;
pub mod pairs;

pub use dashboard::DashboardPage;
pub use pairs::PairsPage;

/// What a member did with an insight.
pub const EVENT_KINDS: [&str; 4] = ["impression", "open", "useful", "not_useful"];

/// Records that the member saw, opened or voted on one of their own insights.
#[server(endpoint = "record_insight_event")]
pub async fn record_insight_event(insight_id: i64, kind: String) -> Result<(), ServerFnError> {
    Ok(ssr::record(insight_id, kind).await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::EVENT_KINDS;
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
}
