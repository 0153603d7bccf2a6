//! Show & tell with frozen insights: a member proposing or giving a talk attaches one of
//! their insights to it, and a copy is frozen (the pair's title, its sentence, every
//! number, the chart with the data behind it, the days it covers, when it was computed
//! and from which inputs). The event page shows the copy to the group's members as it
//! was, whatever the member's data or sharing does later; withdrawing deletes the copy.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A frozen insight, as stored (`talk_insights.frozen`) and shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrozenInsight {
    /// "Steps → energy, 1 day later"
    pub title: String,
    pub sentence: String,
    /// (name, value, what it means), as on the pair's page.
    pub numbers: Vec<(String, String, String)>,
    pub chart: Option<super::svg::Chart>,
    /// "14 Oct to 2 Dec 2026 (50 days tested)"
    pub days: String,
    /// Filled in when shown: "Computed 3 Dec 2026 14:00 from inputs 3f9a1c2e; frozen
    /// 4 Dec 2026 09:12."
    #[serde(default)]
    pub provenance: String,
}

/// Attaches one of the member's insights (`subject`, like "correlation:steps:energy:1")
/// to their talk, as a frozen copy (replacing the talk's earlier one).
#[server(endpoint = "attach_insight")]
pub async fn attach_insight(talk_id: i64, subject: String) -> Result<(), ServerFnError> {
    Ok(ssr::attach(talk_id, subject).await?)
}

/// Withdraws the insight attached to the member's talk: its copy is deleted.
#[server(endpoint = "withdraw_insight")]
pub async fn withdraw_insight(talk_id: i64) -> Result<(), ServerFnError> {
    Ok(ssr::withdraw(talk_id).await?)
}

/// A talk's frozen insight (drawn on the server only).
#[cfg(feature = "ssr")]
#[component]
pub fn TalkInsight(insight: FrozenInsight) -> impl IntoView {
    let FrozenInsight {
        title,
        sentence,
        numbers,
        chart,
        days,
        provenance,
    } = insight;
    view! {
        <div class="talk-insight">
            <p class="talk-insight-title"><strong>{title}</strong>" · "<span class="muted">{days}</span></p>
            <p class="sentence">{sentence}</p>
            <dl class="numbers compact">
                {numbers.into_iter().map(|(name, value, _)| view! { <div><dt>{name}</dt><dd>{value}</dd></div> }).collect_view()}
            </dl>
            {chart.map(|chart| view! { <super::svg::ChartView chart /> }.into_any())}
            <p class="muted provenance">{provenance}</p>
        </div>
    }
    .into_any()
}

