//! The demo: Quantified Self North Bay, its third meetup (26 February 2013, the group's
//! own post) and its next few monthly meetups, with a handful of members.
//!
//! Idempotent: groups are found by slug, members by e-mail, events by their source key,
//! so running it again (or from two processes at once) adds nothing twice.

use anyhow::{Context, Result};
use app::pipeline::capture::{land, Landing};
use app::pipeline::distill::Distill;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use sqlx::{PgPool, Postgres, Transaction};

pub const DEMO_GROUP_SLUG: &str = "qs-north-bay";
const DEMO_ZONE: Tz = chrono_tz::America::Los_Angeles;
/// How many upcoming monthly meetups the demo schedules.
const UPCOMING: usize = 3;

/// What a seed run added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub groups: u64,
    pub members: u64,
    pub events: u64,
    /// The demo members' new password, when this run set one (shown once, stored hashed).
    pub demo_password: Option<String>,
}

impl SeedReport {
    pub fn is_empty(&self) -> bool {
        *self == SeedReport::default()
    }

    /// What to tell the person who ran it.
    pub fn login_hint(&self) -> Option<String> {
        self.demo_password.as_ref().map(|password| {
            format!(
                "Demo log-in: {}@demo.cohort.invalid (organizer) or any demo member, password {password}",
                MEMBERS[0].1
            )
        })
    }
}

/// Sets a new random password on every demo member (all share it) and returns it.
pub async fn reset_demo_password(pool: &PgPool, only_unset: bool) -> Result<Option<String>> {
    let password = app::accounts::ssr::random_password();
    let hash = app::accounts::ssr::hash_password(password.clone())
        .await
        .map_err(|error| anyhow::anyhow!("hashing the demo password: {error}"))?;
    let updated = sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1
          WHERE is_demo AND (password_hash IS NULL OR NOT $2)",
    )
    .bind(hash)
    .bind(only_unset)
    .execute(pool)
    .await
    .context("setting the demo password")?;
    Ok((updated.rows_affected() > 0).then_some(password))
}

const MEMBERS: &[(&str, &str, bool)] = &[
    ("Morgan Reyes", "morgan.reyes", true),
    ("Priya Natarajan", "priya.natarajan", false),
    ("Sam Okafor", "sam.okafor", false),
    ("Lena Fischer", "lena.fischer", false),
    ("Diego Alvarez", "diego.alvarez", false),
    ("Hannah Cho", "hannah.cho", false),
];

const V13_BODY: &str = "\
The Quantified Self North Bay Meetup Group meets for its 3rd scheduled meetup.

If you are interested in what Quantified Self is up to this could be an interesting \
meeting to attend. If you find yourself in or near San Rafael, CA after work on \
26 February, come and join some curious folks who are all interested in what we can \
learn from ourselves and each other with smart tracking and analysis of the data we \
generate.";

const MONTHLY_BODY: &str = "\
Our monthly meetup: show & tell from members, then open discussion. Bring what you have \
been tracking, what surprised you, and what you would like to learn from the group.";

/// Whether the instance has no group at all (a first start).
pub async fn instance_is_empty(pool: &PgPool) -> Result<bool> {
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups)")
        .fetch_one(pool)
        .await
        .context("looking for existing groups")?;
    Ok(!any)
}

