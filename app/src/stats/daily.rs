//! What a member's daily values say, computed from the daily series alone: the numbers
//! behind the metric cards (means, trend, streaks, bests, weekday profile) and the tests
//! of every pair of metrics at lags 0 to 3 days with their Benjamini-Hochberg q.
//!
//! Pure, like the rest of `stats`: the pipeline's Compute stage runs it over what Index
//! stored, and the browser runs it again over a brushed date range.

use super::{
    benjamini_hochberg, linregress, mean, pair_test_ranked, ranks_in_order, PairTest, Regression,
};
use chrono::{Datelike, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One day's value of one metric, in the member's own calendar.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Day {
    pub date: NaiveDate,
    pub value: f64,
    /// Observations that made the value (0 for derived series such as meetup days).
    pub count: i32,
}

/// The key of the derived series of meetup attendance (1 on a day with a check-in).
pub const MEETUPS: &str = "meetups";

/// The smallest number of days with both values for a pair to be tested.
pub const MIN_PAIR_DAYS: usize = 14;
/// The longest lag tested, in days.
pub const MAX_LAG: i64 = 3;

/// The thresholds for showing a tested pair as an insight.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub max_q: f64,
    pub min_abs_r: f64,
}

impl Thresholds {
    /// Thresholds an instance may choose: `max_q` in (0, 1) (the false discovery rate the
    /// shown insights accept) and `min_abs_r` in [0, 1).
    pub fn new(max_q: f64, min_abs_r: f64) -> Result<Self, String> {
        if !(max_q > 0.0 && max_q < 1.0) {
            return Err(format!(
                "the insight q threshold must be above 0 and below 1, not {max_q}"
            ));
        }
        if !(0.0..1.0).contains(&min_abs_r) {
            return Err(format!(
                "the insight |r| threshold must be at least 0 and below 1, not {min_abs_r}"
            ));
        }
        Ok(Thresholds { max_q, min_abs_r })
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_q: 0.05,
            min_abs_r: 0.3,
        }
    }
}

/// The numbers of one metric's card, as of `as_of` (the member's today).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub as_of: NaiveDate,
    pub days_logged: usize,
    pub last: Option<Day>,
    /// Means over the days with a value among the last 7 and 28 days (today included),
    /// and over the 28 days before those.
    pub mean_7: Option<f64>,
    pub mean_28: Option<f64>,
    pub mean_prev_28: Option<f64>,
    /// Days with a value among the last 28, for adherence.
    pub logged_28: usize,
    /// The least-squares line over the last 28 days, x in days from the first of them.
    pub trend: Option<Trend>,
    /// Days in a row with a value, ending today (or yesterday, when today has none yet).
    pub streak: usize,
    pub longest_streak: usize,
    /// Days in a row at or past the goal, ending the same way; `None` without a goal.
    pub goal_streak: Option<usize>,
    pub best: Option<Day>,
    pub lowest: Option<Day>,
    /// Mean per weekday, Monday first; `None` for a weekday with no value.
    pub weekdays: [Option<f64>; 7],
}

/// A trend line with its 95% interval (Student t on n − 2 degrees of freedom).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub n: usize,
    /// Change per day, in the metric's canonical unit.
    pub slope: f64,
    pub stderr: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p: f64,
}

impl From<Regression> for Trend {
    fn from(r: Regression) -> Self {
        Trend {
            n: r.n,
            slope: r.slope,
            stderr: r.stderr,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
            p: r.p,
        }
    }
}

