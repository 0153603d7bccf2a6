//! The time zones of a calendar: every change of UTC offset a `VTIMEZONE` lists, found
//! from chrono-tz's copy of the IANA database, and the spans of time it must cover.

use chrono::{DateTime, TimeZone};
use chrono_tz::{Tz, TzOffset};

/// A span of Unix seconds, `(from, to)`.
pub(super) type Span = (i64, i64);

/// Distance between the probes that look for UTC-offset changes. Offset changes closer
/// together than this that return to the same offset would be missed; the IANA
/// database has none in the modern era.
const PROBE_STEP_SECS: i64 = 6 * 3600;

/// A change of UTC offset (or of abbreviation / DST flag) at `onset` (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub(super) struct Observance {
    pub onset: i64,
    pub from: TzOffset,
    pub to: TzOffset,
}

/// The offset of `tz` at Unix second `ts`.
pub(super) fn offset_at(tz: Tz, ts: i64) -> Option<TzOffset> {
    DateTime::from_timestamp(ts, 0).map(|dt| tz.offset_from_utc_datetime(&dt.naive_utc()))
}

/// The observances of `tz` over `[from, to]`: the one in effect at `from`, then every
/// change found by probing every [`PROBE_STEP_SECS`] and bisecting down to the second.
pub(super) fn observances(tz: Tz, from: i64, to: i64) -> Vec<Observance> {
    let mut out = Vec::new();
    let (Some(before), Some(mut current)) =
        (offset_at(tz, from.saturating_sub(1)), offset_at(tz, from))
    else {
        return out;
    };
    out.push(Observance {
        onset: from,
        from: before,
        to: current,
    });
    let mut t = from;
    while t < to {
        let next = t.saturating_add(PROBE_STEP_SECS).min(to);
        let Some(probe) = offset_at(tz, next) else {
            break;
        };
        if probe == current {
            t = next;
            continue;
        }
        // Invariant: the offset at `lo` is `current`, the offset at `hi` is not.
        let (mut lo, mut hi) = (t, next);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match offset_at(tz, mid) {
                Some(o) if o == current => lo = mid,
                Some(_) => hi = mid,
                None => break,
            }
        }
        let Some(after) = offset_at(tz, hi) else {
            break;
        };
        out.push(Observance {
            onset: hi,
            from: current,
            to: after,
        });
        current = after;
        t = hi;
    }
    out
}

/// Sorts ranges and merges the ones that overlap or touch.
pub(super) fn merge_ranges(mut ranges: Vec<Span>) -> Vec<Span> {
    ranges.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}