/// Adds the demo group, members and meetups that are missing, as of `now`.
#[tracing::instrument(skip_all)]
pub async fn seed_demo(pool: &PgPool, now: DateTime<Utc>) -> Result<SeedReport> {
    let mut tx = pool
        .begin()
        .await
        .context("starting the seed transaction")?;
    // Two processes seeding at once take turns.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cohort.seed-demo'))")
        .execute(&mut *tx)
        .await?;
    let mut report = SeedReport::default();

    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, city, time_zone, description)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(DEMO_GROUP_SLUG)
    .bind("Quantified Self North Bay")
    .bind("San Rafael, CA")
    .bind(DEMO_ZONE.name())
    .bind("Curious folks in the North Bay learning from ourselves and each other with smart tracking and analysis of the data we generate.")
    .fetch_optional(&mut *tx)
    .await
    .context("adding the demo group")?;
    report.groups += inserted.is_some() as u64;
    let group_id: i64 = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM groups WHERE slug = $1")
                .bind(DEMO_GROUP_SLUG)
                .fetch_one(&mut *tx)
                .await?
        }
    };

    for (name, local_part, organizer) in MEMBERS {
        report.members += add_member(&mut tx, group_id, name, local_part, *organizer).await?;
    }

    let v13_start = local(NaiveDate::from_ymd_opt(2013, 2, 26), 18, 30);
    let added = add_event(
        &mut tx,
        group_id,
        "qsnb-meetup-v1.3",
        "QSNB Meetup v1.3",
        V13_BODY,
        v13_start,
    )
    .await?;
    if added > 0 {
        add_activity(&mut tx, group_id, "qsnb-meetup-v1.3", PAST_ACTIVITY).await?;
    }
    report.events += added;
    for (i, date) in upcoming_last_tuesdays(now, UPCOMING)
        .into_iter()
        .enumerate()
    {
        let start = local(Some(date), 18, 30);
        let key = format!("demo-monthly-{}", date.format("%Y-%m"));
        let title = format!("QSNB Monthly Meetup: {}", date.format("%B %Y"));
        let added = add_event(&mut tx, group_id, &key, &title, MONTHLY_BODY, start).await?;
        if added > 0 && i == 0 {
            add_activity(&mut tx, group_id, &key, NEXT_ACTIVITY).await?;
        }
        report.events += added;
    }

    let landed = add_observations(&mut tx, now).await?;

    tx.commit().await.context("committing the demo")?;
    // Distilled now rather than by the job runner, so that the demo has its observations
    // (and its daily values, indexed by the jobs Distill enqueues) as soon as it exists.
    for &user_id in &landed {
        Distill { user_id }
            .run(pool)
            .await
            .context("distilling the demo observations")?;
    }
    // And indexed, computed and the group's figures published now too, so that the demo's
    // dashboards, insights and group bands show at once (not at the next full hour).
    for &user_id in &landed {
        app::pipeline::recompute(pool, user_id)
            .await
            .context("computing the demo members' insights")?;
    }
    if !landed.is_empty() {
        app::pipeline::compute::group::GroupFigures { group_id }
            .run(pool)
            .await
            .context("publishing the demo group's figures")?;
        // The demo's past meetup shows the group's figures as frozen for it: those just
        // published (its own date is long before the demo's data).
        let mut conn = pool.acquire().await?;
        let v13: i64 = sqlx::query_scalar(
            "SELECT id FROM events WHERE group_id = $1 AND source_key = 'qsnb-meetup-v1.3'",
        )
        .bind(group_id)
        .fetch_one(&mut *conn)
        .await?;
        app::pipeline::compute::meetup::freeze(&mut conn, group_id, v13, None)
            .await
            .context("freezing the demo meetup's figures")?;
        // Priya's talk there shows one of her insights about sleep, frozen.
        let talk: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT t.id, t.user_id, i.subject FROM talks t
               JOIN users u ON u.id = t.user_id
               JOIN insights i ON i.user_id = t.user_id
              WHERE t.event_id = $1 AND u.email = $2
                AND NOT EXISTS (SELECT 1 FROM talk_insights ti WHERE ti.talk_id = t.id)
              ORDER BY ('sleep' = ANY(i.metrics)) DESC, i.id LIMIT 1",
        )
        .bind(v13)
        .bind("priya.natarajan@demo.cohort.invalid")
        .fetch_optional(&mut *conn)
        .await?;
        drop(conn);
        if let Some((talk_id, user_id, subject)) = talk {
            app::insights::talk::ssr::attach_for(pool, user_id, talk_id, subject)
                .await
                .map_err(|error| anyhow::anyhow!("attaching the demo talk's insight: {error}"))?;
        }
    }
    // Generated per instance, never a fixed password; only members without one get it.
    report.demo_password = reset_demo_password(pool, true).await?;
    tracing::info!(
        groups = report.groups,
        members = report.members,
        events = report.events,
        "demo seeded"
    );
    Ok(report)
}

