//! Compute, per group: the figures of each metric that members share with the group,
//! published as snapshots that never single a member out.
//!
//! Privacy, by construction:
//! - Only shares enter (`metric_shares`, which follow membership): a member's private
//!   metrics are never read here.
//! - A figure exists only when at least k distinct members contribute (the group's
//!   `figure_k`, 5 by default, never below 3); below that it is withheld with the reason.
//! - Differencing: comparing two published figures must not reveal one member's value.
//!   Figures are published as snapshots at fixed times (the top of each hour), and the
//!   members counted in a snapshot may differ from those of the last published one only by
//!   none or by at least k members ([`decide`]). Members who start sharing wait until k of
//!   them can join at once; a member who stops sharing leaves at the next snapshot, and
//!   while fewer than k have left since the last snapshot the figure is withheld (the old
//!   one, which counted them, is not shown either).
//! - Each member's own percentile is kept for that member alone.
//! - Relations across the group ([`publish_relations`]) follow the same two rules, over
//!   the members who share both metrics of a pair.

use crate::jobs::Job;
use crate::stats::{daily::Day, linregress, mean, percentile_rank, percentiles};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};

/// The fewest members a group figure may count, whatever a group sets.
pub const MIN_K: i32 = 3;
/// The percentiles published.
pub const PERCENTILES: [f64; 5] = [10.0, 25.0, 50.0, 75.0, 90.0];
/// Weeks in the weekly bands of the recent window.
pub const WEEKS: i64 = 12;

/// Job: publish a group's figures (one pending per group, due at the next snapshot time).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupFigures {
    pub group_id: i64,
}

impl Job for GroupFigures {
    const KIND: &'static str = "group_figures";
    const QUEUE: &'static str = "pipeline";
    const MAX_ATTEMPTS: i32 = 10;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.group_id.to_string())
    }
}

/// The next snapshot time: the next full hour.
pub fn next_snapshot(now: DateTime<Utc>) -> DateTime<Utc> {
    let hour = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    hour + TimeDelta::hours(1)
}

/// Schedules the next snapshot of every group that `user_id` shares anything with
/// (after their data or their shares changed).
pub async fn schedule_for_member(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    let groups: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT group_id FROM metric_shares WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?;
    for group_id in groups {
        schedule(conn, group_id).await?;
    }
    Ok(())
}

/// Schedules the group's next snapshot.
pub async fn schedule(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    GroupFigures { group_id }
        .enqueue_at(conn, Some(next_snapshot(Utc::now())))
        .await?;
    Ok(())
}

/// Whom a snapshot may count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Publish over these members.
    Publish(BTreeSet<i64>),
    Withhold(String),
}

/// The differencing rule: the members counted may differ from the last published
/// snapshot's by none or by at least `k`.
pub fn decide(sharing: &BTreeSet<i64>, published: Option<&BTreeSet<i64>>, k: usize) -> Decision {
    if sharing.len() < k {
        return Decision::Withhold(format!(
            "shared by {} member{}; shown from {k}",
            sharing.len(),
            if sharing.len() == 1 { "" } else { "s" }
        ));
    }
    let Some(published) = published else {
        return Decision::Publish(sharing.clone());
    };
    let joined = sharing.difference(published).count();
    let left = published.difference(sharing).count();
    if joined + left == 0 || joined + left >= k {
        Decision::Publish(sharing.clone())
    } else if left == 0 {
        // Newcomers wait until k of them can be counted at once.
        Decision::Publish(published.clone())
    } else {
        Decision::Withhold(format!(
            "the members sharing it changed since the last figures; shown again once {k} have joined or left"
        ))
    }
}

/// One window's published figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub members: usize,
    pub mean: f64,
    /// The members' means at [`PERCENTILES`] (numpy's linear interpolation).
    pub percentiles: Vec<f64>,
    /// Weekly bands (the recent window only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weeks: Vec<Week>,
    /// Least-squares slope of the weekly medians, per week.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_slope: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Week {
    pub monday: NaiveDate,
    /// Members counted that week; the band is absent below k.
    pub members: usize,
    pub percentiles: Option<Vec<f64>>,
}

