//! A member's own data, as one JSON document (`/me/export`): everything Cohort holds
//! about them, read in one snapshot.

use sqlx::PgPool;

/// Everything Cohort holds about a member, as one JSON document.
pub async fn export_user(pool: &PgPool, user_id: i64) -> Result<serde_json::Value, sqlx::Error> {
    // One snapshot for every part, so the parts agree with each other.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let mut export = serde_json::Map::new();
    export.insert("format".into(), "cohort-export-1".into());
    export.insert("exported_at".into(), serde_json::json!(chrono::Utc::now()));
    for (key, sql) in EXPORT_PARTS {
        let part: serde_json::Value = sqlx::query_scalar(sql)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        export.insert((*key).into(), part);
    }
    tx.commit().await?;
    Ok(serde_json::Value::Object(export))
}

/// The parts of a member's export: each one's key and the statement that gives it as
/// JSON (`$1` is the member).
const EXPORT_PARTS: &[(&str, &str)] = &[
    (
        "profile",
        "SELECT json_build_object(
                  'email', email, 'display_name', display_name, 'time_zone', time_zone,
                  'is_admin', is_admin, 'created_at', created_at)
           FROM users WHERE id = $1",
    ),
    (
        "memberships",
        "SELECT coalesce(json_agg(json_build_object(
                  'group', g.name, 'slug', g.slug, 'role', m.role, 'joined_at', m.joined_at)
                  ORDER BY m.joined_at), '[]'::json)
           FROM memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1",
    ),
    (
        "rsvps",
        "SELECT coalesce(json_agg(json_build_object(
                  'event', e.title, 'event_id', e.id, 'starts_at', e.starts_at, 'answer', r.answer,
                  'guests', r.guests, 'seat', r.seat, 'checked_in_at', r.checked_in_at,
                  'answered_at', r.created_at) ORDER BY e.starts_at), '[]'::json)
           FROM rsvps r JOIN events e ON e.id = r.event_id WHERE r.user_id = $1",
    ),
    (
        "comments",
        "SELECT coalesce(json_agg(json_build_object(
                  'event_id', event_id, 'body', body, 'posted_at', created_at,
                  'hidden_by_organizer', hidden_at IS NOT NULL) ORDER BY created_at), '[]'::json)
           FROM event_comments WHERE user_id = $1",
    ),
    (
        "talks",
        "SELECT coalesce(json_agg(json_build_object(
                  'event_id', event_id, 'title', title, 'abstract', abstract, 'minutes', minutes,
                  'status', status, 'proposed_at', created_at) ORDER BY created_at), '[]'::json)
           FROM talks WHERE user_id = $1",
    ),
    (
        "metrics",
        "SELECT coalesce(json_agg(json_build_object(
                  'key', m.key, 'name', m.name, 'kind', m.kind, 'unit', m.unit,
                  'aggregate', m.aggregate, 'min', m.min_value, 'max', m.max_value,
                  'yours', m.owner_id IS NOT NULL, 'pinned', s.pinned,
                  'display_unit', s.display_unit, 'goal', s.goal) ORDER BY m.id), '[]'::json)
           FROM metrics m LEFT JOIN metric_settings s ON s.metric_id = m.id AND s.user_id = $1
          WHERE m.owner_id = $1 OR s.user_id IS NOT NULL",
    ),
    (
        "shares",
        "SELECT coalesce(json_agg(json_build_object(
                  'metric', m.key, 'group', g.slug, 'level', s.level, 'since', s.updated_at)
                  ORDER BY m.key, g.slug), '[]'::json)
           FROM metric_shares s JOIN metrics m ON m.id = s.metric_id JOIN groups g ON g.id = s.group_id
          WHERE s.user_id = $1",
    ),
    (
        "observations",
        "SELECT coalesce(json_agg(json_build_object(
                  'time', o.observed_at, 'metric', m.key, 'value', o.value, 'unit', m.unit,
                  'note', o.note, 'tags', o.tags, 'source', o.source) ORDER BY o.observed_at, o.id), '[]'::json)
           FROM observations o JOIN metrics m ON m.id = o.metric_id WHERE o.user_id = $1",
    ),
    (
        "received",
        "SELECT coalesce(json_agg(json_build_object(
                  'source', r.source, 'received_at', r.received_at, 'payload', r.payload,
                  'accepted', o.accepted, 'reason', o.reason) ORDER BY r.id), '[]'::json)
           FROM raw_observations r LEFT JOIN raw_outcomes o ON o.user_id = r.user_id AND o.raw_id = r.id WHERE r.user_id = $1",
    ),
    (
        "day_notes",
        "SELECT coalesce(json_agg(json_build_object('day', day, 'note', note) ORDER BY day), '[]'::json)
           FROM day_notes WHERE user_id = $1",
    ),
    // What each token was called and did, never its secret (only a hash is stored).
    (
        "api_tokens",
        "SELECT coalesce(json_agg(json_build_object(
                  'name', name, 'scope', scope, 'prefix', prefix, 'created_at', created_at,
                  'last_used_at', last_used_at, 'revoked_at', revoked_at) ORDER BY id), '[]'::json)
           FROM api_tokens WHERE user_id = $1",
    ),
    (
        "imports",
        "SELECT coalesce(json_agg(json_build_object(
                  'filename', filename, 'kind', kind, 'status', status, 'size_bytes', size_bytes,
                  'rows', rows_done, 'accepted', accepted, 'duplicates', duplicates,
                  'rejected', rejected, 'skipped', skipped, 'created_at', created_at) ORDER BY id), '[]'::json)
           FROM imports WHERE user_id = $1",
    ),
];