async fn add_member(
    tx: &mut Transaction<'_, Postgres>,
    group_id: i64,
    name: &str,
    local_part: &str,
    organizer: bool,
) -> Result<u64> {
    let email = format!("{local_part}@demo.cohort.invalid");
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, time_zone, is_demo) VALUES ($1, $2, $3, true)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(name)
    .bind(DEMO_ZONE.name())
    .fetch_optional(&mut **tx)
    .await
    .with_context(|| format!("adding demo member {email}"))?;
    let user_id: i64 = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(&email)
                .fetch_one(&mut **tx)
                .await?
        }
    };
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id, role) VALUES ($1, $2, $3::membership_role)
         ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .bind(if organizer { "organizer" } else { "member" })
    .execute(&mut **tx)
    .await?;
    Ok(inserted.is_some() as u64)
}

async fn add_event(
    tx: &mut Transaction<'_, Postgres>,
    group_id: i64,
    source_key: &str,
    title: &str,
    body: &str,
    starts_at: DateTime<Utc>,
) -> Result<u64> {
    let result = sqlx::query(
        "INSERT INTO events (group_id, title, body_md, starts_at, ends_at, time_zone, venue, address, capacity, source_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (group_id, source_key) DO NOTHING",
    )
    .bind(group_id)
    .bind(title)
    .bind(body)
    .bind(starts_at)
    .bind(starts_at + Duration::hours(2))
    .bind(DEMO_ZONE.name())
    .bind("San Rafael, CA")
    .bind("")
    .bind(30_i32)
    .bind(source_key)
    .execute(&mut **tx)
    .await
    .with_context(|| format!("adding demo event {source_key}"))?;
    Ok(result.rows_affected())
}

/// What demo members did at a demo meetup: who answered what (and was checked in), the
/// talks on the agenda and a comment.
struct Activity {
    rsvps: &'static [(&'static str, &'static str, bool)],
    talks: &'static [(&'static str, &'static str, &'static str, i32, &'static str)],
    comments: &'static [(&'static str, &'static str)],
}

const PAST_ACTIVITY: Activity = Activity {
    rsvps: &[
        ("morgan.reyes", "yes", true),
        ("priya.natarajan", "yes", true),
        ("sam.okafor", "yes", true),
        ("lena.fischer", "yes", true),
        ("diego.alvarez", "yes", true),
        ("hannah.cho", "maybe", false),
    ],
    talks: &[
        (
            "priya.natarajan",
            "Sleep with a Zeo headband",
            "Three months of sleep stages, and what moved them.",
            10,
            "accepted",
        ),
        (
            "sam.okafor",
            "Tracking mood by text message",
            "A tiny SMS prompt three times a day.",
            8,
            "accepted",
        ),
    ],
    comments: &[(
        "lena.fischer",
        "Thanks all! The Zeo graphs made me order one.",
    )],
};

const NEXT_ACTIVITY: Activity = Activity {
    rsvps: &[
        ("morgan.reyes", "yes", false),
        ("priya.natarajan", "yes", false),
        ("diego.alvarez", "yes", false),
        ("hannah.cho", "maybe", false),
    ],
    talks: &[
        (
            "diego.alvarez",
            "A year of CGM data",
            "What a continuous glucose monitor taught me about lunch.",
            10,
            "accepted",
        ),
        (
            "hannah.cho",
            "Caffeine cut-off experiment",
            "Two weeks with no coffee after noon.",
            5,
            "proposed",
        ),
    ],
    comments: &[("priya.natarajan", "I'll bring the updated sleep charts.")],
};

/// Days of tracking each demo member has, ending yesterday.
const TRACKED_DAYS: i32 = 42;