/// Sums up a series sorted by date (one entry per date).
pub fn summarise(days: &[Day], as_of: NaiveDate, goal: Option<f64>) -> Summary {
    let in_window = |from_back: i64, to_back: i64| -> Vec<&Day> {
        let first = as_of - TimeDelta::days(from_back);
        let last = as_of - TimeDelta::days(to_back);
        days.iter()
            .filter(|d| d.date >= first && d.date <= last)
            .collect()
    };
    let values = |window: &[&Day]| window.iter().map(|d| d.value).collect::<Vec<_>>();
    let last_7 = in_window(6, 0);
    let last_28 = in_window(27, 0);
    let prev_28 = in_window(55, 28);
    let trend = {
        let start = as_of - TimeDelta::days(27);
        let x: Vec<f64> = last_28
            .iter()
            .map(|d| (d.date - start).num_days() as f64)
            .collect();
        linregress(&x, &values(&last_28)).map(Trend::from)
    };
    let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
    let at_goal: Option<Vec<NaiveDate>> = goal.map(|goal| {
        days.iter()
            .filter(|d| d.value >= goal)
            .map(|d| d.date)
            .collect()
    });
    let mut weekday_values: [Vec<f64>; 7] = Default::default();
    for d in days {
        weekday_values[d.date.weekday().num_days_from_monday() as usize].push(d.value);
    }
    let by_value = |a: &&Day, b: &&Day| a.value.total_cmp(&b.value).then(b.date.cmp(&a.date));
    Summary {
        as_of,
        days_logged: days.len(),
        last: days.last().copied(),
        mean_7: mean(&values(&last_7)),
        mean_28: mean(&values(&last_28)),
        mean_prev_28: mean(&values(&prev_28)),
        logged_28: last_28.len(),
        trend,
        streak: current_run(&dates, as_of),
        longest_streak: longest_run(&dates),
        goal_streak: at_goal.map(|dates| current_run(&dates, as_of)),
        // The earliest day wins a tie for the best, the latest for the lowest.
        best: days.iter().max_by(by_value).copied(),
        lowest: days
            .iter()
            .min_by(|a, b| a.value.total_cmp(&b.value).then(a.date.cmp(&b.date)))
            .copied(),
        weekdays: weekday_values.map(|v| mean(&v)),
    }
}

/// The numbers of a stretch of consecutive days: what a brushed range of a metric's chart
/// shows, in the browser and on the server alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stretch {
    pub days: usize,
    pub logged: usize,
    pub mean: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The least-squares line through the logged days, x in days from the first day.
    pub trend: Option<Trend>,
}

/// Sums up one value per day, oldest first (`None` for a day without one).
pub fn stretch(values: &[Option<f64>]) -> Stretch {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            x.push(i as f64);
            y.push(v);
        }
    }
    Stretch {
        days: values.len(),
        logged: y.len(),
        mean: mean(&y),
        low: y.iter().copied().reduce(f64::min),
        high: y.iter().copied().reduce(f64::max),
        trend: linregress(&x, &y).map(Trend::from),
    }
}

/// Consecutive dates ending at `as_of`, or at the day before when `as_of` is missing.
fn current_run(sorted: &[NaiveDate], as_of: NaiveDate) -> usize {
    let mut expect = if sorted.binary_search(&as_of).is_ok() {
        as_of
    } else {
        as_of - TimeDelta::days(1)
    };
    let start = expect;
    let mut run = 0;
    for date in sorted.iter().rev().skip_while(|d| **d > start) {
        if *date != expect {
            break;
        }
        run += 1;
        expect -= TimeDelta::days(1);
    }
    run
}

fn longest_run(sorted: &[NaiveDate]) -> usize {
    let (mut best, mut run) = (0, 0);
    let mut previous: Option<NaiveDate> = None;
    for date in sorted {
        run = match previous {
            Some(p) if *date - p == TimeDelta::days(1) => run + 1,
            Some(p) if *date == p => run,
            _ => 1,
        };
        best = best.max(run);
        previous = Some(*date);
    }
    best
}

/// One tested pair: metric `a` on day d against metric `b` on day d + `lag_days`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tested {
    pub a: String,
    pub b: String,
    pub lag_days: i64,
    pub n: usize,
    pub pearson_r: f64,
    pub pearson_p: f64,
    pub spearman_r: f64,
    pub spearman_p: f64,
    pub n_eff: f64,
    pub p_adj: f64,
    pub q: f64,
    pub shown: bool,
}

