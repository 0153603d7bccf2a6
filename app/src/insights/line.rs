//! A metric's daily line chart: the values of each day with their rolling 7-day mean,
//! the goal, the days flagged as outliers and the days the member noted (numbered marks
//! whose notes are listed under the chart), on labelled axes; with a one-sentence text
//! alternative and the numbers behind it in a table under "Show the data". Laid out and
//! labelled on the server ([`super::chart::line`]), drawn by [`super::svg::ChartView`].

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::insights::chart::{
        day_x, line, rolling_mean, LINE_BOTTOM, LINE_HEIGHT, LINE_LEFT, LINE_TOP, LINE_WIDTH,
    };
    use crate::insights::svg::{horizontal_lines, Chart, Row};
    use crate::track::units::format_number;
    use chrono::{NaiveDate, TimeDelta};

    /// Longest range drawn, in days.
    pub const MAX_DAYS: i64 = 731;

    /// The chart of `days` (display-unit values by day) from `from` to `to`, or `None`
    /// when no day in the range has a value. `notes` are the member's notes on days
    /// (oldest first): each in the range gets a numbered mark, its number being its place
    /// among them.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        name: &str,
        unit_label: &str,
        days: &[(NaiveDate, f64)],
        outliers: &[NaiveDate],
        notes: &[(NaiveDate, String)],
        goal: Option<f64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Option<Chart> {
        let span = (to - from).num_days();
        if span < 0 || days.is_empty() {
            return None;
        }
        let dates: Vec<NaiveDate> = (0..=span).map(|i| from + TimeDelta::days(i)).collect();
        let value_of = |d: &NaiveDate| {
            days.binary_search_by_key(d, |(day, _)| *day)
                .ok()
                .map(|i| days[i].1)
        };
        let values: Vec<Option<f64>> = dates.iter().map(value_of).collect();
        if values.iter().all(Option::is_none) {
            return None;
        }
        let marked: Vec<usize> = dates
            .iter()
            .enumerate()
            .filter(|(_, d)| outliers.contains(d))
            .map(|(i, _)| i)
            .collect();
        let geometry = line(&values, goal, &marked);
        let step = match geometry.y_ticks.as_slice() {
            [a, b, ..] => (b.1 - a.1).abs(),
            _ => 1.0,
        };
        let decimals = if step >= 1.0 {
            0
        } else {
            (-step.log10().floor()) as usize
        };
        let with_unit = |v: f64, decimals: usize| {
            let number = format_number(v, decimals);
            if unit_label.is_empty() {
                number
            } else {
                format!("{number} {unit_label}")
            }
        };
        let short = |d: NaiveDate| d.format("%-d %b").to_string();
        let mean = rolling_mean(&values, 7, 3);
        let logged = values.iter().flatten().count();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let average = present.iter().sum::<f64>() / present.len() as f64;
        let (low, high) = present
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let unit_part = if unit_label.is_empty() {
            String::new()
        } else {
            format!(" ({unit_label})")
        };
        let noted: Vec<(usize, &str)> = notes
            .iter()
            .filter(|(d, _)| (from..=to).contains(d))
            .map(|(d, note)| ((*d - from).num_days() as usize, note.as_str()))
            .collect();
        let note_of = |i: usize| noted.iter().find(|(j, _)| *j == i).map(|(_, n)| *n);
        let summary = format!(
            "{name} from {} to {}: {logged} of {} days logged, from {} to {}, mean {}{}{}{}.",
            short(from),
            short(to),
            dates.len(),
            with_unit(low, decimals + 1),
            with_unit(high, decimals + 1),
            with_unit(average, decimals + 1),
            goal.map(|g| format!(", goal {}", with_unit(g, decimals + 1)))
                .unwrap_or_default(),
            match marked.len() {
                0 => String::new(),
                1 => "; 1 day flagged as an outlier".to_string(),
                n => format!("; {n} days flagged as outliers"),
            },
            match noted.len() {
                0 => String::new(),
                1 => "; 1 day noted".to_string(),
                n => format!("; {n} days noted"),
            }
        );
        let rows = dates
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| values[*i].is_some() || note_of(*i).is_some())
            .map(|(i, d)| {
                let outlier = marked.contains(&i);
                let mut cells = vec![
                    d.format("%a %-d %b %Y").to_string(),
                    values[i].map_or("not logged".into(), |v| {
                        format!(
                            "{}{}",
                            with_unit(v, decimals + 1),
                            if outlier { " (outlier)" } else { "" }
                        )
                    }),
                    mean[i]
                        .map(|m| with_unit(m, decimals + 1))
                        .unwrap_or_default(),
                ];
                if !noted.is_empty() {
                    cells.push(note_of(i).unwrap_or_default().to_string());
                }
                Row {
                    class: if outlier {
                        "outlier".into()
                    } else {
                        String::new()
                    },
                    cells,
                }
            })
            .collect();
        let mut head = vec!["Day".into(), "Value".into(), "7-day mean".into()];
        if !noted.is_empty() {
            head.push("Your note".into());
        }
        let mut chart = Chart {
            class: "line-chart".into(),
            caption: Some(format!(
                "{name}{unit_part} per day, {} to {}",
                short(from),
                short(to)
            )),
            summary,
            view_box: format!("0 0 {LINE_WIDTH} {LINE_HEIGHT}"),
            head,
            rows,
            ..Chart::default()
        };
        let plot_right = LINE_WIDTH - 8.0;
        chart.path(
            "chart-grid",
            horizontal_lines(geometry.y_ticks.iter().map(|t| t.0), LINE_LEFT, plot_right),
        );
        for (y, v) in &geometry.y_ticks {
            let label = format_number(*v, decimals);
            chart.label("", (LINE_LEFT - 6.0, *y), "end", "0.32em", label);
        }
        // Dates centred under their day, but the last one ends at the plot's right edge
        // (and the first starts at its left) so that neither is cut off.
        for (x, i) in &geometry.x_ticks {
            let anchor = if *i + 1 == dates.len() && dates.len() > 1 {
                "end"
            } else if *i == 0 {
                "start"
            } else {
                "middle"
            };
            chart.label(
                "date",
                (*x, LINE_HEIGHT - 4.0),
                anchor,
                "",
                short(dates[*i]),
            );
        }
        if let (Some(y), Some(g)) = (geometry.goal_y, goal) {
            chart.path("chart-goal", horizontal_lines([y], LINE_LEFT, plot_right));
            let label = format!("goal {}", with_unit(g, decimals + 1));
            chart.label("goal-label", (plot_right, y), "end", "-0.4em", label);
        }
        // A note's mark: a dotted line through its day and its number along the top.
        for (number, (i, _)) in noted.iter().enumerate() {
            let x = day_x(dates.len(), *i);
            chart.path(
                "chart-note",
                format!(
                    "M{x:.1},{:.1} V{:.1}",
                    LINE_TOP + 12.0,
                    LINE_HEIGHT - LINE_BOTTOM
                ),
            );
            chart.label(
                "note-mark",
                (x, LINE_TOP + 8.0),
                "middle",
                "",
                (number + 1).to_string(),
            );
        }
        chart.path("chart-values", geometry.values);
        chart.path("chart-mean", geometry.mean);
        for point in &geometry.marked {
            chart.dot("chart-outlier", *point, "6");
        }
        chart.key("key-values", "each day");
        chart.key("key-mean", "7-day mean");
        if !geometry.marked.is_empty() {
            chart.key("key-outlier", "far from your usual (outlier)");
        }
        if !noted.is_empty() {
            chart.key(
                "key-note",
                "a day you noted (the notes are under the chart)",
            );
        }
        Some(chart)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_chart_says_what_it_shows_and_keeps_its_table() {
            let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
            let days = [(day(1), 7.0), (day(2), 6.5), (day(4), 12.0)];
            let notes = [(day(3), "Flight to Tokyo".to_string())];
            let chart = build(
                "Sleep",
                "h",
                &days,
                &[day(4)],
                &notes,
                Some(8.0),
                day(1),
                day(4),
            )
            .unwrap();
            assert_eq!(
                chart.caption.as_deref(),
                Some("Sleep (h) per day, 1 Nov to 4 Nov")
            );
            assert_eq!(
                chart.summary,
                "Sleep from 1 Nov to 4 Nov: 3 of 4 days logged, from 6.5 h to 12 h, mean 8.5 h, goal 8 h; 1 day flagged as an outlier; 1 day noted."
            );
            // The noted day has no value and still gets its row, with its note.
            assert_eq!(chart.rows.len(), 4);
            assert_eq!(chart.head.last().map(String::as_str), Some("Your note"));
            assert_eq!(chart.rows[1].cells[1], "not logged");
            assert_eq!(chart.rows[1].cells[3], "Flight to Tokyo");
            assert_eq!(chart.rows[0].cells[3], "");
            assert!(chart
                .labels
                .iter()
                .any(|l| l.class == "note-mark" && l.text == "1"));
            assert!(chart.paths.iter().any(|p| p.class == "chart-note"));
            assert_eq!(chart.rows[0].cells[0], "Wed 4 Nov 2026");
            assert_eq!(chart.rows[0].cells[1], "12 h (outlier)");
            assert_eq!(chart.rows[0].class, "outlier");
            assert_eq!(chart.dots.len(), 1);
            assert!(chart.labels.iter().any(|l| l.text == "goal 8 h"));
            assert!(chart.paths.iter().any(|p| p.class == "chart-mean"));
            assert!(build("Sleep", "h", &[], &[], &[], None, day(1), day(4)).is_none());
            // A note outside the range neither marks the chart nor adds a column.
            let plain = build("Sleep", "h", &days, &[], &notes, None, day(1), day(2)).unwrap();
            assert_eq!(plain.head.len(), 3);
            assert!(!plain.summary.contains("noted"));
        }
    }
}
