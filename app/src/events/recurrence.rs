//! Recurring meetups: the rules a series follows ("every week on Tuesday", "monthly on
//! the 15th", "the last Tuesday of the month") and the dates they give.
//!
//! Rules work on local calendar dates in the group's zone; the start time is applied in
//! that zone per date (`local_to_utc`), so a 6:30 PM meetup stays at 6:30 PM across
//! daylight-saving changes.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// How a series repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// Every `every` weeks on the weekday of the first date.
    Weekly { every: u8 },
    /// Each month on day `day` (months without that day are skipped).
    MonthlyOnDay { day: u8 },
    /// Each month on the `nth` (1 to 4, or -1 for the last) `weekday`
    /// (0 = Monday … 6 = Sunday).
    MonthlyOnWeekday { nth: i8, weekday: u8 },
}

/// At most this many occurrences are made ahead of time.
pub const MAX_AHEAD: usize = 12;

fn weekday_from(index: u8) -> Weekday {
    match index % 7 {
        0 => Weekday::Mon,
        1 => Weekday::Tue,
        2 => Weekday::Wed,
        3 => Weekday::Thu,
        4 => Weekday::Fri,
        5 => Weekday::Sat,
        _ => Weekday::Sun,
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn ordinal(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl Rule {
    /// Reads the rule a form describes: `repeat` is `weekly`, `biweekly`, `monthly_day`
    /// or `monthly_weekday`; the day and weekday come from the first date, and
    /// `last` picks the month's last such weekday.
    pub fn from_form(repeat: &str, first: NaiveDate, last: bool) -> Result<Option<Rule>, String> {
        Ok(Some(match repeat {
            "" | "none" => return Ok(None),
            "weekly" => Rule::Weekly { every: 1 },
            "biweekly" => Rule::Weekly { every: 2 },
            "monthly_day" => Rule::MonthlyOnDay {
                day: first.day() as u8,
            },
            "monthly_weekday" => {
                let nth = if last {
                    -1
                } else {
                    let nth = (first.day() as i8 - 1) / 7 + 1;
                    if nth > 4 {
                        return Err(
                            "A 5th weekday is not in every month: choose \"last\" instead.".into(),
                        );
                    }
                    nth
                };
                Rule::MonthlyOnWeekday {
                    nth,
                    weekday: first.weekday().num_days_from_monday() as u8,
                }
            }
            _ => return Err("Choose how the meetup repeats.".into()),
        }))
    }

    /// Checks the rule's numbers (a rule may come from a stored row or a request).
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Rule::Weekly { every } if (1..=4).contains(&every) => Ok(()),
            Rule::MonthlyOnDay { day } if (1..=31).contains(&day) => Ok(()),
            Rule::MonthlyOnWeekday { nth, weekday }
                if (nth == -1 || (1..=4).contains(&nth)) && weekday < 7 =>
            {
                Ok(())
            }
            _ => Err("That repeat rule is not one Cohort knows.".into()),
        }
    }

    /// "Every week on Tuesday", "Monthly on the last Tuesday".
    pub fn describe(&self, first: NaiveDate) -> String {
        match *self {
            Rule::Weekly { every: 1 } => format!("Every week on {}", weekday_name(first.weekday())),
            Rule::Weekly { every } => {
                format!("Every {every} weeks on {}", weekday_name(first.weekday()))
            }
            Rule::MonthlyOnDay { day } => format!("Monthly on the {}", ordinal(day.into())),
            Rule::MonthlyOnWeekday { nth: -1, weekday } => {
                format!(
                    "Monthly on the last {}",
                    weekday_name(weekday_from(weekday))
                )
            }
            Rule::MonthlyOnWeekday { nth, weekday } => format!(
                "Monthly on the {} {}",
                ordinal(nth.into()),
                weekday_name(weekday_from(weekday))
            ),
        }
    }

    /// The rule's date in the month of `year`/`month`, if that month has one.
    fn in_month(&self, year: i32, month: u32) -> Option<NaiveDate> {
        match *self {
            Rule::Weekly { .. } => None,
            Rule::MonthlyOnDay { day } => NaiveDate::from_ymd_opt(year, month, day.into()),
            Rule::MonthlyOnWeekday { nth: -1, weekday } => {
                let next_month = if month == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(year, month + 1, 1)
                }?;
                let mut day = next_month.pred_opt()?;
                while day.weekday() != weekday_from(weekday) {
                    day = day.pred_opt()?;
                }
                Some(day)
            }
            Rule::MonthlyOnWeekday { nth, weekday } => {
                NaiveDate::from_weekday_of_month_opt(year, month, weekday_from(weekday), nth as u8)
            }
        }
    }

    /// The series' dates from `first` on, within `from..=to`, skipping `exceptions`
    /// and anything after `until`; at most `limit`.
    pub fn dates(
        &self,
        first: NaiveDate,
        until: Option<NaiveDate>,
        exceptions: &[NaiveDate],
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> Vec<NaiveDate> {
        let end = until.map_or(to, |until| until.min(to));
        let keep = |date: &NaiveDate| {
            *date >= from && *date >= first && *date <= end && !exceptions.contains(date)
        };
        let mut dates = Vec::new();
        match *self {
            Rule::Weekly { every } => {
                let step = Duration::weeks(i64::from(every.max(1)));
                let mut date = first;
                // Jump close to `from` instead of walking from a first date years back.
                if from > first {
                    let steps = (from - first).num_days() / step.num_days();
                    date = first + step * (steps as i32);
                }
                while date <= end && dates.len() < limit {
                    if keep(&date) {
                        dates.push(date);
                    }
                    date += step;
                }
            }
            _ => {
                let start = from.max(first);
                let (mut year, mut month) = (start.year(), start.month());
                while dates.len() < limit {
                    if NaiveDate::from_ymd_opt(year, month, 1).is_none_or(|day| day > end) {
                        break;
                    }
                    if let Some(date) = self.in_month(year, month).filter(keep) {
                        dates.push(date);
                    }
                    (year, month) = if month == 12 {
                        (year + 1, 1)
                    } else {
                        (year, month + 1)
                    };
                }
            }
        }
        dates
    }
}

/// Parses a list of dates like "2026-12-29, 2027-01-26" (commas, spaces or new lines).
pub fn parse_dates(text: &str) -> Result<Vec<NaiveDate>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            NaiveDate::parse_from_str(part, "%Y-%m-%d")
                .map_err(|_| format!("\"{part}\" is not a date like 2026-12-29."))
        })
        .collect()
}

