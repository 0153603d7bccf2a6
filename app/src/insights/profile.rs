//! The rest of a metric's page: its last year as a calendar heatmap, its weekday profile,
//! how its values spread (a histogram), and its streaks and bests. Laid out on the server
//! and drawn by the one chart component ([`super::svg::ChartView`]), so they cost the
//! page's code almost nothing.

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::insights::chart::{
        bars, calendar, histogram, CAL_CELL, CAL_LEFT, CAL_STEP, CAL_TOP, LINE_HEIGHT, LINE_LEFT,
        LINE_WIDTH,
    };
    use crate::insights::svg::{horizontal_lines, Chart, Row};
    use crate::stats::daily::Summary;
    use crate::stats::mean;
    use crate::track::catalogue::MetricRow;
    use crate::track::units::format_number;
    use chrono::{Datelike, NaiveDate, TimeDelta};
    use std::collections::BTreeMap;

    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

    /// What the page shows below its line chart.
    pub struct Profile {
        pub charts: Vec<Chart>,
        /// (what, value): "Current streak", "12 days".
        pub records: Vec<(String, String)>,
    }

    /// The profile of `days` (canonical values by day, the last year up to `today`) and
    /// the metric's stored summary.
    pub fn profile(
        metric: &MetricRow,
        days: &BTreeMap<NaiveDate, f64>,
        summary: Option<&Summary>,
        today: NaiveDate,
    ) -> Profile {
        let shown: BTreeMap<NaiveDate, f64> = days
            .iter()
            .map(|(d, v)| (*d, metric.display_number(*v)))
            .collect();
        let unit = metric.display_label();
        let with_unit = |v: f64, decimals: usize| {
            let n = format_number(v, decimals);
            if unit.is_empty() {
                n
            } else {
                format!("{n} {unit}")
            }
        };
        let mut charts = Vec::new();
        if !shown.is_empty() {
            charts.push(heatmap(&metric.name, &shown, today, &with_unit));
            if let Some(chart) = weekdays(&metric.name, &shown, &with_unit) {
                charts.push(chart);
            }
            if let Some(chart) = spread(&metric.name, &shown, &with_unit) {
                charts.push(chart);
            }
        }
        let mut records = Vec::new();
        if let Some(s) = summary {
            let days_word = |n: usize| {
                if n == 1 {
                    "1 day".to_string()
                } else {
                    format!("{n} days")
                }
            };
            records.push(("Current streak".into(), days_word(s.streak)));
            records.push(("Longest streak".into(), days_word(s.longest_streak)));
            if let Some(goal_streak) = s.goal_streak {
                records.push(("Days in a row at the goal".into(), days_word(goal_streak)));
            }
            let when = |d: NaiveDate| d.format("%a %-d %b %Y").to_string();
            if let Some(best) = s.best {
                let value = with_unit(metric.display_number(best.value), 2);
                records.push(("Highest".into(), format!("{value} on {}", when(best.date))));
            }
            if let Some(lowest) = s.lowest {
                let value = with_unit(metric.display_number(lowest.value), 2);
                records.push(("Lowest".into(), format!("{value} on {}", when(lowest.date))));
            }
            records.push(("Days logged".into(), s.days_logged.to_string()));
        }
        Profile { charts, records }
    }

    fn heatmap(
        name: &str,
        days: &BTreeMap<NaiveDate, f64>,
        today: NaiveDate,
        with_unit: &dyn Fn(f64, usize) -> String,
    ) -> Chart {
        let from = today - TimeDelta::days(364);
        let cal = calendar(days, from, today);
        let in_year: Vec<f64> = days.range(from..=today).map(|(_, v)| *v).collect();
        let mut chart = Chart {
            class: "heatmap-chart".into(),
            caption: Some(format!("{name}: the last 12 months, a square a day")),
            summary: format!(
                "{name} per day from {} to {}: {} of 365 days logged, shaded by quarter of the values (darker is higher).",
                from.format("%-d %b %Y"),
                today.format("%-d %b %Y"),
                in_year.len()
            ),
            // Room on the right for the last month's name.
            view_box: format!("0 0 {:.0} {:.0}", cal.width.max(CAL_LEFT + CAL_STEP) + 20.0, cal.height),
            head: ["Month", "Days logged", "Mean", "Lowest", "Highest"].map(String::from).to_vec(),
            ..Chart::default()
        };
        for (level, d) in cal.levels.iter().enumerate() {
            chart.path(&format!("heat-{level}"), d.clone());
        }
        for (i, label) in ["Mon", "Wed", "Fri"].iter().enumerate() {
            let y = CAL_TOP + (i * 2) as f64 * CAL_STEP + CAL_CELL / 2.0;
            chart.label("", (CAL_LEFT - 4.0, y), "end", "0.32em", (*label).into());
        }
        for (x, month) in &cal.months {
            chart.label(
                "date",
                (*x, CAL_TOP - 6.0),
                "start",
                "",
                month.format("%b").to_string(),
            );
        }
        chart.key("key-heat-0", "no value");
        chart.key("key-heat-1", "lowest quarter");
        chart.key("key-heat-4", "highest quarter");
        // The table: a row per month, newest first.
        let mut by_month: BTreeMap<(i32, u32), Vec<f64>> = BTreeMap::new();
        for (d, v) in days.range(from..=today) {
            by_month.entry((d.year(), d.month())).or_default().push(*v);
        }
        chart.rows = by_month
            .into_iter()
            .rev()
            .filter_map(|((y, m), values)| {
                let first = NaiveDate::from_ymd_opt(y, m, 1)?;
                let low = values.iter().copied().reduce(f64::min)?;
                let high = values.iter().copied().reduce(f64::max)?;
                Some(Row {
                    class: String::new(),
                    cells: vec![
                        first.format("%B %Y").to_string(),
                        values.len().to_string(),
                        with_unit(mean(&values)?, 2),
                        with_unit(low, 2),
                        with_unit(high, 2),
                    ],
                })
            })
            .collect();
        chart
    }

    /// Decimals for labels of ticks this far apart.
    fn decimals(ticks: &[(f64, f64)]) -> usize {
        match ticks {
            [a, b, ..] if (b.1 - a.1).abs() < 1.0 => (-(b.1 - a.1).abs().log10().floor()) as usize,
            _ => 0,
        }
    }

    fn bar_chart(
        class: &str,
        caption: String,
        summary: String,
        values: &[Option<f64>],
        labels: &[String],
        head: [&str; 2],
        cells: Vec<String>,
    ) -> Chart {
        let geometry = bars(values, 0.25);
        let mut chart = Chart {
            class: class.into(),
            caption: Some(caption),
            summary,
            view_box: format!("0 0 {LINE_WIDTH} {LINE_HEIGHT}"),
            head: head.map(String::from).to_vec(),
            ..Chart::default()
        };
        let right = LINE_WIDTH - 8.0;
        chart.path(
            "chart-grid",
            horizontal_lines(geometry.y_ticks.iter().map(|t| t.0), LINE_LEFT, right),
        );
        let d = geometry
            .bars
            .iter()
            .flatten()
            .map(|(x, w, top)| {
                let (y1, y2) = (top.min(geometry.base), top.max(geometry.base));
                format!("M{x:.1},{y1:.1} h{w:.1} V{y2:.1} h{:.1} Z", -w)
            })
            .collect::<Vec<_>>()
            .join(" ");
        chart.path("chart-bar", d);
        let decimals = decimals(&geometry.y_ticks);
        for (y, v) in &geometry.y_ticks {
            chart.label(
                "",
                (LINE_LEFT - 6.0, *y),
                "end",
                "0.32em",
                format_number(*v, decimals),
            );
        }
        for (x, label) in geometry.centres.iter().zip(labels) {
            chart.label("date", (*x, LINE_HEIGHT - 4.0), "middle", "", label.clone());
        }
        chart.rows = labels
            .iter()
            .zip(cells)
            .map(|(label, cell)| Row {
                class: String::new(),
                cells: vec![label.clone(), cell],
            })
            .collect();
        chart
    }

    fn weekdays(
        name: &str,
        days: &BTreeMap<NaiveDate, f64>,
        with_unit: &dyn Fn(f64, usize) -> String,
    ) -> Option<Chart> {
        let mut by_weekday: [Vec<f64>; 7] = Default::default();
        for (d, v) in days {
            by_weekday[d.weekday().num_days_from_monday() as usize].push(*v);
        }
        let means: Vec<Option<f64>> = by_weekday.iter().map(|v| mean(v)).collect();
        let present: Vec<(usize, f64)> = means
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.map(|m| (i, m)))
            .collect();
        let high = present.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let low = present.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
        let summary = format!(
            "{name}'s mean by weekday over the last 12 months: highest on {} ({}), lowest on {} ({}).",
            WEEKDAYS[high.0],
            with_unit(high.1, 2),
            WEEKDAYS[low.0],
            with_unit(low.1, 2)
        );
        let cells = means
            .iter()
            .zip(&by_weekday)
            .map(|(m, v)| match m {
                Some(m) => format!("{} ({} days)", with_unit(*m, 2), v.len()),
                None => "-".into(),
            })
            .collect();
        Some(bar_chart(
            "bar-chart",
            format!("{name}: the mean of each weekday"),
            summary,
            &means,
            &WEEKDAYS.map(String::from),
            ["Weekday", "Mean"],
            cells,
        ))
    }

    fn spread(
        name: &str,
        days: &BTreeMap<NaiveDate, f64>,
        with_unit: &dyn Fn(f64, usize) -> String,
    ) -> Option<Chart> {
        let values: Vec<f64> = days.values().copied().collect();
        let bins = histogram(&values, 8);
        if bins.is_empty() {
            return None;
        }
        let width = bins[0].1;
        let decimals = if width >= 1.0 {
            0
        } else {
            (-width.log10().floor()) as usize
        };
        let most = bins.iter().max_by_key(|b| b.2)?;
        let labels: Vec<String> = bins
            .iter()
            .map(|(low, _, _)| format_number(*low, decimals))
            .collect();
        let range = |(low, w, _): &(f64, f64, usize)| {
            format!(
                "{} to {}",
                format_number(*low, decimals),
                with_unit(low + w, decimals)
            )
        };
        let summary = format!(
            "How {name}'s daily values spread over the last 12 months: {} days in {} bins {} wide; most often {}.",
            values.len(),
            bins.len(),
            with_unit(width, decimals),
            range(most)
        );
        let cells = bins.iter().map(|b| format!("{} days", b.2)).collect();
        let counts: Vec<Option<f64>> = bins.iter().map(|b| Some(b.2 as f64)).collect();
        let mut chart = bar_chart(
            "bar-chart",
            format!("{name}: days at each value (from the lower edge)"),
            summary,
            &counts,
            &labels,
            ["From", "Days"],
            cells,
        );
        for (row, bin) in chart.rows.iter_mut().zip(&bins) {
            row.cells[0] = range(bin);
        }
        Some(chart)
    }
}
