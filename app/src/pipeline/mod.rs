//! The pipeline of DESIGN.md, one module per stage, named for it:
//!
//! ```text
//! Capture -> Distill -> Index -> Compute -> Display -> Interact -> Measure
//! ```
//!
//! - [`capture`]: landing what members send (quick log, REST API, CSV and Apple Health
//!   imports) in `raw_observations`, in the transaction that enqueues Distill.
//! - [`distill`]: checking and converting landed entries into `observations`, or
//!   recording why not; flagging outliers.
//! - [`index`]: daily values per member, metric and local day.
//! - [`compute`]: per member, each metric's summary and every pair of series tested,
//!   the insights shown as sentences.
//!
//! Each stage's job is declared here (`crate::jobs::Job`) and enqueues the next in its
//! own transaction: Capture -> Distill -> Index -> Compute. The server runs them
//! (`server/src/job_types.rs`).
//!
//! Server-only (`ssr`): every stage reads and writes PostgreSQL. The pure code the
//! stages share with the browser (`crate::stats`, `crate::track::units`) lives outside.

pub mod capture;
pub mod compute;
pub mod distill;
pub mod index;

/// Holds a stage's lock on one member (or group) until the transaction ends, so that two
/// runs of the stage for them never interleave their writes (the later one waits and
/// writes last). Taken again by the same transaction at no cost.
pub(crate) async fn lock_for(
    conn: &mut sqlx::PgConnection,
    stage: &str,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1), $2::int)")
        .bind(stage)
        .bind(id as i32)
        .execute(conn)
        .await?;
    Ok(())
}

/// Members recomputed at once by [`recompute_everyone`].
pub const RECOMPUTE_PARALLEL: usize = 4;

/// Recomputes every member from scratch (Index, then Compute), a few members at a time:
/// `cohort recompute` and the nightly job. Returns the members done.
pub async fn recompute_everyone(pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
    let members: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
        .fetch_all(pool)
        .await?;
    let mut queue = members.iter().copied();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < RECOMPUTE_PARALLEL {
            let Some(user_id) = queue.next() else { break };
            let pool = pool.clone();
            running.spawn(async move { recompute(&pool, user_id).await });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(done)) => done?,
            Some(Err(error)) => {
                return Err(sqlx::Error::Protocol(format!(
                    "a recompute task failed: {error}"
                )))
            }
        }
    }
    Ok(members.len())
}

/// One member from scratch: their days, then their compute.
pub async fn recompute(pool: &sqlx::PgPool, user_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    index::roll_up(&mut tx, user_id).await?;
    tx.commit().await?;
    compute::Compute { user_id }.run(pool).await
}

/// Job: the nightly full recompute (03:00 UTC), which also moves every member's
/// "as of" date forward when they logged nothing. Recurring by rescheduling itself.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NightlyRecompute;

impl crate::jobs::Job for NightlyRecompute {
    const KIND: &'static str = "nightly_recompute";
    const QUEUE: &'static str = "maintenance";
    const MAX_ATTEMPTS: i32 = 3;

    fn dedupe_key(&self) -> Option<String> {
        Some("nightly".into())
    }
}

impl NightlyRecompute {
    /// The next 03:00 UTC after `now`.
    pub fn next_run(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        let today = now
            .date_naive()
            .and_hms_opt(3, 0, 0)
            .unwrap_or_default()
            .and_utc();
        if today > now {
            today
        } else {
            today + chrono::TimeDelta::days(1)
        }
    }

    pub async fn run(self, pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
        use crate::jobs::Job as _;
        let members = recompute_everyone(pool).await?;
        let mut conn = pool.acquire().await?;
        NightlyRecompute
            .enqueue_at(&mut conn, Some(Self::next_run(chrono::Utc::now())))
            .await?;
        tracing::info!(members, "nightly recompute done");
        Ok(members)
    }
}