/// A local date and time in `zone` as a UTC instant. A time that the clocks skip
/// (spring forward) is an error; a time that happens twice (fall back) is the first.
#[cfg(feature = "ssr")]
pub fn local_to_utc(
    date: NaiveDate,
    time: chrono::NaiveTime,
    zone: &str,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{LocalResult, TimeZone, Utc};
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| format!("\"{zone}\" is not a time zone like America/Los_Angeles."))?;
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(local) => Ok(local.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{} {} does not exist in {zone}: the clocks skip it. Choose another time.",
            date.format("%Y-%m-%d"),
            time.format("%H:%M")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn last_tuesdays_of_the_month() {
        let rule = Rule::from_form("monthly_weekday", d(2026, 11, 24), true)
            .unwrap()
            .unwrap();
        assert_eq!(
            rule,
            Rule::MonthlyOnWeekday {
                nth: -1,
                weekday: 1
            }
        );
        let dates = rule.dates(
            d(2026, 11, 24),
            None,
            &[],
            d(2026, 11, 1),
            d(2027, 3, 31),
            10,
        );
        assert_eq!(
            dates,
            vec![
                d(2026, 11, 24),
                d(2026, 12, 29),
                d(2027, 1, 26),
                d(2027, 2, 23),
                d(2027, 3, 30)
            ]
        );
        assert_eq!(
            rule.describe(d(2026, 11, 24)),
            "Monthly on the last Tuesday"
        );
    }

    #[test]
    fn exceptions_and_until_are_skipped() {
        let rule = Rule::Weekly { every: 1 };
        let dates = rule.dates(
            d(2026, 12, 1),
            Some(d(2026, 12, 29)),
            &[d(2026, 12, 22)],
            d(2026, 1, 1),
            d(2027, 12, 31),
            50,
        );
        assert_eq!(
            dates,
            vec![
                d(2026, 12, 1),
                d(2026, 12, 8),
                d(2026, 12, 15),
                d(2026, 12, 29)
            ]
        );
    }

    #[test]
    fn weekly_jumps_to_the_window_and_keeps_the_phase() {
        let rule = Rule::Weekly { every: 2 };
        let dates = rule.dates(d(2020, 1, 7), None, &[], d(2026, 12, 1), d(2026, 12, 31), 5);
        assert!(dates.iter().all(|date| date.weekday() == Weekday::Tue));
        assert!(dates
            .iter()
            .all(|date| (*date - d(2020, 1, 7)).num_days() % 14 == 0));
        // 2026-12-01 is 357 fortnights after 2020-01-07: the 1st, 15th and 29th.
        assert_eq!(
            dates,
            vec![d(2026, 12, 1), d(2026, 12, 15), d(2026, 12, 29)]
        );
    }

    #[test]
    fn the_31st_skips_short_months_and_nth_weekdays_work() {
        let rule = Rule::MonthlyOnDay { day: 31 };
        let dates = rule.dates(d(2027, 1, 31), None, &[], d(2027, 1, 1), d(2027, 5, 31), 10);
        assert_eq!(dates, vec![d(2027, 1, 31), d(2027, 3, 31), d(2027, 5, 31)]);
        let second_thursday = Rule::from_form("monthly_weekday", d(2027, 1, 14), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            second_thursday,
            Rule::MonthlyOnWeekday { nth: 2, weekday: 3 }
        );
        assert_eq!(
            second_thursday.dates(d(2027, 1, 14), None, &[], d(2027, 1, 1), d(2027, 3, 31), 10),
            vec![d(2027, 1, 14), d(2027, 2, 11), d(2027, 3, 11)]
        );
        assert!(Rule::from_form("monthly_weekday", d(2027, 1, 29), false).is_err());
        assert_eq!(
            second_thursday.describe(d(2027, 1, 14)),
            "Monthly on the 2nd Thursday"
        );
    }

    #[test]
    fn limits_are_kept_and_bad_rules_refused() {
        let rule = Rule::Weekly { every: 1 };
        assert_eq!(
            rule.dates(d(2026, 1, 1), None, &[], d(2026, 1, 1), d(2030, 1, 1), 12)
                .len(),
            12
        );
        assert!(Rule::Weekly { every: 0 }.validate().is_err());
        assert!(Rule::MonthlyOnWeekday { nth: 5, weekday: 1 }
            .validate()
            .is_err());
        assert!(Rule::MonthlyOnDay { day: 15 }.validate().is_ok());
    }

    #[test]
    fn date_lists_parse_with_clear_errors() {
        assert_eq!(
            parse_dates("2026-12-29, 2027-01-26\n").unwrap(),
            vec![d(2026, 12, 29), d(2027, 1, 26)]
        );
        assert!(parse_dates("next tuesday").unwrap_err().contains("next"));
        assert!(parse_dates("").unwrap().is_empty());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn local_times_follow_daylight_saving() {
        use chrono::NaiveTime;
        let six_thirty = NaiveTime::from_hms_opt(18, 30, 0).unwrap();
        let winter = local_to_utc(d(2013, 2, 26), six_thirty, "America/Los_Angeles").unwrap();
        assert_eq!(winter.to_rfc3339(), "2013-02-27T02:30:00+00:00");
        let summer = local_to_utc(d(2026, 7, 28), six_thirty, "America/Los_Angeles").unwrap();
        assert_eq!(summer.to_rfc3339(), "2026-07-29T01:30:00+00:00");
        let gap = local_to_utc(
            d(2027, 3, 14),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            "America/Los_Angeles",
        );
        assert!(gap.unwrap_err().contains("skip"));
        assert!(local_to_utc(d(2027, 3, 14), six_thirty, "Nowhere/Town").is_err());
    }
}
