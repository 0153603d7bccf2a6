use crate::helpers::fresh_database;
use chrono::{TimeZone, Utc};
use cohort::seed::{instance_is_empty, seed_demo};

#[tokio::test]
async fn seeding_the_demo_twice_adds_nothing_the_second_time() {
    let pool = fresh_database().await;
    assert!(instance_is_empty(&pool).await.unwrap());
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();

    let first = seed_demo(&pool, now).await.unwrap();
    assert_eq!((first.groups, first.members, first.events), (1, 6, 4));
    let second = seed_demo(&pool, now).await.unwrap();
    assert!(second.is_empty(), "{second:?}");
    assert!(!instance_is_empty(&pool).await.unwrap());

    let (events, organizers): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events),
                (SELECT count(*) FROM memberships WHERE role = 'organizer')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((events, organizers), (4, 1));

    // The demo has life in it: who came to v1.3 (checked in), talks, a comment, and
    // RSVPs for the next meetup; seeding again adds none of it twice.
    let (attended, talks, comments, rsvps): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM rsvps WHERE checked_in_at IS NOT NULL),
                (SELECT count(*) FROM talks), (SELECT count(*) FROM event_comments),
                (SELECT count(*) FROM rsvps)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((attended, talks, comments, rsvps), (5, 4, 2, 10));

    // Six weeks of sleep, steps, mood and energy per demo member, landed and distilled,
    // three of them shared with the group as aggregates (and energy by three members), all within each metric's bounds.
    let (raw, observations, outcomes, shares, out_of_bounds): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM raw_observations), (SELECT count(*) FROM observations),
                    (SELECT count(*) FROM raw_outcomes WHERE accepted),
                    (SELECT count(*) FROM metric_shares WHERE level = 'aggregate'),
                    (SELECT count(*) FROM observations o JOIN metrics m ON m.id = o.metric_id
                      WHERE o.value < m.min_value OR o.value > m.max_value)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (raw, observations, outcomes),
        (6 * 42 * 4, 6 * 42 * 4, 6 * 42 * 4)
    );
    assert_eq!((shares, out_of_bounds), (6 * 3 + 3, 0));

    // The past meetup, QSNB Meetup v1.3, shows the group's figures frozen for it (sleep,
    // steps and mood published, energy withheld) and a talk with a frozen insight.
    let (published, withheld, frozen_talks): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE f.published), count(*) FILTER (WHERE NOT f.published),
                (SELECT count(*) FROM talk_insights ti JOIN talks t ON t.id = ti.talk_id
                  WHERE t.event_id = e.id)
           FROM events e JOIN meetup_figures f ON f.event_id = e.id
          WHERE e.source_key = 'qsnb-meetup-v1.3' GROUP BY e.id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((published, withheld, frozen_talks), (3, 1, 1));
}

#[tokio::test]
async fn two_processes_seeding_at_once_add_the_demo_once() {
    let pool = fresh_database().await;
    let now = Utc::now();
    let (a, b) = tokio::join!(seed_demo(&pool, now), seed_demo(&pool, now));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.groups + b.groups, 1);
    let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM groups")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(groups, 1);
}

#[tokio::test]
async fn the_first_meetup_is_stored_as_an_instant_with_its_zone() {
    let pool = fresh_database().await;
    seed_demo(&pool, Utc::now()).await.unwrap();
    let (starts_at, zone): (chrono::DateTime<Utc>, String) = sqlx::query_as(
        "SELECT starts_at, time_zone FROM events WHERE source_key = 'qsnb-meetup-v1.3'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        starts_at,
        Utc.with_ymd_and_hms(2013, 2, 27, 2, 30, 0).unwrap()
    );
    assert_eq!(zone, "America/Los_Angeles");
}