/// Tests every pair of series at lags 0 to [`MAX_LAG`]: at lag 0 each unordered pair
/// once (in key order), at later lags both directions. A pair is tested when at least
/// [`MIN_PAIR_DAYS`] days have both values and neither side is constant; q is
/// Benjamini-Hochberg over the p_adj of every test made. The result is in a fixed order
/// (a, b, lag), whatever the order of `series`.
pub fn test_pairs(series: &BTreeMap<String, Vec<Day>>, thresholds: Thresholds) -> Vec<Tested> {
    // Each series as one slot per day: a pair's days are found by index, not by a
    // look-up per day (the same days as [`paired_days`]).
    let lookup: BTreeMap<&str, Dense> = series
        .iter()
        .map(|(key, days)| (key.as_str(), Dense::new(days)))
        .collect();
    let mut tests: Vec<(String, String, i64, PairTest)> = Vec::new();
    let keys: Vec<&str> = lookup.keys().copied().collect();
    for (i, a) in keys.iter().enumerate() {
        for (j, b) in keys.iter().enumerate() {
            if i == j {
                continue;
            }
            for lag in 0..=MAX_LAG {
                if lag == 0 && j < i {
                    continue;
                }
                let pairing = lookup[a].pairing(&lookup[b], lag);
                if pairing.xs.len() < MIN_PAIR_DAYS {
                    continue;
                }
                let (x_ranks, y_ranks) = pairing.ranks(&lookup[a], &lookup[b]);
                if let Some(test) = pair_test_ranked(&pairing.xs, &pairing.ys, &x_ranks, &y_ranks) {
                    tests.push((a.to_string(), b.to_string(), lag, test));
                }
            }
        }
    }
    let q = benjamini_hochberg(&tests.iter().map(|t| t.3.p_adj).collect::<Vec<_>>());
    tests
        .into_iter()
        .zip(q)
        .map(|((a, b, lag_days, t), q)| Tested {
            shown: q < thresholds.max_q && t.pearson.r.abs() >= thresholds.min_abs_r,
            a,
            b,
            lag_days,
            n: t.n,
            pearson_r: t.pearson.r,
            pearson_p: t.pearson.p,
            spearman_r: t.spearman.r,
            spearman_p: t.spearman.p,
            n_eff: t.n_eff,
            p_adj: t.p_adj,
            q,
        })
        .collect()
}

/// A series as one slot per day, from its first day to its last.
struct Dense {
    start: NaiveDate,
    values: Vec<Option<f64>>,
    /// The slots that have a value, by ascending value: the ranks of any pairing of the
    /// series in one pass, without a sort per test.
    order: Vec<usize>,
}

impl Dense {
    fn new(days: &[Day]) -> Self {
        let Some(start) = days.iter().map(|d| d.date).min() else {
            return Self {
                start: NaiveDate::MIN,
                values: Vec::new(),
                order: Vec::new(),
            };
        };
        let mut values = Vec::new();
        for day in days {
            let slot = (day.date - start).num_days() as usize;
            if slot >= values.len() {
                values.resize(slot + 1, None);
            }
            // A date given twice: the last one counts, as in a map built from the days.
            values[slot] = Some(day.value);
        }
        let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some()).collect();
        order.sort_unstable_by(|&i, &j| {
            let value = |slot: usize| values[slot].unwrap_or_default();
            value(i).total_cmp(&value(j))
        });
        Self {
            start,
            values,
            order,
        }
    }

    /// [`paired_days`]'s values: on each day d (oldest first) with a value here and one
    /// in `other` on day d + `lag`, both.
    #[cfg(test)]
    fn paired(&self, other: &Dense, lag: i64) -> (Vec<f64>, Vec<f64>) {
        let pairing = self.pairing(other, lag);
        (pairing.xs, pairing.ys)
    }

    /// [`Self::paired`], with where each pair came from.
    fn pairing(&self, other: &Dense, lag: i64) -> Pairing {
        // Slot i here is slot i + shift in `other`.
        let shift = (self.start - other.start).num_days() + lag;
        let mut pairing = Pairing {
            xs: Vec::with_capacity(self.values.len()),
            ys: Vec::with_capacity(self.values.len()),
            shift,
            place: vec![None; self.values.len()],
        };
        for (i, x) in self.values.iter().enumerate() {
            let (Some(x), Ok(j)) = (x, usize::try_from(i as i64 + shift)) else {
                continue;
            };
            if let Some(Some(y)) = other.values.get(j) {
                pairing.place[i] = Some(pairing.xs.len());
                pairing.xs.push(*x);
                pairing.ys.push(*y);
            }
        }
        pairing
    }
}

/// Two series paired at a lag ([`Dense::pairing`]).
struct Pairing {
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// Slot i of the first series is slot i + shift of the second.
    shift: i64,
    /// For each slot of the first series, its pair's place in `xs` and `ys`.
    place: Vec<Option<usize>>,
}