/// Six weeks of sleep, steps, mood and energy for demo members who have none yet,
/// captured the way every capture path does: through `pipeline::capture::land` (as the
/// quick log would have sent them), distilled by `seed_demo` after the commit. Sleep,
/// steps and mood are shared with the demo group as aggregates, energy by three members
/// only (fewer than k); the organizer has notes on two days.
/// Values come from a hash of member and day, so a demo looks the same wherever it is
/// made; mood leans on the night's sleep and energy on the day before's steps (planted
/// relations for the insights to find). Returns the members whose entries landed.
async fn add_observations(
    tx: &mut Transaction<'_, Postgres>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let today = now.with_timezone(&DEMO_ZONE).date_naive();
    let entries: Vec<(i64, String, serde_json::Value)> = sqlx::query_as(
        "WITH days AS (
             SELECT u.id AS user_id, d::date AS day,
                    abs(hashtext(u.email || d::date || 'sleep')) % 1000 / 1000.0 AS rs,
                    abs(hashtext(u.email || d::date || 'steps')) % 1000 / 1000.0 AS rp,
                    abs(hashtext(u.email || d::date || 'mood')) % 1000 / 1000.0 AS rm,
                    abs(hashtext(u.email || (d - interval '1 day')::date || 'steps')) % 1000 / 1000.0 AS rp_before,
                    abs(hashtext(u.email || d::date || 'energy')) % 1000 / 1000.0 AS re
               FROM users u, generate_series($1::date - $2, $1::date - 1, interval '1 day') d
              WHERE u.is_demo AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.user_id = u.id)
         )
         SELECT user_id, 'demo-' || e.metric || '-' || day,
                json_build_object('metric', e.metric, 'value', e.value, 'unit', '', 'at', e.at,
                                  'time_zone', $3::text, 'note', '')::jsonb
           FROM days, LATERAL (VALUES
             ('sleep', round(360 + rs * 150)::text, day::text || 'T07:00'),
             ('steps', round(3000 + rp * 9000)::text, day::text || 'T21:00'),
             ('mood', (3 + round(rs * 3 + rm * 2))::text, day::text || 'T20:00'),
             ('energy', (1 + round(rp_before * 2 + re * 2))::text, day::text || 'T12:00')
           ) AS e(metric, value, at)
          ORDER BY user_id, day, e.metric",
    )
    .bind(today)
    .bind(TRACKED_DAYS)
    .bind(DEMO_ZONE.name())
    .fetch_all(&mut **tx)
    .await
    .context("making the demo observations")?;
    let mut by_member: std::collections::BTreeMap<i64, Vec<Landing>> = Default::default();
    for (user_id, idempotency_key, payload) in entries {
        by_member.entry(user_id).or_default().push(Landing {
            idempotency_key,
            payload,
        });
    }
    let mut landed = Vec::new();
    for (user_id, entries) in by_member {
        if !land(tx, user_id, "quick_log", entries)
            .await
            .context("landing the demo observations")?
            .is_empty()
        {
            landed.push(user_id);
        }
    }
    sqlx::query(
        "INSERT INTO metric_shares (user_id, metric_id, group_id, level)
         SELECT u.id, m.id, g.id, 'aggregate'
           FROM users u JOIN memberships ms ON ms.user_id = u.id JOIN groups g ON g.id = ms.group_id,
                metrics m
          WHERE u.is_demo AND g.slug = $1 AND m.owner_id IS NULL AND m.key IN ('sleep', 'steps', 'mood')
         ON CONFLICT DO NOTHING",
    )
    .bind(DEMO_GROUP_SLUG)
    .execute(&mut **tx)
    .await
    .context("sharing the demo observations")?;
    // Energy: shared by three members only, so its group figures are withheld (k = 5)
    // and their pages say why.
    sqlx::query(
        "INSERT INTO metric_shares (user_id, metric_id, group_id, level)
         SELECT u.id, m.id, g.id, 'aggregate'
           FROM users u JOIN memberships ms ON ms.user_id = u.id JOIN groups g ON g.id = ms.group_id,
                metrics m
          WHERE u.is_demo AND g.slug = $1 AND m.owner_id IS NULL AND m.key = 'energy'
            AND u.email = ANY($2)
         ON CONFLICT DO NOTHING",
    )
    .bind(DEMO_GROUP_SLUG)
    .bind(
        ["morgan.reyes", "priya.natarajan", "sam.okafor"]
            .map(|local_part| format!("{local_part}@demo.cohort.invalid"))
            .to_vec(),
    )
    .execute(&mut **tx)
    .await
    .context("sharing the demo members' energy")?;
    // The organizer's notes on two days, marked on their charts.
    sqlx::query(
        "INSERT INTO day_notes (user_id, day, note)
         SELECT u.id, $2::date - d.back, d.note
           FROM users u, (VALUES (20, 'Flight home from the QS conference'),
                                 (9, 'Started magnesium before bed')) AS d(back, note)
          WHERE u.email = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(format!("{}@demo.cohort.invalid", MEMBERS[0].1))
    .bind(today)
    .execute(&mut **tx)
    .await
    .context("noting the demo organizer's days")?;
    Ok(landed)
}