/// The speaker's controls on their own talk: attach one of their insights, or withdraw
/// the one attached.
#[component]
pub fn TalkInsightControls(
    talk_id: i64,
    attached: bool,
    choices: Vec<(String, String)>,
    attach: ServerAction<AttachInsight>,
    withdraw: ServerAction<WithdrawInsight>,
) -> impl IntoView {
    let form = if choices.is_empty() {
        view! {
            <p class="muted small">"Your insights can be attached here once the pipeline has found some (see your dashboard)."</p>
        }
        .into_any()
    } else {
        let id = format!("attach-{talk_id}");
        view! {
            <ActionForm action=attach attr:class="attach-insight">
                <input type="hidden" name="talk_id" value=talk_id />
                <label for=id.clone()>{if attached { "Attach another of your insights" } else { "Attach one of your insights" }}</label>
                <select id=id name="subject">
                    {choices.into_iter().map(|(subject, sentence)| view! { <option value=subject>{sentence}</option> }).collect_view()}
                </select>
                <button type="submit" class="small">"Attach a frozen copy"</button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <div class="talk-insight-controls">
            {form}
            {attached.then(|| view! {
                <ActionForm action=withdraw attr:class="inline">
                    <input type="hidden" name="talk_id" value=talk_id />
                    <button type="submit" class="link small danger-link">"Withdraw the attached insight"</button>
                </ActionForm>
            })}
        </div>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::accounts::ssr::{pool, require_user};
    use crate::errors::{invalid, not_found, AppError};
    use crate::insights::brush::day_label;
    use chrono::{DateTime, NaiveDate, Utc};
    use sqlx::PgPool;
    use std::collections::HashMap;

    pub async fn attach(talk_id: i64, subject: String) -> Result<(), AppError> {
        let user = require_user().await?;
        attach_for(&pool()?, user.id, talk_id, subject).await
    }

    /// Attaches member `user_id`'s insight to their talk (the caller is that member, or
    /// the demo's seed).
    pub async fn attach_for(
        pool: &PgPool,
        user_id: i64,
        talk_id: i64,
        subject: String,
    ) -> Result<(), AppError> {
        struct User {
            id: i64,
        }
        let user = User { id: user_id };
        let pool = pool.clone();
        // The member's own talk, at a meetup of a group they belong to, not cancelled.
        let own: Option<i64> = sqlx::query_scalar(
            "SELECT t.id FROM talks t
               JOIN events e ON e.id = t.event_id
               JOIN memberships ms ON ms.group_id = e.group_id AND ms.user_id = t.user_id
              WHERE t.id = $1 AND t.user_id = $2 AND e.status = 'scheduled'",
        )
        .bind(talk_id)
        .bind(user.id)
        .fetch_optional(&pool)
        .await?;
        if own.is_none() {
            return Err(not_found("talk"));
        }
        let shown: Option<String> =
            sqlx::query_scalar("SELECT sentence FROM insights WHERE user_id = $1 AND subject = $2")
                .bind(user.id)
                .bind(&subject)
                .fetch_optional(&pool)
                .await?;
        let parts: Vec<&str> = subject.split(':').collect();
        let (Some(sentence), ["correlation", a, b, lag]) = (shown, parts.as_slice()) else {
            return Err(invalid("Pick one of your insights to attach."));
        };
        let pair = crate::insights::pair::ssr::pair_of(
            &pool,
            user.id,
            a.to_string(),
            b.to_string(),
            lag.to_string(),
        )
        .await?;
        let days = match pair.brush.as_ref().map(|b| b.dates.as_slice()) {
            Some([first, .., last]) => {
                let date = |d: i32| NaiveDate::from_num_days_from_ce_opt(d).unwrap_or_default();
                format!(
                    "{} to {} ({} days tested)",
                    day_label(date(*first)),
                    day_label(date(*last)),
                    pair.brush.as_ref().map_or(0, |b| b.dates.len())
                )
            }
            _ => String::new(),
        };
        let frozen = FrozenInsight {
            title: pair.title,
            sentence,
            numbers: pair.numbers,
            chart: pair.chart,
            days,
            provenance: String::new(),
        };
        let (computed_at, inputs_hash): (DateTime<Utc>, String) = sqlx::query_as(
            "SELECT computed_at, inputs_hash FROM member_computes WHERE user_id = $1",
        )
        .bind(user.id)
        .fetch_optional(&pool)
        .await?
        .unwrap_or_else(|| (Utc::now(), String::new()));
        sqlx::query(
            "INSERT INTO talk_insights (talk_id, user_id, subject, frozen, computed_at, inputs_hash)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (talk_id) DO UPDATE SET subject = EXCLUDED.subject, frozen = EXCLUDED.frozen,
                 computed_at = EXCLUDED.computed_at, inputs_hash = EXCLUDED.inputs_hash, attached_at = now()",
        )
        .bind(talk_id)
        .bind(user.id)
        .bind(&subject)
        .bind(sqlx::types::Json(&frozen))
        .bind(computed_at)
        .bind(inputs_hash)
        .execute(&pool)
        .await?;
        Ok(())
    }

    pub async fn withdraw(talk_id: i64) -> Result<(), AppError> {
        let user = require_user().await?;
        let pool = pool()?;
        let own: Option<i64> =
            sqlx::query_scalar("SELECT id FROM talks WHERE id = $1 AND user_id = $2")
                .bind(talk_id)
                .bind(user.id)
                .fetch_optional(&pool)
                .await?;
        if own.is_none() {
            return Err(not_found("talk"));
        }
        sqlx::query("DELETE FROM talk_insights WHERE talk_id = $1 AND user_id = $2")
            .bind(talk_id)
            .bind(user.id)
            .execute(&pool)
            .await?;
        Ok(())
    }

    /// The frozen insights of these talks, with when they were computed and frozen in
    /// `zone`.
    pub async fn for_talks(
        db: impl sqlx::PgExecutor<'_>,
        talks: &[i64],
        zone: &str,
    ) -> Result<HashMap<i64, FrozenInsight>, sqlx::Error> {
        type Row = (
            i64,
            sqlx::types::Json<FrozenInsight>,
            DateTime<Utc>,
            String,
            DateTime<Utc>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT talk_id, frozen, computed_at, inputs_hash, attached_at
               FROM talk_insights WHERE talk_id = ANY($1)",
        )
        .bind(talks)
        .fetch_all(db)
        .await?;
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        let moment =
            |at: DateTime<Utc>| at.with_timezone(&tz).format("%-d %b %Y %H:%M").to_string();
        Ok(rows
            .into_iter()
            .map(|(talk_id, frozen, computed_at, hash, attached_at)| {
                let mut frozen = frozen.0;
                frozen.provenance = format!(
                    "A frozen copy: computed {}{}, attached {}; it does not change with the speaker's data.",
                    moment(computed_at),
                    if hash.is_empty() {
                        String::new()
                    } else {
                        format!(" from inputs {}", &hash[..hash.len().min(12)])
                    },
                    moment(attached_at)
                );
                (talk_id, frozen)
            })
            .collect())
    }

    /// The member's insights that could be attached: (subject, sentence), strongest first.
    pub async fn choices(
        db: impl sqlx::PgExecutor<'_>,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT i.subject, i.sentence FROM insights i
               LEFT JOIN pair_tests p ON p.user_id = i.user_id
                    AND i.subject = 'correlation:' || p.a || ':' || p.b || ':' || p.lag_days
              WHERE i.user_id = $1 ORDER BY abs(p.pearson_r) DESC NULLS LAST, i.id",
        )
        .bind(user_id)
        .fetch_all(db)
        .await
    }
}