impl Pairing {
    /// The ranks of `xs` and of `ys` (as [`crate::stats::ranks`] gives them), from each
    /// series' order: a pass over each, no sort.
    fn ranks(&self, first: &Dense, second: &Dense) -> (Vec<f64>, Vec<f64>) {
        let place = |slot: i64| -> Option<usize> { *self.place.get(usize::try_from(slot).ok()?)? };
        let n = self.xs.len();
        let x = first
            .order
            .iter()
            .filter_map(|&slot| place(slot as i64).map(|k| (k, self.xs[k])));
        let y = second
            .order
            .iter()
            .filter_map(|&slot| place(slot as i64 - self.shift).map(|k| (k, self.ys[k])));
        (ranks_in_order(n, x), ranks_in_order(n, y))
    }
}

/// The days d on which `a` has a value and `b` has one on day d + `lag`: (d, a, b),
/// oldest first. What a pair is tested on, and what its scatter plot draws.
pub fn paired_days(
    a: &BTreeMap<NaiveDate, f64>,
    b: &BTreeMap<NaiveDate, f64>,
    lag: i64,
) -> Vec<(NaiveDate, f64, f64)> {
    a.iter()
        .filter_map(|(date, x)| {
            b.get(&(*date + TimeDelta::days(lag)))
                .map(|y| (*date, *x, *y))
        })
        .collect()
}

/// What logging would make a pair testable: Measure's way back to Capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nudge {
    /// The metric to log (never meetups: attendance is not logged).
    pub log: String,
    /// Days with both values still missing.
    pub more_days: usize,
    pub a: String,
    pub b: String,
}

