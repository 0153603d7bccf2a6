//! Brushing a metric's line chart: select a range of days (drag across the chart with a
//! mouse or a finger, or move the "From" and "To" sliders with the keyboard) and the
//! numbers of that range (days logged, mean, lowest and highest, the trend with its 95%
//! interval) are recomputed in the browser by the statistics the pipeline runs
//! ([`crate::stats::daily::stretch`]), without asking the server. Hovering or tapping a
//! day shows its value. The server renders the numbers of the whole chart with the same
//! code, so a page reads without JavaScript, and "Show only these days" loads the range as
//! a page of its own, whose numbers the server computes: the end-to-end test checks that
//! the two agree.

use super::chart::{LINE_BOTTOM, LINE_HEIGHT, LINE_LEFT, LINE_RIGHT, LINE_TOP, LINE_WIDTH};
use super::svg::{Chart, ChartView};
use crate::stats::daily::{stretch, Stretch};
use crate::track::units::format_number;
use chrono::{Datelike, NaiveDate, TimeDelta};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the browser needs to recompute a range: the chart's days and how to show values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Brush {
    /// The metric's key, for the link to a range's own page.
    pub key: String,
    /// The chart's first day, as days from the common era's first (a number: parsing a
    /// date would bring chrono's parser into the browser).
    pub start: i32,
    /// One value per day of the chart in the display unit, `None` for a day without one.
    pub values: Vec<Option<f64>>,
    /// "h", "steps", "" for a scale.
    pub unit: String,
    /// Decimals worth showing for a value.
    pub decimals: usize,
    /// The member's notes on days of the chart: (the day's index, the note).
    pub notes: Vec<(usize, String)>,
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "Tue 3 Nov 2026" (by hand: chrono's formatting machinery stays out of the browser).
/// A date as [`Brush::start`] and [`PairBrush::dates`] carry it.
pub fn days_of(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn date_of_days(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default()
}

/// "2026-11-03", for a link.
fn iso(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

pub fn day_label(date: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

impl Brush {
    pub fn date(&self, i: usize) -> NaiveDate {
        date_of_days(self.start) + TimeDelta::days(i as i64)
    }

    fn value(&self, v: f64, decimals: usize) -> String {
        let number = format_number(v, decimals);
        if self.unit.is_empty() {
            number
        } else {
            format!("{number} {}", self.unit)
        }
    }

    fn signed(&self, v: f64, decimals: usize) -> String {
        let text = self.value(v, decimals);
        if text.starts_with('-') {
            text.replacen('-', "−", 1)
        } else if text.starts_with('0') && v.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
            text
        } else {
            format!("+{text}")
        }
    }

    /// The numbers of days `from..=to` of the chart, as (what, value) rows.
    pub fn numbers(&self, from: usize, to: usize) -> Vec<(String, String)> {
        let to = to.min(self.values.len().saturating_sub(1));
        let from = from.min(to);
        let s: Stretch = stretch(self.values.get(from..=to).unwrap_or_default());
        let d = self.decimals;
        let mut rows = vec![
            (
                "Days".to_string(),
                format!(
                    "{} to {}: {} logged of {}",
                    day_label(self.date(from)),
                    day_label(self.date(to)),
                    s.logged,
                    s.days
                ),
            ),
            (
                "Mean".to_string(),
                s.mean.map_or("none".to_string(), |m| self.value(m, d + 1)),
            ),
            (
                "Lowest to highest".to_string(),
                match (s.low, s.high) {
                    (Some(low), Some(high)) => {
                        format!("{} to {}", self.value(low, d), self.value(high, d))
                    }
                    _ => "none".to_string(),
                },
            ),
        ];
        // The trend per week: a slope per day of sleep in hours is too small to read.
        let trend = match s.trend {
            Some(t) if t.stderr.is_finite() => format!(
                "{} a week (95% interval {} to {}), over {} days",
                self.signed(t.slope * 7.0, d + 1),
                self.signed(t.ci_low * 7.0, d + 1),
                self.signed(t.ci_high * 7.0, d + 1),
                t.n
            ),
            _ => "needs 3 logged days".to_string(),
        };
        rows.push(("Trend".to_string(), trend));
        rows
    }
}

/// The plot's box in the chart's `viewBox`: left, top, width, height.
const PLOT: (f64, f64, f64, f64) = (
    LINE_LEFT,
    LINE_TOP,
    LINE_WIDTH - LINE_LEFT - LINE_RIGHT,
    LINE_HEIGHT - LINE_TOP - LINE_BOTTOM,
);

/// Where along the plot a pointer is, from 0 (its left edge) to 1 (its right edge).
#[cfg(feature = "hydrate")]
fn fraction(ev: &leptos::ev::PointerEvent) -> Option<f64> {
    use wasm_bindgen::JsCast;
    let target: web_sys::Element = ev.current_target()?.dyn_into().ok()?;
    let rect = target.get_bounding_client_rect();
    (rect.width() > 0.0)
        .then(|| ((ev.client_x() as f64 - rect.left()) / rect.width()).clamp(0.0, 1.0))
}

#[cfg(not(feature = "hydrate"))]
fn fraction(_: &leptos::ev::PointerEvent) -> Option<f64> {
    None
}

#[cfg(feature = "hydrate")]
fn capture(ev: &leptos::ev::PointerEvent) {
    use wasm_bindgen::JsCast;
    if let Some(target) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    {
        let _ = target.set_pointer_capture(ev.pointer_id());
    }
}

#[cfg(not(feature = "hydrate"))]
fn capture(_: &leptos::ev::PointerEvent) {}

/// The line chart with its brush, the hovered day's value and the range's numbers.
#[component]
pub fn BrushedChart(chart: Chart, brush: Brush) -> impl IntoView {
    let last = brush.values.len().saturating_sub(1);
    let range = RwSignal::new((0usize, last));
    let hover = RwSignal::new(None::<usize>);
    // The day a drag started on, and the range before it (a tap keeps the range).
    let anchor = StoredValue::new(None::<(usize, (usize, usize))>);
    let brush = StoredValue::new(brush);
    let (left, top, width, height) = PLOT;
    let x = move |i: usize| {
        if last == 0 {
            left + width / 2.0
        } else {
            left + i as f64 * width / last as f64
        }
    };
    let day_at = move |ev: &leptos::ev::PointerEvent| {
        fraction(ev).map(|f| ((f * last as f64).round() as usize).min(last))
    };
    let numbers = Memo::new(move |_| {
        let (from, to) = range.get();
        brush.with_value(|b| b.numbers(from, to))
    });
    let tip = move || {
        hover.get().map(|i| {
            brush.with_value(|b| {
                let value = b.values.get(i).copied().flatten();
                let note = b.notes.iter().find(|(j, _)| *j == i);
                format!(
                    "{}: {}{}",
                    day_label(b.date(i)),
                    value.map_or("not logged".to_string(), |v| b.value(v, b.decimals)),
                    note.map(|(_, n)| format!(" · “{n}”")).unwrap_or_default()
                )
            })
        })
    };
    let whole = move || range.get() == (0, last);
    let zoom = move || {
        let (from, to) = range.get();
        brush.with_value(|b| {
            format!(
                "/track/{}?from={}&to={}",
                urlencoding::encode(&b.key),
                iso(b.date(from)),
                iso(b.date(to))
            )
        })
    };
    let date_of = move |i: usize| brush.with_value(|b| day_label(b.date(i)));
    let overlay = view! {
        <rect class="brush-selection" y=top height=height
            x=move || format!("{:.1}", x(range.get().0) - 1.0)
            width=move || format!("{:.1}", x(range.get().1) - x(range.get().0) + 2.0)
            visibility=move || if whole() { "hidden" } else { "visible" } />
        <path class="brush-hover"
            d=move || hover.get().map(|i| format!("M{:.1},{top:.1} V{:.1}", x(i), top + height)).unwrap_or_default() />
        <rect class="brush-area" x=left y=top width=width height=height
            on:pointerdown=move |ev| {
                if let Some(i) = day_at(&ev) {
                    capture(&ev);
                    anchor.set_value(Some((i, range.get_untracked())));
                    range.set((i, i));
                    hover.set(Some(i));
                }
            }
            on:pointermove=move |ev| {
                let Some(i) = day_at(&ev) else { return };
                hover.set(Some(i));
                if let Some((start, _)) = anchor.get_value() {
                    range.set((start.min(i), start.max(i)));
                }
            }
            on:pointerup=move |ev| {
                if let Some((start, before)) = anchor.get_value() {
                    anchor.set_value(None);
                    if day_at(&ev).unwrap_or(start) == start {
                        range.set(before);
                    }
                }
            }
            on:pointercancel=move |_| {
                if let Some((_, before)) = anchor.get_value() {
                    anchor.set_value(None);
                    range.set(before);
                }
            }
            on:pointerleave=move |ev| {
                if ev.pointer_type() == "mouse" {
                    hover.set(None);
                }
            } />
    }
    .into_any();
    view! {
        <div class="brushed">
            <ChartView chart overlay />
            <p class="chart-tip" aria-hidden="true">{move || tip().unwrap_or_else(|| "\u{a0}".into())}</p>
            <RangeSliders range last label=Callback::new(date_of)
                legend="Days to sum up" hint=" (drag across the chart, or move these)" />
            <RangeNumbers numbers />
            <p class="brush-zoom" hidden=whole><a href=zoom>"Show only these days"</a></p>
        </div>
    }
    .into_any()
}

/// The "From" and "To" sliders of a range of `0..=last` (a step per arrow key; usable
/// once the page's code has loaded), with "All days" to reset.
#[component]
fn RangeSliders(
    range: RwSignal<(usize, usize)>,
    last: usize,
    label: Callback<usize, String>,
    legend: &'static str,
    hint: &'static str,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let whole = move || range.get() == (0, last);
    view! {
        <fieldset class="brush-controls" disabled=move || !hydrated.get()>
            <legend>{legend}<span class="muted">{hint}</span></legend>
            <label>
                <span>"From "<span class="brush-date">{move || label.run(range.get().0)}</span></span>
                <input type="range" name="brush-from" min="0" max=last step="1"
                    aria-valuetext=move || label.run(range.get().0)
                    prop:value=move || range.get().0.to_string()
                    on:input=move |ev| {
                        let from = event_target_value(&ev).parse::<usize>().unwrap_or(0).min(last);
                        range.update(|r| *r = (from, r.1.max(from)));
                    } />
            </label>
            <label>
                <span>"To "<span class="brush-date">{move || label.run(range.get().1)}</span></span>
                <input type="range" name="brush-to" min="0" max=last step="1"
                    aria-valuetext=move || label.run(range.get().1)
                    prop:value=move || range.get().1.to_string()
                    on:input=move |ev| {
                        let to = event_target_value(&ev).parse::<usize>().unwrap_or(last).min(last);
                        range.update(|r| *r = (r.0.min(to), to));
                    } />
            </label>
            <button type="button" class="secondary small" disabled=whole on:click=move |_| range.set((0, last))>"All days"</button>
        </fieldset>
    }
}

/// The numbers of the chosen range, announced as they change.
#[component]
fn RangeNumbers(numbers: Memo<Vec<(String, String)>>) -> impl IntoView {
    view! {
        <dl class="brush-numbers" aria-live="polite">
            {move || numbers.get().into_iter().map(|(what, value)| view! {
                <div><dt>{what}</dt><dd>{value}</dd></div>
            }).collect_view()}
        </dl>
    }
}

/// A p or q value: "0.012", or "< 0.001".
pub fn small(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// "p = 0.012" or "p < 0.001".
pub fn p_is(p: f64) -> String {
    let p = small(p);
    if p.starts_with('<') {
        format!("p {p}")
    } else {
        format!("p = {p}")
    }
}

/// A pair's days, for testing a stretch of them in the browser: metric a on each day
/// against metric b on the same day or `lag` days later, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairBrush {
    /// As [`days_of`] gives them.
    pub dates: Vec<i32>,
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

impl PairBrush {
    /// The test of days `from..=to` (indices into `dates`), as the pipeline tests a
    /// pair ([`crate::stats::pair_test`]), as (what, value) rows. No q: it depends on
    /// every other pair tested.
    pub fn numbers(&self, from: usize, to: usize) -> Vec<(String, String)> {
        let len = self.dates.len().min(self.a.len()).min(self.b.len());
        let to = to.min(len.saturating_sub(1));
        let from = from.min(to);
        let range = from..(to + 1).min(len);
        let days = match (self.dates.get(from), self.dates.get(to)) {
            (Some(first), Some(last)) => format!(
                "{} to {}: {} with both values",
                day_label(date_of_days(*first)),
                day_label(date_of_days(*last)),
                range.len()
            ),
            _ => "none".into(),
        };
        let test = self
            .a
            .get(range.clone())
            .zip(self.b.get(range))
            .and_then(|(a, b)| crate::stats::pair_test(a, b));
        let mut rows = vec![("Days".to_string(), days)];
        match test {
            Some(t) => rows.extend([
                (
                    "Pearson r".to_string(),
                    format!("{:.2} ({})", t.pearson.r, p_is(t.pearson.p)),
                ),
                (
                    "Spearman rho".to_string(),
                    format!("{:.2} ({})", t.spearman.r, p_is(t.spearman.p)),
                ),
                (
                    "p adjusted".to_string(),
                    format!("{} (as {:.0} independent days)", small(t.p_adj), t.n_eff),
                ),
            ]),
            None => rows.push((
                "Pearson r".to_string(),
                "needs 3 days whose values vary".to_string(),
            )),
        }
        rows
    }
}

/// A pair's scatter plot with the sliders that choose the days tested: the chosen days'
/// dots are outlined, and their test is recomputed in the browser.
#[component]
pub fn PairBrushed(chart: Chart, brush: PairBrush) -> impl IntoView {
    let last = brush.dates.len().saturating_sub(1);
    let range = RwSignal::new((0usize, last));
    // The dots, in the order of the days.
    let dots: Vec<(String, String)> = chart
        .dots
        .iter()
        .map(|d| (d.cx.clone(), d.cy.clone()))
        .collect();
    let brush = StoredValue::new(brush);
    let numbers = Memo::new(move |_| {
        let (from, to) = range.get();
        brush.with_value(|b| b.numbers(from, to))
    });
    let date_of = move |i: usize| {
        brush.with_value(|b| {
            b.dates
                .get(i)
                .map(|d| day_label(date_of_days(*d)))
                .unwrap_or_default()
        })
    };
    let overlay = view! {
        <g class="brush-dots">
            {move || {
                let (from, to) = range.get();
                (range.get() != (0, last)).then(|| {
                    dots.get(from..=to.min(dots.len().saturating_sub(1)))
                        .unwrap_or_default()
                        .iter()
                        .map(|(cx, cy)| view! { <circle class="brush-dot" cx=cx.clone() cy=cy.clone() r="7" /> })
                        .collect_view()
                })
            }}
        </g>
    }
    .into_any();
    view! {
        <div class="brushed">
            <ChartView chart overlay />
            <RangeSliders range last label=Callback::new(date_of)
                legend="Days to test" hint=" (the chosen days are outlined)" />
            <RangeNumbers numbers />
            <p class="muted">"Tested on fewer days, a relation is less sure; q is not recomputed, since it weighs every pair tested."</p>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brush() -> Brush {
        Brush {
            key: "sleep".into(),
            start: days_of(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()),
            values: vec![Some(7.0), None, Some(6.5), Some(8.0), Some(7.5)],
            unit: "h".into(),
            decimals: 1,
            notes: vec![(1, "Flight".into())],
        }
    }

    #[test]
    fn a_range_reads_as_days_mean_spread_and_trend() {
        let b = brush();
        assert_eq!(day_label(b.date(1)), "Tue 3 Nov 2026");
        assert_eq!(iso(b.date(1)), "2026-11-03");
        let rows = b.numbers(0, 4);
        let row = |what: &str| rows.iter().find(|r| r.0 == what).unwrap().1.clone();
        assert_eq!(
            row("Days"),
            "Mon 2 Nov 2026 to Fri 6 Nov 2026: 4 logged of 5"
        );
        assert_eq!(row("Mean"), "7.25 h");
        assert_eq!(row("Lowest to highest"), "6.5 h to 8 h");
        assert!(row("Trend").starts_with('+'), "{rows:?}");
        assert!(row("Trend").ends_with("over 4 days"), "{rows:?}");
        // A range too short for a trend, and a range past the end, say so.
        let short = b.numbers(1, 2);
        assert_eq!(short[3].1, "needs 3 logged days");
        assert_eq!(
            b.numbers(9, 12)[0].1,
            "Fri 6 Nov 2026 to Fri 6 Nov 2026: 1 logged of 1"
        );
        assert_eq!(b.signed(-0.25, 2), "−0.25 h");
    }

    #[test]
    fn a_pair_brush_tests_the_chosen_days_as_the_pipeline_does() {
        let start = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let a: Vec<f64> = (0..30).map(|i| (i * 7 % 11) as f64).collect();
        let b: Vec<f64> = a
            .iter()
            .enumerate()
            .map(|(i, x)| x * 0.5 + (i % 3) as f64)
            .collect();
        let brush = PairBrush {
            dates: (0..30)
                .map(|i| days_of(start + TimeDelta::days(i)))
                .collect(),
            a: a.clone(),
            b: b.clone(),
        };
        let test = crate::stats::pair_test(&a[5..=20], &b[5..=20]).unwrap();
        let rows = brush.numbers(5, 20);
        assert_eq!(
            rows[0].1,
            "Sun 6 Sep 2026 to Mon 21 Sep 2026: 16 with both values"
        );
        assert_eq!(
            rows[1].1,
            format!("{:.2} ({})", test.pearson.r, p_is(test.pearson.p))
        );
        assert_eq!(
            rows[3].1,
            format!(
                "{} (as {:.0} independent days)",
                small(test.p_adj),
                test.n_eff
            )
        );
        assert_eq!(brush.numbers(3, 4)[1].1, "needs 3 days whose values vary");
        assert_eq!(small(0.0004), "< 0.001");
    }
}
