//! Capture: the one way anything a member sends enters Cohort. Every capture path (the
//! quick log, the REST API, the CSV and Apple Health imports) calls [`land`], which
//! writes the entries as received to the append-only `raw_observations` and enqueues
//! the member's Distill job in the caller's transaction, so nothing received is lost
//! if the process dies right after, and nothing is distilled that was not committed.

use super::distill::Distill;
use crate::jobs::Job;
use sqlx::PgConnection;

/// One entry to land: its idempotency key (unique per member and source) and the
/// payload as received.
pub struct Landing {
    pub idempotency_key: String,
    pub payload: serde_json::Value,
}

/// Lands a member's entries from one source, in the caller's transaction, and enqueues
/// their Distill job when any is new. Returns the keys that landed, in the order they
/// came: an entry whose key was received before (or earlier in this batch) is not
/// among them and adds nothing.
pub async fn land(
    conn: &mut PgConnection,
    user_id: i64,
    source: &str,
    entries: Vec<Landing>,
) -> Result<Vec<String>, sqlx::Error> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let (keys, payloads): (Vec<String>, Vec<serde_json::Value>) = entries
        .into_iter()
        .map(|entry| (entry.idempotency_key, entry.payload))
        .unzip();
    let landed: Vec<String> = sqlx::query_scalar(
        "INSERT INTO raw_observations (user_id, source, idempotency_key, payload)
         SELECT $1, $4, k.key, $3::jsonb -> (k.ord::int - 1)
           FROM unnest($2::text[]) WITH ORDINALITY AS k(key, ord)
         ORDER BY k.ord
         ON CONFLICT (user_id, source, idempotency_key) DO NOTHING
         RETURNING idempotency_key",
    )
    .bind(user_id)
    .bind(&keys)
    .bind(serde_json::Value::Array(payloads))
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    if !landed.is_empty() {
        enqueue_distill(conn, user_id).await?;
    }
    Ok(landed)
}

/// Enqueues the member's Distill job (one pending per member, however many landings).
pub async fn enqueue_distill(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    Distill { user_id }.enqueue(conn).await?;
    Ok(())
}