/// Pairs (lag 0) of metrics both logged in the 28 days up to `as_of` that have fewer than
/// [`MIN_PAIR_DAYS`] days with both values: how many more days of the scarcer one would
/// make them testable. Closest first, at most `limit`.
pub fn nudges(series: &BTreeMap<String, Vec<Day>>, as_of: NaiveDate, limit: usize) -> Vec<Nudge> {
    let recent = as_of - TimeDelta::days(27);
    let active: Vec<(&str, Vec<NaiveDate>)> = series
        .iter()
        .filter(|(key, days)| key.as_str() != MEETUPS && days.iter().any(|d| d.date >= recent))
        .map(|(key, days)| (key.as_str(), days.iter().map(|d| d.date).collect()))
        .collect();
    let mut out = Vec::new();
    for (i, (a, a_days)) in active.iter().enumerate() {
        for (b, b_days) in &active[i + 1..] {
            let both = a_days
                .iter()
                .filter(|d| b_days.binary_search(d).is_ok())
                .count();
            if both >= MIN_PAIR_DAYS {
                continue;
            }
            let log = if a_days.len() <= b_days.len() { a } else { b };
            out.push(Nudge {
                log: log.to_string(),
                more_days: MIN_PAIR_DAYS - both,
                a: a.to_string(),
                b: b.to_string(),
            });
        }
    }
    out.sort_by(|x, y| {
        x.more_days
            .cmp(&y.more_days)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    out.truncate(limit);
    out
}

/// A nudge as a sentence: "Log sleep on 6 more days and sleep vs mood can be tested."
pub fn nudge_sentence(nudge: &Nudge, name: impl Fn(&str) -> String) -> String {
    format!(
        "Log {} on {} more day{} and {} vs {} can be tested.",
        name(&nudge.log),
        nudge.more_days,
        if nudge.more_days == 1 { "" } else { "s" },
        name(&nudge.a),
        name(&nudge.b)
    )
}

/// For a test of meetup days against a metric: the metric's mean on the days after a
/// meetup day (d + lag, d with a check-in) minus its mean on the days after other days,
/// over the days the pair is tested on, in the metric's canonical unit. `None` for any
/// other test, or when either side has no day. Its sign is the sign of the test's r
/// (r of a 0/1 series is the point-biserial correlation).
pub fn meetup_difference(series: &BTreeMap<String, Vec<Day>>, test: &Tested) -> Option<f64> {
    if test.a != MEETUPS || test.b == MEETUPS {
        return None;
    }
    let by_date = |key: &str| -> Option<BTreeMap<NaiveDate, f64>> {
        Some(series.get(key)?.iter().map(|d| (d.date, d.value)).collect())
    };
    let pairs = paired_days(&by_date(MEETUPS)?, &by_date(&test.b)?, test.lag_days);
    let (on, off): (Vec<f64>, Vec<f64>) = (
        pairs.iter().filter(|p| p.1 >= 0.5).map(|p| p.2).collect(),
        pairs.iter().filter(|p| p.1 < 0.5).map(|p| p.2).collect(),
    );
    Some(mean(&on)? - mean(&off)?)
}

/// The plain sentence of a shown pair: direction, size, lag, n and how sure. `name`
/// gives a metric's name from its key (lower case, as in running text).
pub fn sentence(test: &Tested, name: impl Fn(&str) -> String) -> String {
    sentence_with(test, name, None)
}

/// [`sentence`], saying for meetup days against a metric by how much it differs:
/// `amount` is [`meetup_difference`] as the member reads it, with its direction
/// ("40 min less", "0.8 points higher").
pub fn sentence_with(test: &Tested, name: impl Fn(&str) -> String, amount: Option<&str>) -> String {
    let higher = if test.pearson_r >= 0.0 {
        "higher"
    } else {
        "lower"
    };
    let strength = match test.pearson_r.abs() {
        r if r >= 0.7 => "strongly",
        r if r >= 0.5 => "clearly",
        _ => "somewhat",
    };
    // Two metrics on the same day: neither comes first, so the sentence says they move
    // together (not "on days with more mood, your sleep is higher").
    if test.lag_days == 0 && test.a != MEETUPS && test.b != MEETUPS {
        let together = if test.pearson_r >= 0.0 {
            format!(
                "Your {} and your {} rise and fall together",
                name(&test.a),
                name(&test.b)
            )
        } else {
            format!(
                "On days when your {} is higher, your {} tends to be lower",
                name(&test.a),
                name(&test.b)
            )
        };
        return format!(
            "{together} ({strength}): r = {:.2} over {} days, {}.",
            test.pearson_r,
            test.n,
            format_q(test.q)
        );
    }
    let when = match (test.a.as_str(), test.lag_days) {
        (MEETUPS, 0) => "On meetup days".to_string(),
        (MEETUPS, 1) => "On days after a meetup".to_string(),
        (MEETUPS, k) => format!("{k} days after a meetup"),
        (a, 0) => format!("On days with more {}", name(a)),
        (a, 1) => format!("On days after more {}", name(a)),
        (a, k) => format!("{k} days after more {}", name(a)),
    };
    let what = if let (MEETUPS, Some(amount)) = (test.a.as_str(), amount) {
        format!("your {} is {amount} than on other days", name(&test.b))
    } else if test.b == MEETUPS {
        let likely = if test.pearson_r >= 0.0 {
            "more"
        } else {
            "less"
        };
        format!("you are {likely} likely to be at a meetup")
    } else {
        format!("your {} is {higher}", name(&test.b))
    };
    format!(
        "{when}, {what} ({strength}): r = {:.2} over {} days, {}.",
        test.pearson_r,
        test.n,
        format_q(test.q)
    )
}

fn format_q(q: f64) -> String {
    if q < 0.001 {
        "q < 0.001".to_string()
    } else {
        format!("q = {q:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_skips_days_without_a_value_and_keeps_their_place_in_the_trend() {
        let values = [Some(1.0), None, Some(3.0), Some(5.0), None];
        let s = stretch(&values);
        assert_eq!((s.days, s.logged), (5, 3));
        assert_eq!((s.mean, s.low, s.high), (Some(3.0), Some(1.0), Some(5.0)));
        // Through (0, 1), (2, 3), (3, 5): the slope of linregress on those x.
        let fit = linregress(&[0.0, 2.0, 3.0], &[1.0, 3.0, 5.0]).unwrap();
        assert_eq!(s.trend, Some(Trend::from(fit)));
        // The last 28 days of a summary are a stretch: the same trend.
        let as_of = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let days: Vec<Day> = (0..40)
            .filter(|i| i % 3 != 0)
            .map(|i| Day {
                date: as_of - TimeDelta::days(39 - i),
                value: (i * i % 17) as f64,
                count: 1,
            })
            .collect();
        let window: Vec<Option<f64>> = (0..28)
            .map(|i| {
                let date = as_of - TimeDelta::days(27 - i);
                days.iter().find(|d| d.date == date).map(|d| d.value)
            })
            .collect();
        assert_eq!(stretch(&window).trend, summarise(&days, as_of, None).trend);
        assert_eq!(stretch(&[]), Stretch::default());
        assert_eq!(stretch(&[None, Some(f64::NAN)]).logged, 0);
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn series(start: &str, values: &[Option<f64>]) -> Vec<Day> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|value| Day {
                    date: date(start) + TimeDelta::days(i as i64),
                    value,
                    count: 1,
                })
            })
            .collect()
    }

    #[test]
    fn streaks_count_back_from_today_or_yesterday() {
        // 1..=10 March logged except the 4th; today is the 11th (not logged yet).
        let mut values = vec![Some(5.0); 10];
        values[3] = None;
        let days = series("2026-03-01", &values);
        let s = summarise(&days, date("2026-03-11"), Some(5.0));
        assert_eq!(s.streak, 6, "5th to 10th");
        assert_eq!(s.longest_streak, 6);
        assert_eq!(s.goal_streak, Some(6));
        // Two days without a value end the streak.
        let s = summarise(&days, date("2026-03-12"), None);
        assert_eq!((s.streak, s.goal_streak), (0, None));
    }

    #[test]
    fn windows_and_trend_use_the_right_days() {
        // 56 days, value = day index: the last 7 are 49..=55, the 28 before today 28..=55.
        let values: Vec<Option<f64>> = (0..56).map(|i| Some(i as f64)).collect();
        let days = series("2026-01-01", &values);
        let as_of = date("2026-01-01") + TimeDelta::days(55);
        let s = summarise(&days, as_of, None);
        assert_eq!(s.mean_7, Some(52.0));
        assert_eq!(s.mean_28, Some(41.5));
        assert_eq!(s.mean_prev_28, Some(13.5));
        let trend = s.trend.unwrap();
        assert_eq!(trend.n, 28);
        assert!((trend.slope - 1.0).abs() < 1e-12);
        assert_eq!(s.best.unwrap().value, 55.0);
        assert_eq!(s.lowest.unwrap().value, 0.0);
        assert_eq!(s.logged_28, 28);
    }

    #[test]
    fn thresholds_decide_what_is_shown_and_refuse_nonsense() {
        // a and b are the same series (r = 1 at lag 0), c is noise: looser thresholds show
        // at least as much, stricter ones at most as much, and |r| >= 0.999 shows only r = 1.
        let a: Vec<f64> = (0..40).map(|i| ((i * 37 % 23) as f64).sin()).collect();
        let a_days = series(
            "2026-01-01",
            &a.iter().map(|v| Some(*v)).collect::<Vec<_>>(),
        );
        let noise: Vec<Option<f64>> = (0..40)
            .map(|i| Some(((i * 53 % 17) as f64).cos()))
            .collect();
        let all = BTreeMap::from([
            ("a".to_string(), a_days.clone()),
            ("b".to_string(), a_days),
            ("c".to_string(), series("2026-01-01", &noise)),
        ]);
        let shown = |t: Thresholds| test_pairs(&all, t).iter().filter(|t| t.shown).count();
        let everything = Thresholds::new(0.999, 0.0).unwrap();
        let strict = Thresholds::new(1e-12, 0.999).unwrap();
        assert!(shown(everything) >= shown(Thresholds::default()));
        assert!(shown(Thresholds::default()) >= 1);
        assert!(shown(strict) <= shown(Thresholds::default()));
        assert!(test_pairs(&all, Thresholds::new(0.05, 0.999).unwrap())
            .iter()
            .filter(|t| t.shown)
            .all(|t| t.pearson_r.abs() >= 0.999));
        for (q, r) in [
            (0.0, 0.3),
            (1.0, 0.3),
            (f64::NAN, 0.3),
            (0.05, -0.1),
            (0.05, 1.0),
            (0.05, f64::NAN),
        ] {
            assert!(Thresholds::new(q, r).is_err(), "q {q}, r {r}");
        }
    }

    #[test]
    fn a_lagged_relation_is_found_at_its_lag_and_in_its_direction() {
        // b today follows a two days earlier; a itself is noise-like.
        let a: Vec<f64> = (0..60)
            .map(|i| ((i * 37 % 23) as f64).sin() * 10.0)
            .collect();
        let a_days = series(
            "2026-01-01",
            &a.iter().map(|v| Some(*v)).collect::<Vec<_>>(),
        );
        let b_days: Vec<Day> = a_days
            .iter()
            .map(|d| Day {
                date: d.date + TimeDelta::days(2),
                value: d.value * 3.0 + 1.0,
                count: 1,
            })
            .collect();
        let all = BTreeMap::from([("a".to_string(), a_days), ("b".to_string(), b_days)]);
        let tests = test_pairs(&all, Thresholds::default());
        let hit = tests
            .iter()
            .find(|t| t.a == "a" && t.b == "b" && t.lag_days == 2)
            .unwrap();
        assert!((hit.pearson_r - 1.0).abs() < 1e-9 && hit.shown);
        // Lag 0 is tested once, a before b; the reverse direction at lag 2 is not the hit.
        assert_eq!(tests.iter().filter(|t| t.lag_days == 0).count(), 1);
        let reverse = tests
            .iter()
            .find(|t| t.a == "b" && t.b == "a" && t.lag_days == 2)
            .unwrap();
        assert!(reverse.pearson_r.abs() < 0.9);
    }

    #[test]
    fn pairing_by_slot_finds_the_days_that_paired_days_finds() {
        let a = series(
            "2026-01-03",
            &[Some(1.0), None, Some(3.0), Some(4.0), None, Some(6.0)],
        );
        let b = series(
            "2026-01-01",
            &[
                Some(9.0),
                Some(8.0),
                None,
                Some(7.0),
                Some(6.0),
                None,
                Some(5.0),
                Some(4.0),
            ],
        );
        let map = |days: &[Day]| -> BTreeMap<NaiveDate, f64> {
            days.iter().map(|d| (d.date, d.value)).collect()
        };
        for (x, y) in [(&a, &b), (&b, &a), (&a, &a)] {
            for lag in 0..=MAX_LAG + 3 {
                let want: (Vec<f64>, Vec<f64>) = paired_days(&map(x), &map(y), lag)
                    .into_iter()
                    .map(|(_, p, q)| (p, q))
                    .unzip();
                assert_eq!(Dense::new(x).paired(&Dense::new(y), lag), want, "lag {lag}");
            }
        }
        let none = Dense::new(&[]);
        assert_eq!(none.paired(&Dense::new(&a), 0), (vec![], vec![]));
        assert_eq!(Dense::new(&a).paired(&none, 1), (vec![], vec![]));
    }

    #[test]
    fn ranks_from_the_series_order_are_the_ranks_of_the_pairing() {
        // Ties within a series, ties across the two, gaps, and series that start apart.
        let a = series(
            "2026-01-02",
            &[
                Some(2.0),
                Some(2.0),
                None,
                Some(5.0),
                Some(1.0),
                Some(2.0),
                Some(-0.0),
                Some(0.0),
                Some(5.0),
            ],
        );
        let b = series(
            "2026-01-01",
            &[
                Some(3.0),
                None,
                Some(3.0),
                Some(3.0),
                Some(1.0),
                Some(7.0),
                Some(2.0),
                None,
                Some(3.0),
                Some(1.0),
                Some(9.0),
            ],
        );
        for (x, y) in [(&a, &b), (&b, &a), (&a, &a)] {
            let (x, y) = (Dense::new(x), Dense::new(y));
            for lag in 0..=MAX_LAG + 3 {
                let pairing = x.pairing(&y, lag);
                let want = (
                    crate::stats::ranks(&pairing.xs),
                    crate::stats::ranks(&pairing.ys),
                );
                assert_eq!(pairing.ranks(&x, &y), want, "lag {lag}");
            }
        }
    }

    #[test]
    fn too_few_days_are_not_tested() {
        let a = series("2026-01-01", &[Some(1.0), Some(2.0), Some(4.0)].repeat(4));
        let b = series("2026-01-01", &[Some(3.0), Some(1.0), Some(2.0)].repeat(4));
        let all = BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
        assert!(test_pairs(&all, Thresholds::default()).is_empty());
    }

    #[test]
    fn nudges_name_the_scarcer_metric_and_the_days_missing() {
        let as_of = date("2026-03-30");
        let every = series("2026-03-01", &[Some(1.0); 30]);
        let some = series("2026-03-21", &[Some(2.0); 8]);
        let all = BTreeMap::from([
            ("mood".to_string(), every.clone()),
            ("sleep".to_string(), some),
            ("steps".to_string(), every),
        ]);
        let got = nudges(&all, as_of, 5);
        let sentences: Vec<String> = got
            .iter()
            .map(|n| nudge_sentence(n, |k| k.to_string()))
            .collect();
        assert_eq!(
            sentences,
            [
                "Log sleep on 6 more days and mood vs sleep can be tested.",
                "Log sleep on 6 more days and sleep vs steps can be tested.",
            ]
        );
    }

    #[test]
    fn meetup_difference_is_the_mean_after_meetup_days_minus_the_others() {
        let d = |i: i64| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + TimeDelta::days(i);
        let day = |i: i64, value: f64| Day {
            date: d(i),
            value,
            count: 1,
        };
        // Meetups on days 0 and 7; sleep 400 min after a meetup day, 450 or 470 otherwise.
        let meetups: Vec<Day> = (0..14)
            .map(|i| day(i, if i % 7 == 0 { 1.0 } else { 0.0 }))
            .collect();
        let sleep: Vec<Day> = (0..15)
            .map(|i| {
                day(
                    i,
                    if i % 7 == 1 {
                        400.0
                    } else if i % 2 == 0 {
                        450.0
                    } else {
                        470.0
                    },
                )
            })
            .collect();
        let series = BTreeMap::from([(MEETUPS.to_string(), meetups), ("sleep".to_string(), sleep)]);
        let mut test = Tested {
            a: MEETUPS.into(),
            b: "sleep".into(),
            lag_days: 1,
            n: 14,
            pearson_r: -0.9,
            pearson_p: 0.0,
            spearman_r: -0.9,
            spearman_p: 0.0,
            n_eff: 14.0,
            p_adj: 0.0,
            q: 0.0,
            shown: true,
        };
        // After meetup days (days 1 and 8): 400. After the other twelve (days 2-7, 9-14):
        // six even (450) and six odd (470), mean 460.
        let diff = meetup_difference(&series, &test).unwrap();
        assert!((diff - (400.0 - 460.0)).abs() < 1e-9, "{diff}");
        // Sign as r's: the same data at lag 0 has no meetup day with sleep 400.
        test.lag_days = 0;
        assert!(meetup_difference(&series, &test).unwrap() > 0.0);
        // Only meetups against a metric.
        test.a = "sleep".into();
        test.b = MEETUPS.into();
        assert_eq!(meetup_difference(&series, &test), None);
    }

    #[test]
    fn sentences_say_direction_lag_n_and_q() {
        let mut t = Tested {
            a: "steps".into(),
            b: "energy".into(),
            lag_days: 1,
            n: 83,
            pearson_r: 0.62,
            pearson_p: 0.0,
            spearman_r: 0.6,
            spearman_p: 0.0,
            n_eff: 40.0,
            p_adj: 0.0001,
            q: 0.0008,
            shown: true,
        };
        let name = |k: &str| k.to_string();
        assert_eq!(
            sentence(&t, name),
            "On days after more steps, your energy is higher (clearly): r = 0.62 over 83 days, q < 0.001."
        );
        t.a = MEETUPS.into();
        t.lag_days = 0;
        t.pearson_r = -0.41;
        t.q = 0.012;
        assert_eq!(
            sentence(&t, name),
            "On meetup days, your energy is lower (somewhat): r = -0.41 over 83 days, q = 0.012."
        );
        assert_eq!(
            sentence_with(&t, name, Some("40 min less")),
            "On meetup days, your energy is 40 min less than on other days (somewhat): r = -0.41 over 83 days, q = 0.012."
        );
        t.a = "sleep".into();
        t.b = "mood".into();
        // The amount is said only of meetup days against a metric.
        assert_eq!(
            sentence_with(&t, name, Some("1 h more")),
            sentence(&t, name)
        );
        t.pearson_r = 0.74;
        assert_eq!(
            sentence(&t, name),
            "Your sleep and your mood rise and fall together (strongly): r = 0.74 over 83 days, q = 0.012."
        );
        t.pearson_r = -0.3;
        assert_eq!(
            sentence(&t, name),
            "On days when your sleep is higher, your mood tends to be lower (somewhat): r = -0.30 over 83 days, q = 0.012."
        );
    }
}