/// The windows a group's figures are computed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last 28 days.
    Recent,
    /// From the group's last past meetup to today.
    SinceMeetup,
    /// From the meetup before it to the day before the last.
    BeforeMeetup,
}

impl Window {
    pub fn key(self) -> &'static str {
        match self {
            Window::Recent => "recent",
            Window::SinceMeetup => super::meetup::SINCE_MEETUP,
            Window::BeforeMeetup => super::meetup::BEFORE_MEETUP,
        }
    }
}

/// Figures of one window from the members' daily values (pure): `values` by member.
pub fn figures(
    values: &BTreeMap<i64, Vec<Day>>,
    counted: &BTreeSet<i64>,
    from: NaiveDate,
    to: NaiveDate,
    k: usize,
    weekly: bool,
) -> Option<(Figures, BTreeMap<i64, f64>)> {
    let in_window = |d: &&Day| d.date >= from && d.date <= to;
    let means: BTreeMap<i64, f64> = counted
        .iter()
        .filter_map(|id| {
            let days: Vec<f64> = values
                .get(id)?
                .iter()
                .filter(in_window)
                .map(|d| d.value)
                .collect();
            Some((*id, mean(&days)?))
        })
        .collect();
    let all: Vec<f64> = means.values().copied().collect();
    let ranks = means
        .iter()
        .filter_map(|(id, m)| Some((*id, percentile_rank(&all, *m)?)))
        .collect();
    let mut weeks = Vec::new();
    if weekly {
        let last_monday = to - TimeDelta::days(to.weekday().num_days_from_monday() as i64);
        for w in (0..WEEKS).rev() {
            let monday = last_monday - TimeDelta::weeks(w);
            let sunday = monday + TimeDelta::days(6);
            let week_means: Vec<f64> = counted
                .iter()
                .filter_map(|id| {
                    let days: Vec<f64> = values
                        .get(id)?
                        .iter()
                        .filter(|d| d.date >= monday && d.date <= sunday)
                        .map(|d| d.value)
                        .collect();
                    mean(&days)
                })
                .collect();
            weeks.push(Week {
                monday,
                members: week_means.len(),
                percentiles: (week_means.len() >= k)
                    .then(|| percentiles(&week_means, &PERCENTILES))
                    .flatten(),
            });
        }
    }
    let (x, y): (Vec<f64>, Vec<f64>) = weeks
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some((i as f64, w.percentiles.as_ref()?[2])))
        .unzip();
    Some((
        Figures {
            from,
            to,
            members: all.len(),
            mean: mean(&all)?,
            percentiles: percentiles(&all, &PERCENTILES)?,
            weekly_slope: linregress(&x, &y).map(|r| r.slope),
            weeks,
        },
        ranks,
    ))
}