async fn add_activity(
    tx: &mut Transaction<'_, Postgres>,
    group_id: i64,
    source_key: &str,
    activity: Activity,
) -> Result<()> {
    let event_id: i64 =
        sqlx::query_scalar("SELECT id FROM events WHERE group_id = $1 AND source_key = $2")
            .bind(group_id)
            .bind(source_key)
            .fetch_one(&mut **tx)
            .await?;
    let user = |local_part: &str| format!("{local_part}@demo.cohort.invalid");
    for (who, answer, checked_in) in activity.rsvps {
        sqlx::query(
            "INSERT INTO rsvps (event_id, user_id, answer, seat, arrival, checked_in_at)
             SELECT $1, id, $3::rsvp_answer,
                    CASE WHEN $3 = 'yes' THEN 'going'::seat_state END,
                    CASE WHEN $3 = 'yes' THEN nextval('rsvp_arrival') END,
                    CASE WHEN $4 THEN (SELECT starts_at FROM events WHERE id = $1) END
               FROM users WHERE email = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(user(who))
        .bind(answer)
        .bind(checked_in)
        .execute(&mut **tx)
        .await
        .context("adding demo RSVPs")?;
    }
    for (who, title, summary, minutes, status) in activity.talks {
        sqlx::query(
            "INSERT INTO talks (event_id, user_id, title, abstract, minutes, status, decided_at)
             SELECT $1, id, $3, $4, $5, $6::talk_status, CASE WHEN $6 = 'proposed' THEN NULL ELSE now() END
               FROM users WHERE email = $2",
        )
        .bind(event_id)
        .bind(user(who))
        .bind(title)
        .bind(summary)
        .bind(minutes)
        .bind(status)
        .execute(&mut **tx)
        .await
        .context("adding demo talks")?;
    }
    for (who, body) in activity.comments {
        sqlx::query("INSERT INTO event_comments (event_id, user_id, body) SELECT $1, id, $3 FROM users WHERE email = $2")
            .bind(event_id)
            .bind(user(who))
            .bind(body)
            .execute(&mut **tx)
            .await
            .context("adding demo comments")?;
    }
    Ok(())
}

/// A local wall-clock time in the demo's zone, as an instant.
fn local(date: Option<NaiveDate>, hour: u32, minute: u32) -> DateTime<Utc> {
    let date = date.unwrap_or_default();
    let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default();
    DEMO_ZONE
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .unwrap_or_else(|| {
            Utc.from_utc_datetime(&date.and_time(time))
                .with_timezone(&DEMO_ZONE)
        })
        .with_timezone(&Utc)
}

/// The last Tuesday of each month, from the first one after `now`.
pub fn upcoming_last_tuesdays(now: DateTime<Utc>, count: usize) -> Vec<NaiveDate> {
    let today = now.with_timezone(&DEMO_ZONE).date_naive();
    let (mut year, mut month) = (today.year(), today.month());
    let mut dates = Vec::with_capacity(count);
    while dates.len() < count {
        let date = last_weekday_of_month(year, month, Weekday::Tue);
        if date > today {
            dates.push(date);
        }
        (year, month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
    }
    dates
}

fn last_weekday_of_month(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let mut day = NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|first| first.pred_opt())
        .unwrap_or_default();
    while day.weekday() != weekday {
        day = day.pred_opt().unwrap_or_default();
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_third_meetup_starts_at_half_past_six_pacific() {
        let start = local(NaiveDate::from_ymd_opt(2013, 2, 26), 18, 30);
        assert_eq!(start.to_rfc3339(), "2013-02-27T02:30:00+00:00");
    }

    #[test]
    fn upcoming_meetups_fall_on_last_tuesdays() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let dates = upcoming_last_tuesdays(now, 3);
        let expected = ["2026-12-29", "2027-01-26", "2027-02-23"];
        assert_eq!(
            dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn the_meetup_on_the_day_itself_is_not_upcoming() {
        let now = Utc.with_ymd_and_hms(2026, 12, 29, 20, 0, 0).unwrap();
        assert_eq!(upcoming_last_tuesdays(now, 1)[0].to_string(), "2027-01-26");
    }
}
