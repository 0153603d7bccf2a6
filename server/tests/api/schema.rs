//! The schema stays ready to distribute the members' own data by member (Citus, the
//! README's "Beyond one PostgreSQL"): every table with a `user_id` is either the
//! member's own data, keyed by the member first, or one that stays whole on the
//! coordinator, for a reason written here. A new table has to choose.

use crate::helpers::fresh_database;
use std::collections::BTreeSet;

/// The member's own data: distributed by `user_id`, each member's rows on one shard.
const BY_MEMBER: &[&str] = &[
    "daily_months",
    "day_notes",
    "import_chunks",
    "import_errors",
    "imports",
    "index_dirty",
    "insight_events",
    "insights",
    "member_computes",
    "metric_settings",
    "metric_shares",
    "metric_summaries",
    "observations",
    "pair_tests",
    "raw_observations",
    "raw_outcomes",
];

/// Tables with a `user_id` that stay whole (reference or local tables on the coordinator).
const WHOLE: &[(&str, &str)] = &[
    (
        "api_tokens",
        "a token is found by the hash of its secret, before the member is known",
    ),
    ("emails", "the outbox: a meetup's e-mails to its members"),
    ("event_comments", "a meetup's page reads all of them"),
    (
        "group_figure_ranks",
        "the group figures: across members by design",
    ),
    (
        "meetup_figure_ranks",
        "the meetup figures: across members by design",
    ),
    ("memberships", "a group's members, read with the group"),
    ("rsvps", "a meetup's seats are decided across its members"),
    ("talk_insights", "a meetup's talks, shown to the group"),
    ("talks", "a meetup's talks"),
];

#[tokio::test]
async fn every_members_table_is_keyed_by_the_member_first() {
    let pool = fresh_database().await;
    let with_user: BTreeSet<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'
            AND EXISTS (SELECT 1 FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped)",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let classified: BTreeSet<String> = BY_MEMBER
        .iter()
        .copied()
        .chain(WHOLE.iter().map(|(table, _)| *table))
        .map(str::to_string)
        .collect();
    assert_eq!(
        with_user, classified,
        "every table with a user_id is in BY_MEMBER or WHOLE (and no more)"
    );

    // (table, kind, columns in order, referenced table, referenced columns)
    type Constraint = (String, String, Vec<String>, Option<String>, Vec<String>);
    let constraints: Vec<Constraint> = sqlx::query_as(
        "SELECT p.conrelid::regclass::text, p.contype::text,
                ARRAY(SELECT a.attname::text FROM unnest(p.conkey) WITH ORDINALITY k(att, ord)
                        JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.att
                       ORDER BY k.ord),
                p.confrelid::regclass::text,
                ARRAY(SELECT a.attname::text FROM unnest(p.confkey) WITH ORDINALITY k(att, ord)
                        JOIN pg_attribute a ON a.attrelid = p.confrelid AND a.attnum = k.att
                       ORDER BY k.ord)
           FROM pg_constraint p
          WHERE p.contype IN ('p', 'u', 'f') AND p.conrelid::regclass::text = ANY($1)",
    )
    .bind(BY_MEMBER)
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut problems = Vec::new();
    for table in BY_MEMBER {
        let primary = constraints
            .iter()
            .find(|(t, kind, ..)| t == table && kind == "p");
        match primary {
            Some((_, _, columns, _, _))
                if columns.first().map(String::as_str) == Some("user_id") => {}
            other => problems.push(format!(
                "{table}: primary key {other:?} does not lead with user_id"
            )),
        }
    }
    for (table, kind, columns, referenced, referenced_columns) in &constraints {
        let has_user = columns.iter().any(|c| c == "user_id");
        match kind.as_str() {
            "u" if !has_user => {
                problems.push(format!("{table}: UNIQUE {columns:?} without user_id"))
            }
            "f" if referenced
                .as_deref()
                .is_some_and(|r| BY_MEMBER.contains(&r)) =>
            {
                let paired = columns
                    .iter()
                    .zip(referenced_columns)
                    .any(|(from, to)| from == "user_id" && to == "user_id");
                if !paired {
                    problems.push(format!(
                        "{table}: foreign key {columns:?} -> {referenced:?} {referenced_columns:?} does not carry user_id"
                    ));
                }
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