impl GroupFigures {
    pub async fn run(self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        super::meetup::lock_group(&mut tx, self.group_id).await?;
        // The meetup that has just started keeps the figures published before it.
        super::meetup::around_group_run(&mut tx, self.group_id).await?;
        let group: Option<(i32, NaiveDate)> = sqlx::query_as(
            "SELECT figure_k, (now() AT TIME ZONE time_zone)::date FROM groups WHERE id = $1",
        )
        .bind(self.group_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((k, today)) = group else {
            return Ok(());
        };
        let k = k.max(MIN_K) as usize;
        let meetups: Vec<NaiveDate> = sqlx::query_scalar(
            "SELECT (e.starts_at AT TIME ZONE g.time_zone)::date FROM events e
               JOIN groups g ON g.id = e.group_id
              WHERE e.group_id = $1 AND e.status = 'scheduled' AND e.starts_at < now()
              ORDER BY e.starts_at DESC LIMIT 2",
        )
        .bind(self.group_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut windows = vec![(Window::Recent, today - TimeDelta::days(27), today)];
        if let Some(last) = meetups.first() {
            windows.push((Window::SinceMeetup, *last, today));
            if let Some(before) = meetups.get(1) {
                windows.push((Window::BeforeMeetup, *before, *last - TimeDelta::days(1)));
            }
        }
        // Figures of metrics nobody shares any more, and windows that no longer exist, go.
        sqlx::query(
            "DELETE FROM group_figures f WHERE f.group_id = $1
                AND (NOT EXISTS (SELECT 1 FROM metric_shares s
                                  WHERE s.group_id = f.group_id AND s.metric_id = f.metric_id)
                     OR NOT (f.window_key = ANY($2)))",
        )
        .bind(self.group_id)
        .bind(windows.iter().map(|w| w.0.key()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        let metrics: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT metric_id FROM metric_shares WHERE group_id = $1 ORDER BY 1",
        )
        .bind(self.group_id)
        .fetch_all(&mut *tx)
        .await?;
        let earliest = windows.iter().map(|w| w.1).min().unwrap_or(today) - TimeDelta::weeks(WEEKS);
        for metric_id in metrics {
            let rows: Vec<(i64, NaiveDate, f64)> = sqlx::query_as(
                "SELECT s.user_id, d.day, d.value FROM metric_shares s
                   JOIN daily_values d ON d.user_id = s.user_id AND d.metric_id = s.metric_id
                  WHERE s.group_id = $1 AND s.metric_id = $2 AND d.day BETWEEN $3 AND $4
                  ORDER BY s.user_id, d.day",
            )
            .bind(self.group_id)
            .bind(metric_id)
            .bind(earliest)
            .bind(today)
            .fetch_all(&mut *tx)
            .await?;
            let mut values: BTreeMap<i64, Vec<Day>> = BTreeMap::new();
            for (user_id, date, value) in rows {
                values.entry(user_id).or_default().push(Day {
                    date,
                    value,
                    count: 1,
                });
            }
            for &(window, from, to) in &windows {
                let sharing: BTreeSet<i64> = values
                    .iter()
                    .filter(|(_, days)| days.iter().any(|d| d.date >= from && d.date <= to))
                    .map(|(id, _)| *id)
                    .collect();
                let published: Option<Vec<i64>> = sqlx::query_scalar(
                    "SELECT published_contributors FROM group_figures
                      WHERE group_id = $1 AND metric_id = $2 AND window_key = $3",
                )
                .bind(self.group_id)
                .bind(metric_id)
                .bind(window.key())
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
                let published: Option<BTreeSet<i64>> =
                    published.map(|ids| ids.into_iter().collect());
                let decision = decide(&sharing, published.as_ref(), k);
                let (figures, ranks, contributors, reason) = match &decision {
                    Decision::Publish(counted) => {
                        match figures(&values, counted, from, to, k, window == Window::Recent) {
                            Some((f, ranks)) => {
                                (Some(f), ranks, Some(counted.clone()), String::new())
                            }
                            None => (None, BTreeMap::new(), None, "no values".into()),
                        }
                    }
                    Decision::Withhold(reason) => (None, BTreeMap::new(), None, reason.clone()),
                };
                // A withheld figure keeps the last published set as the reference.
                let reference: Option<Vec<i64>> = contributors
                    .or(published)
                    .map(|set| set.into_iter().collect());
                sqlx::query(
                    "INSERT INTO group_figures (group_id, metric_id, window_key, published, reason,
                                                published_contributors, figures, computed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, now())
                     ON CONFLICT (group_id, metric_id, window_key) DO UPDATE
                        SET published = EXCLUDED.published, reason = EXCLUDED.reason,
                            published_contributors = EXCLUDED.published_contributors,
                            figures = EXCLUDED.figures, computed_at = now()",
                )
                .bind(self.group_id)
                .bind(metric_id)
                .bind(window.key())
                .bind(figures.is_some())
                .bind(&reason)
                .bind(reference)
                .bind(
                    figures
                        .as_ref()
                        .map(|f| serde_json::to_value(f).unwrap_or_default()),
                )
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "DELETE FROM group_figure_ranks WHERE group_id = $1 AND metric_id = $2 AND window_key = $3",
                )
                .bind(self.group_id)
                .bind(metric_id)
                .bind(window.key())
                .execute(&mut *tx)
                .await?;
                let (ids, pcts): (Vec<i64>, Vec<f64>) = ranks.into_iter().unzip();
                sqlx::query(
                    "INSERT INTO group_figure_ranks (group_id, metric_id, window_key, user_id, percentile)
                     SELECT $1, $2, $3, c.user_id, c.percentile
                       FROM UNNEST($4::bigint[], $5::float8[]) AS c(user_id, percentile)",
                )
                .bind(self.group_id)
                .bind(metric_id)
                .bind(window.key())
                .bind(ids)
                .bind(pcts)
                .execute(&mut *tx)
                .await?;
            }
        }
        publish_relations(&mut tx, self.group_id, k).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Relations that hold across the group: each pair of metrics (at a lag) both of which
/// at least k members share with the group, over the members who share both and have
/// had the pair tested on their own data: for how many of them it holds (is shown as
/// their insight) and the median of their r. Published under the same rules as the
/// figures: at least k members, and the members counted differ from the last published
/// set by none or by at least k ([`decide`]).
async fn publish_relations(
    conn: &mut PgConnection,
    group_id: i64,
    k: usize,
) -> Result<(), sqlx::Error> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT m.key FROM metric_shares s JOIN metrics m ON m.id = s.metric_id AND m.owner_id IS NULL
          WHERE s.group_id = $1 GROUP BY m.key HAVING count(DISTINCT s.user_id) >= $2",
    )
    .bind(group_id)
    .bind(k as i64)
    .fetch_all(&mut *conn)
    .await?;
    let tests: Vec<(i64, String, String, i16, f64, bool)> = sqlx::query_as(
        "SELECT p.user_id, p.a, p.b, p.lag_days, p.pearson_r, p.shown FROM pair_tests p
          WHERE p.a = ANY($2) AND p.b = ANY($2)
            AND EXISTS (SELECT 1 FROM metric_shares s JOIN metrics m ON m.id = s.metric_id
                         WHERE s.group_id = $1 AND s.user_id = p.user_id AND m.owner_id IS NULL AND m.key = p.a)
            AND EXISTS (SELECT 1 FROM metric_shares s JOIN metrics m ON m.id = s.metric_id
                         WHERE s.group_id = $1 AND s.user_id = p.user_id AND m.owner_id IS NULL AND m.key = p.b)
          ORDER BY p.a, p.b, p.lag_days, p.user_id",
    )
    .bind(group_id)
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    /// A pair (a, b, lag) and, per member tested, their r and whether it holds for them.
    type Tested = BTreeMap<(String, String, i16), BTreeMap<i64, (f64, bool)>>;
    let mut pairs: Tested = BTreeMap::new();
    for (user_id, a, b, lag, r, shown) in tests {
        pairs
            .entry((a, b, lag))
            .or_default()
            .insert(user_id, (r, shown));
    }
    // Pairs no longer tested on anyone who shares both go.
    let (a_keys, b_keys, lags): (Vec<String>, Vec<String>, Vec<i16>) = pairs
        .keys()
        .map(|(a, b, lag)| (a.clone(), b.clone(), *lag))
        .fold(
            (vec![], vec![], vec![]),
            |(mut a, mut b, mut l), (x, y, z)| {
                a.push(x);
                b.push(y);
                l.push(z);
                (a, b, l)
            },
        );
    sqlx::query(
        "DELETE FROM group_relations r WHERE r.group_id = $1
            AND NOT EXISTS (SELECT 1 FROM UNNEST($2::text[], $3::text[], $4::smallint[]) AS k(a, b, lag)
                             WHERE k.a = r.a AND k.b = r.b AND k.lag = r.lag_days)",
    )
    .bind(group_id)
    .bind(&a_keys)
    .bind(&b_keys)
    .bind(&lags)
    .execute(&mut *conn)
    .await?;
    for ((a, b, lag), tested) in pairs {
        let sharing: BTreeSet<i64> = tested.keys().copied().collect();
        let published: Option<Vec<i64>> = sqlx::query_scalar(
            "SELECT published_contributors FROM group_relations
              WHERE group_id = $1 AND a = $2 AND b = $3 AND lag_days = $4",
        )
        .bind(group_id)
        .bind(&a)
        .bind(&b)
        .bind(lag)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
        let published: Option<BTreeSet<i64>> = published.map(|ids| ids.into_iter().collect());
        let (counted, reason) = match decide(&sharing, published.as_ref(), k) {
            Decision::Publish(counted) => (Some(counted), String::new()),
            Decision::Withhold(reason) => (None, reason),
        };
        let figures = counted.as_ref().and_then(|counted| {
            let rs: Vec<f64> = counted
                .iter()
                .filter_map(|id| tested.get(id).map(|t| t.0))
                .collect();
            let holds = counted
                .iter()
                .filter(|id| tested.get(id).is_some_and(|t| t.1))
                .count();
            let median = percentiles(&rs, &[50.0])?.first().copied()?;
            Some((rs.len() as i32, holds as i32, median))
        });
        let reference: Option<Vec<i64>> = counted
            .filter(|_| figures.is_some())
            .or(published)
            .map(|set| set.into_iter().collect());
        sqlx::query(
            "INSERT INTO group_relations (group_id, a, b, lag_days, published, reason,
                                          published_contributors, tested, holds, median_r, computed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
             ON CONFLICT (group_id, a, b, lag_days) DO UPDATE
                SET published = EXCLUDED.published, reason = EXCLUDED.reason,
                    published_contributors = EXCLUDED.published_contributors,
                    tested = EXCLUDED.tested, holds = EXCLUDED.holds,
                    median_r = EXCLUDED.median_r, computed_at = now()",
        )
        .bind(group_id)
        .bind(&a)
        .bind(&b)
        .bind(lag)
        .bind(figures.is_some())
        .bind(&reason)
        .bind(reference)
        .bind(figures.map(|f| f.0))
        .bind(figures.map(|f| f.1))
        .bind(figures.map(|f| f.2))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn fewer_than_k_are_withheld_with_the_reason() {
        assert_eq!(
            decide(&set(&[1, 2, 3]), None, 5),
            Decision::Withhold("shared by 3 members; shown from 5".into())
        );
        assert_eq!(
            decide(&set(&[1, 2, 3, 4, 5]), None, 5),
            Decision::Publish(set(&[1, 2, 3, 4, 5]))
        );
    }

    #[test]
    fn the_counted_set_moves_by_none_or_by_at_least_k() {
        let five = set(&[1, 2, 3, 4, 5]);
        // One joins: counted as before until k can join at once.
        assert_eq!(
            decide(&set(&[1, 2, 3, 4, 5, 6]), Some(&five), 5),
            Decision::Publish(five.clone())
        );
        // Five join at once: all counted.
        let ten = set(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(decide(&ten, Some(&five), 5), Decision::Publish(ten.clone()));
        // One of ten leaves: withheld, neither the old figure nor the new.
        assert!(matches!(
            decide(&set(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), Some(&ten), 5),
            Decision::Withhold(_)
        ));
        // The same members: published again.
        assert_eq!(decide(&ten, Some(&ten), 5), Decision::Publish(ten.clone()));
    }

    #[test]
    fn snapshots_fall_on_the_hour() {
        let at: DateTime<Utc> = "2026-12-03T07:42:10Z".parse().unwrap();
        assert_eq!(next_snapshot(at).to_rfc3339(), "2026-12-03T08:00:00+00:00");
    }

    #[test]
    fn figures_use_each_members_mean_and_numpy_percentiles() {
        let day = |d: u32, v: f64| Day {
            date: NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            value: v,
            count: 1,
        };
        let values: BTreeMap<i64, Vec<Day>> = (1..=5)
            .map(|id| (id, vec![day(10, id as f64), day(11, id as f64 + 2.0)]))
            .collect();
        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let (f, ranks) = figures(&values, &set(&[1, 2, 3, 4, 5]), from, to, 5, false).unwrap();
        assert_eq!(f.members, 5);
        assert_eq!(f.mean, 4.0);
        assert_eq!(
            f.percentiles,
            percentiles(&[2.0, 3.0, 4.0, 5.0, 6.0], &PERCENTILES).unwrap()
        );
        // scipy.stats.percentileofscore([2, 3, 4, 5, 6], 4) (kind="rank").
        assert_eq!(ranks[&3], 60.0);
    }
}
