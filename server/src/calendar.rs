//! Calendar and feed rendering for meetups.
//!
//! Three documents come out of this module:
//!
//! * [`event_ics`]: an iCalendar object (RFC 5545) holding one `VEVENT`, used for the
//!   per-event `.ics` download and for the e-mail attachment;
//! * [`calendar_ics`]: a group's subscribable calendar feed, one `VEVENT` per meetup;
//! * [`atom_feed`]: an Atom 1.0 feed (RFC 4287) of a group's upcoming meetups.
//!
//! Rendering is pure: no I/O and no clock, so the same input always gives the same
//! bytes (handy for `ETag`s and for tests).
//!
//! # iCalendar details
//!
//! * Content lines end in CRLF and are folded so that no physical line exceeds 75
//!   octets (RFC 5545 §3.1). Folds only fall on UTF-8 character boundaries, and where
//!   possible never directly after a space or tab, nor inside a backslash escape:
//!   several widely used parsers trim trailing whitespace off physical lines, or
//!   unescape before they unfold.
//! * `TEXT` values are escaped (§3.3.11): backslash, semicolon, comma and line breaks
//!   (`\n`, `\r\n` and `\r` all become `\n`). Other control characters, which `TEXT`
//!   cannot carry, are dropped. URIs and e-mail addresses lose any control characters,
//!   so user data can never start a new content line.
//! * Meetups are written in the venue's wall-clock time: `DTSTART;TZID=<IANA name>:…`
//!   plus one `VTIMEZONE` per zone, generated from chrono-tz's copy of the IANA
//!   database. The `VTIMEZONE` starts with the observance in effect on 1 January of the
//!   year before a meetup and lists every UTC-offset change up to the end of the year
//!   after it (the spans of all meetups in that zone merged, so a feed spanning decades
//!   does not describe the years in which nothing happens). Each change is a
//!   `STANDARD` or `DAYLIGHT` observance: `DAYLIGHT` when chrono-tz reports a non-zero
//!   DST offset (so `Europe/Dublin`, whose IANA rules have a negative winter DST, has
//!   winter `DAYLIGHT`; the offsets, which are what clients use, are right either way).
//!   Zones that are UTC (`UTC`, `Etc/UTC`, `GMT`, …) or that chrono-tz does not know
//!   are written in UTC form (`…Z`) with no `VTIMEZONE`. A local time that occurs twice
//!   (the hour repeated when clocks go back) names its *first* occurrence (§3.3.5), so
//!   a meetup in the second occurrence is written in UTC form as well.
//! * `DTSTAMP` and `LAST-MODIFIED` are the meetup's `updated_at`, so an unchanged
//!   meetup renders to the same bytes.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, Offset, SecondsFormat, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

mod observances;
use observances::{merge_ranges, observances, Observance, Span};

/// `PRODID` of every calendar this module writes.
const PRODID: &str = "-//Cohort//Cohort meetups//EN";

/// Longest physical line allowed by RFC 5545 §3.1, in octets, excluding the CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// Zone names written in UTC form (`…Z`) rather than with a `TZID`.
const UTC_ZONES: &[&str] = &[
    "UTC",
    "Etc/UTC",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
    "GMT",
    "Etc/GMT",
    "GMT0",
    "Etc/GMT0",
    "GMT+0",
    "Etc/GMT+0",
    "GMT-0",
    "Etc/GMT-0",
    "Greenwich",
    "Etc/Greenwich",
];

/// One meetup as calendars see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalEvent {
    /// Globally unique, stable across edits (e.g. `"3f2a…@cohort"`) → `UID`.
    pub uid: String,
    /// Raised on each edit → `SEQUENCE` (negative values are written as 0).
    pub sequence: i32,
    /// Meetup title → `SUMMARY`.
    pub title: String,
    /// Plain-text description → `DESCRIPTION` (trailing whitespace trimmed), followed
    /// by a blank line and [`url`](Self::url) when the URL is not already part of the
    /// text (left out when both are blank).
    pub description: String,
    /// Start → `DTSTART`.
    pub starts_at: DateTime<Utc>,
    /// End → `DTEND` (left out unless it is after `starts_at`).
    pub ends_at: DateTime<Utc>,
    /// IANA zone name of the venue, e.g. `"America/Los_Angeles"`. UTC aliases and
    /// names chrono-tz does not know make the times be written in UTC form.
    pub time_zone: String,
    /// `"Venue, address"` → `LOCATION` (left out when blank).
    pub location: String,
    /// Absolute URL of the meetup page → `URL` (left out when blank).
    pub url: String,
    /// `STATUS:CANCELLED` when set, `STATUS:CONFIRMED` otherwise.
    pub cancelled: bool,
    /// Creation time → `CREATED`.
    pub created_at: DateTime<Utc>,
    /// Last edit → `LAST-MODIFIED` and `DTSTAMP`.
    pub updated_at: DateTime<Utc>,
    /// `(name, email)` → `ORGANIZER;CN=name:mailto:email` (left out when the e-mail
    /// address is blank; `CN` left out when the name is blank).
    pub organizer: Option<(String, String)>,
}

/// Renders a whole `VCALENDAR` with one `VEVENT`: the per-event `.ics` download and
/// the e-mail attachment.
///
/// `method` is `None` for downloads and feeds; `Some("PUBLISH")`, `Some("REQUEST")`,
/// `Some("CANCEL")`, … adds a `METHOD` property (RFC 5546). The method is upper-cased
/// and stripped of anything but ASCII letters, digits and `-`; if nothing is left,
/// no `METHOD` is written.
pub fn event_ics(event: &CalEvent, method: Option<&str>) -> String {
    let mut w = IcsWriter::default();
    w.begin_calendar(method);
    w.zones_and_events(std::slice::from_ref(event));
    w.end_calendar()
}

/// Renders a group's subscribable calendar: a `VCALENDAR` named `name`
/// (`X-WR-CALNAME` and RFC 7986 `NAME`) whose display zone is `default_zone`
/// (`X-WR-TIMEZONE`; `UTC` if chrono-tz does not know the name), asking clients to
/// refresh hourly (`REFRESH-INTERVAL;VALUE=DURATION:PT1H`, `X-PUBLISHED-TTL:PT1H`),
/// with one `VTIMEZONE` per zone used and one `VEVENT` per event, in the given order.
pub fn calendar_ics(name: &str, default_zone: &str, events: &[CalEvent]) -> String {
    let mut w = IcsWriter::default();
    w.begin_calendar(None);
    w.text("X-WR-CALNAME", name);
    w.text("NAME", name);
    let display_zone = default_zone.trim().parse::<Tz>().map_or("UTC", Tz::name);
    w.text("X-WR-TIMEZONE", display_zone);
    w.line("REFRESH-INTERVAL;VALUE=DURATION:PT1H");
    w.line("X-PUBLISHED-TTL:PT1H");
    w.zones_and_events(events);
    w.end_calendar()
}

/// One entry of an Atom feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Permanent, unique IRI of the entry: a `tag:` or `urn:uuid:` URI.
    pub id: String,
    /// Entry title (plain text).
    pub title: String,
    /// Absolute URL of the meetup page (the `alternate` link; left out when blank).
    pub url: String,
    /// Plain-text summary.
    pub summary: String,
    /// Last significant change of the entry.
    pub updated: DateTime<Utc>,
    /// First publication of the entry.
    pub published: DateTime<Utc>,
}

/// Renders an Atom 1.0 feed (RFC 4287) of upcoming meetups.
///
/// The feed carries `feed_id` as its `id`, `title`, a `self` link to `feed_url`, an
/// `alternate` link to `site_url` (links are left out when blank) and, as `updated`,
/// the latest `updated` of the entries, or `fallback_updated` when there are none.
/// The feed title also serves as author name of the feed and of every entry. Entries
/// keep the given order.
pub fn atom_feed(
    feed_id: &str,
    title: &str,
    feed_url: &str,
    site_url: &str,
    fallback_updated: DateTime<Utc>,
    entries: &[FeedEntry],
) -> String {
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(fallback_updated);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml_element(&mut x, "  ", "id", None, feed_id);
    xml_element(&mut x, "  ", "title", Some("text"), title);
    xml_element(&mut x, "  ", "updated", None, &rfc3339(updated));
    xml_link(&mut x, "  ", "self", "application/atom+xml", feed_url);
    xml_link(&mut x, "  ", "alternate", "text/html", site_url);
    xml_author(&mut x, "  ", title);
    x.push_str("  <generator>Cohort</generator>\n");
    for entry in entries {
        x.push_str("  <entry>\n");
        xml_element(&mut x, "    ", "id", None, &entry.id);
        xml_element(&mut x, "    ", "title", Some("text"), &entry.title);
        xml_link(&mut x, "    ", "alternate", "text/html", &entry.url);
        xml_element(&mut x, "    ", "updated", None, &rfc3339(entry.updated));
        xml_element(&mut x, "    ", "published", None, &rfc3339(entry.published));
        xml_author(&mut x, "    ", title);
        xml_element(&mut x, "    ", "summary", Some("text"), &entry.summary);
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

// ---------------------------------------------------------------------------------
// iCalendar
// ---------------------------------------------------------------------------------

/// How the times of one event are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// UTC form (`…Z`), no `VTIMEZONE`.
    Utc,
    /// Local time with `TZID`, described by a `VTIMEZONE`.
    Named(Tz),
}

impl Zone {
    /// Resolves an IANA zone name; UTC aliases and unknown names give [`Zone::Utc`].
    fn resolve(name: &str) -> Self {
        match name.trim().parse::<Tz>() {
            Ok(tz) if !UTC_ZONES.contains(&tz.name()) => Zone::Named(tz),
            _ => Zone::Utc,
        }
    }
}

/// Accumulates folded, CRLF-terminated content lines.
#[derive(Default)]
struct IcsWriter {
    out: String,
}

impl IcsWriter {
    /// Appends one content line, folded.
    fn line(&mut self, content: &str) {
        push_folded(&mut self.out, content);
    }

    /// Appends `NAME:value` with `value` escaped as `TEXT`.
    fn text(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{}", escape_text(value)));
    }

    /// Appends `NAME:value` for a `DATE-TIME` in UTC form.
    fn utc(&mut self, name: &str, at: DateTime<Utc>) {
        self.line(&format!("{name}:{}", utc_stamp(at)));
    }

    fn begin_calendar(&mut self, method: Option<&str>) {
        self.line("BEGIN:VCALENDAR");
        self.line(&format!("PRODID:{PRODID}"));
        self.line("VERSION:2.0");
        self.line("CALSCALE:GREGORIAN");
        if let Some(method) = method {
            let method: String = method
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .map(|c| c.to_ascii_uppercase())
                .collect();
            if !method.is_empty() {
                self.line(&format!("METHOD:{method}"));
            }
        }
    }

    fn end_calendar(mut self) -> String {
        self.line("END:VCALENDAR");
        self.out
    }

    /// Writes one `VTIMEZONE` per zone used (ordered by name), then the events.
    fn zones_and_events(&mut self, events: &[CalEvent]) {
        let zones: Vec<Zone> = events.iter().map(|e| Zone::resolve(&e.time_zone)).collect();
        let mut spans: BTreeMap<&'static str, (Tz, Vec<Span>)> = BTreeMap::new();
        for (event, zone) in events.iter().zip(&zones) {
            if let Zone::Named(tz) = *zone {
                spans
                    .entry(tz.name())
                    .or_insert_with(|| (tz, Vec::new()))
                    .1
                    .push(coverage(event));
            }
        }
        for (tz, ranges) in spans.into_values() {
            self.vtimezone(tz, &merge_ranges(ranges));
        }
        for (event, zone) in events.iter().zip(zones) {
            self.vevent(event, zone);
        }
    }

    /// Writes a `VTIMEZONE` describing `tz` over the given UTC ranges (Unix seconds).
    fn vtimezone(&mut self, tz: Tz, ranges: &[Span]) {
        self.line("BEGIN:VTIMEZONE");
        self.line(&format!("TZID:{}", tz.name()));
        self.line(&format!("X-LIC-LOCATION:{}", tz.name()));
        for &(from, to) in ranges {
            for observance in observances(tz, from, to) {
                self.observance(&observance);
            }
        }
        self.line("END:VTIMEZONE");
    }

    /// Writes one `STANDARD` or `DAYLIGHT` sub-component.
    fn observance(&mut self, o: &Observance) {
        let from_secs = o.from.fix().local_minus_utc();
        let to_secs = o.to.fix().local_minus_utc();
        // RFC 5545 §3.6.5: the onset is the local time in effect *before* it.
        let Some(local_onset) = DateTime::from_timestamp(o.onset + i64::from(from_secs), 0) else {
            return;
        };
        let kind = if o.to.dst_offset().num_seconds() != 0 {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        self.line(&format!("BEGIN:{kind}"));
        self.line(&format!("DTSTART:{}", local_onset.format("%Y%m%dT%H%M%S")));
        self.line(&format!("TZOFFSETFROM:{}", format_utc_offset(from_secs)));
        self.line(&format!("TZOFFSETTO:{}", format_utc_offset(to_secs)));
        match o.to.abbreviation() {
            Some(abbreviation) => self.text("TZNAME", abbreviation),
            None => self.text("TZNAME", &numeric_abbreviation(to_secs)),
        }
        self.line(&format!("END:{kind}"));
    }

    fn vevent(&mut self, e: &CalEvent, zone: Zone) {
        self.line("BEGIN:VEVENT");
        self.text("UID", &e.uid);
        self.line(&format!("SEQUENCE:{}", e.sequence.max(0)));
        self.utc("DTSTAMP", e.updated_at);
        self.utc("CREATED", e.created_at);
        self.utc("LAST-MODIFIED", e.updated_at);
        self.line(&date_time("DTSTART", e.starts_at, zone));
        if e.ends_at > e.starts_at {
            self.line(&date_time("DTEND", e.ends_at, zone));
        }
        self.text("SUMMARY", &e.title);
        let description = description_with_url(&e.description, &e.url);
        if !description.is_empty() {
            self.text("DESCRIPTION", &description);
        }
        if !e.location.trim().is_empty() {
            self.text("LOCATION", &e.location);
        }
        let url = strip_controls(&e.url);
        if !url.is_empty() {
            self.line(&format!("URL:{url}"));
        }
        if let Some((name, email)) = &e.organizer {
            self.organizer(name, email);
        }
        self.line(if e.cancelled {
            "STATUS:CANCELLED"
        } else {
            "STATUS:CONFIRMED"
        });
        self.line("END:VEVENT");
    }

    fn organizer(&mut self, name: &str, email: &str) {
        let email = strip_controls(email);
        if email.is_empty() {
            return;
        }
        let has_scheme = email
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("mailto:"));
        let address = if has_scheme {
            email
        } else {
            format!("mailto:{email}")
        };
        let name = name.trim();
        if name.is_empty() {
            self.line(&format!("ORGANIZER:{address}"));
        } else {
            self.line(&format!("ORGANIZER;CN={}:{address}", param_value(name)));
        }
    }
}

/// The UTC range (Unix seconds) a `VTIMEZONE` must cover for `event`: from 1 January
/// of the year before it to 1 January two years after its year, i.e. one full year of
/// margin on either side.
fn coverage(event: &CalEvent) -> Span {
    let first = event.starts_at.min(event.ends_at);
    let last = event.starts_at.max(event.ends_at);
    let year_start = |year: i32, fallback: i64| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(fallback, |dt| dt.and_utc().timestamp())
    };
    (
        year_start(first.year().saturating_sub(1), first.timestamp()),
        year_start(last.year().saturating_add(2), last.timestamp()),
    )
}

/// `DTSTART`/`DTEND` line for `at`: local time with `TZID` for a named zone, UTC form
/// otherwise, and also when the local time is the second of two identical wall-clock
/// times (which RFC 5545 §3.3.5 would read as the first).
fn date_time(name: &str, at: DateTime<Utc>, zone: Zone) -> String {
    if let Zone::Named(tz) = zone {
        let local = at.with_timezone(&tz).naive_local();
        let unambiguous = match tz.from_local_datetime(&local) {
            LocalResult::Single(_) => true,
            LocalResult::Ambiguous(first, _) => first == at,
            LocalResult::None => false,
        };
        if unambiguous {
            return format!(
                "{name};TZID={}:{}",
                tz.name(),
                local.format("%Y%m%dT%H%M%S")
            );
        }
    }
    format!("{name}:{}", utc_stamp(at))
}

/// A `DATE-TIME` in UTC form, e.g. `20130227T023000Z`.
fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A `UTC-OFFSET` value: `+HHMM`, or `+HHMMSS` when seconds are not zero.
fn format_utc_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// The name the IANA database gives offsets without a letter abbreviation (its `%z`
/// format): `-03`, `+0545`.
fn numeric_abbreviation(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let (h, m) = (abs / 3600, abs / 60 % 60);
    if m == 0 {
        format!("{sign}{h:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// The description followed by a blank line and the URL, unless the URL is blank or
/// already in the description.
fn description_with_url(description: &str, url: &str) -> String {
    let description = description.trim_end();
    let url = url.trim();
    if url.is_empty() || description.contains(url) {
        description.to_owned()
    } else if description.is_empty() {
        url.to_owned()
    } else {
        format!("{description}\n\n{url}")
    }
}

/// Escapes a `TEXT` value (RFC 5545 §3.3.11). Line breaks become `\n`; control
/// characters other than tab are dropped.
fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: RFC 6868 caret encoding for `^`, `"` and line breaks, other
/// control characters dropped, and double quotes around it when it contains `;`, `:`
/// or `,` (RFC 5545 §3.2).
fn param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => out.push_str("^^"),
            '"' => out.push_str("^'"),
            '\n' => out.push_str("^n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("^n");
            }
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    if out.contains([';', ':', ',']) {
        format!("\"{out}\"")
    } else {
        out
    }
}

/// Removes control characters and surrounding whitespace (for URIs and addresses).
fn strip_controls(value: &str) -> String {
    value.trim().chars().filter(|c| !c.is_control()).collect()
}

/// Appends `line` folded to [`MAX_LINE_OCTETS`]-octet physical lines, each ended by
/// CRLF; continuation lines start with one space.
fn push_folded(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = MAX_LINE_OCTETS;
    let mut continuation = false;
    while rest.len() > limit {
        let (head, tail) = rest.split_at(fold_point(rest, limit));
        if continuation {
            out.push(' ');
        }
        out.push_str(head);
        out.push_str("\r\n");
        rest = tail;
        // Continuation lines spend one octet on the leading space.
        limit = MAX_LINE_OCTETS - 1;
        continuation = true;
    }
    if continuation {
        out.push(' ');
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// Where to fold `s` (longer than `limit` octets): the last character boundary at or
/// before `limit` that neither follows a space or tab nor splits a backslash escape;
/// failing that, the last character boundary at or before `limit`.
fn fold_point(s: &str, limit: usize) -> usize {
    let bytes = s.as_bytes();
    let hard = (1..=limit)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(limit);
    let nice = |cut: usize| {
        let before = bytes[cut - 1];
        let backslashes = bytes[..cut]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        before != b' ' && before != b'\t' && backslashes % 2 == 0
    };
    (1..=hard)
        .rev()
        .find(|&cut| s.is_char_boundary(cut) && nice(cut))
        .unwrap_or(hard)
}

// ---------------------------------------------------------------------------------
// Atom
// ---------------------------------------------------------------------------------

/// RFC 3339 timestamp in UTC with whole seconds, e.g. `2013-02-27T02:30:00Z`.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Appends `<name type="…">text</name>` on its own line.
fn xml_element(out: &mut String, indent: &str, name: &str, type_attr: Option<&str>, text: &str) {
    out.push_str(indent);
    out.push('<');
    out.push_str(name);
    if let Some(type_attr) = type_attr {
        out.push_str(" type=\"");
        out.push_str(type_attr);
        out.push('"');
    }
    out.push('>');
    out.push_str(&escape_xml(text, false));
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// Appends `<link rel="…" type="…" href="…"/>`, unless `href` is blank.
fn xml_link(out: &mut String, indent: &str, rel: &str, media_type: &str, href: &str) {
    let href = href.trim();
    if href.is_empty() {
        return;
    }
    out.push_str(&format!(
        "{indent}<link rel=\"{rel}\" type=\"{media_type}\" href=\"{}\"/>\n",
        escape_xml(href, true)
    ));
}

/// Appends `<author><name>…</name></author>`.
fn xml_author(out: &mut String, indent: &str, name: &str) {
    out.push_str(indent);
    out.push_str("<author><name>");
    out.push_str(&escape_xml(name, false));
    out.push_str("</name></author>\n");
}

/// Escapes text for XML 1.0 character data or (with `attribute`) a double-quoted
/// attribute value. Line breaks are normalised to `\n` (kept as a character
/// reference in attributes, where parsers would otherwise turn them into spaces), and
/// characters XML 1.0 cannot carry are dropped.
fn escape_xml(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' | '\n' => {
                if c == '\r' {
                    chars.next_if_eq(&'\n');
                }
                out.push_str(if attribute { "&#10;" } else { "\n" });
            }
            '\t' => out.push_str(if attribute { "&#9;" } else { "\t" }),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::observances::offset_at;
    use super::*;
    use ical::parser::ical::component::{IcalCalendar, IcalTimeZone, IcalTimeZoneTransitionType};
    use ical::property::Property;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// The first QSNB meetup: 2013-02-26 18:30–20:30 in Los Angeles.
    fn qsnb() -> CalEvent {
        CalEvent {
            uid: "3f2a9c1e-5b7d-4e1f-9a0b-qsnb0001@cohort".into(),
            sequence: 3,
            title: "QSNB Meetup v1.3".into(),
            description: "Lightning talks, pizza; and a demo.\nBring a laptop \\ charger.".into(),
            starts_at: utc(2013, 2, 27, 2, 30),
            ends_at: utc(2013, 2, 27, 4, 30),
            time_zone: "America/Los_Angeles".into(),
            location: "Hacker Dojo, 599 Fairchild Dr, Mountain View, CA".into(),
            url: "https://cohort.example/g/qsnb/e/1".into(),
            cancelled: false,
            created_at: utc(2013, 1, 15, 9, 0),
            updated_at: utc(2013, 2, 20, 17, 45),
            organizer: Some(("Ada Lovelace".into(), "ada@example.org".into())),
        }
    }

    fn parse(ics: &str) -> IcalCalendar {
        assert_well_formed(ics);
        let mut parser = ical::IcalParser::new(ics.as_bytes());
        let calendar = parser.next().expect("a VCALENDAR").expect("parses");
        assert!(parser.next().is_none(), "exactly one VCALENDAR");
        calendar
    }

    /// CRLF everywhere, no physical line over 75 octets, folds valid UTF-8.
    fn assert_well_formed(ics: &str) {
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        let bytes = ics.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at octet {i}");
            }
            if b == b'\r' {
                assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at octet {i}");
            }
        }
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(line.len() <= 75, "{} octets: {:?}", line.len(), line);
            std::str::from_utf8(line).expect("each physical line is valid UTF-8");
        }
    }

    fn find<'a>(props: &'a [Property], name: &str) -> Option<&'a Property> {
        props.iter().find(|p| p.name == name)
    }

    fn value(props: &[Property], name: &str) -> String {
        find(props, name)
            .unwrap_or_else(|| panic!("no {name}"))
            .value
            .clone()
            .unwrap_or_default()
    }

    fn param(prop: &Property, key: &str) -> Option<Vec<String>> {
        prop.params
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// RFC 5545 §3.3.11 unescaping, as a client would do it.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn zone<'a>(calendar: &'a IcalCalendar, tzid: &str) -> &'a IcalTimeZone {
        calendar
            .timezones
            .iter()
            .find(|z| value(&z.properties, "TZID") == tzid)
            .unwrap_or_else(|| panic!("no VTIMEZONE {tzid}"))
    }

    /// (kind, DTSTART, TZOFFSETFROM, TZOFFSETTO, TZNAME) of each observance.
    fn observance_rows(zone: &IcalTimeZone) -> Vec<(&'static str, String, String, String, String)> {
        zone.transitions
            .iter()
            .map(|t| {
                let kind = match t.transition {
                    IcalTimeZoneTransitionType::STANDARD => "STANDARD",
                    IcalTimeZoneTransitionType::DAYLIGHT => "DAYLIGHT",
                };
                let p = &t.properties;
                (
                    kind,
                    value(p, "DTSTART"),
                    value(p, "TZOFFSETFROM"),
                    value(p, "TZOFFSETTO"),
                    value(p, "TZNAME"),
                )
            })
            .collect()
    }

    fn parse_offset(s: &str) -> i64 {
        let sign = if s.starts_with('-') { -1 } else { 1 };
        let digits = &s[1..];
        let h: i64 = digits[0..2].parse().unwrap();
        let m: i64 = digits[2..4].parse().unwrap();
        let sec: i64 = digits.get(4..6).map_or(0, |x| x.parse().unwrap());
        sign * (h * 3600 + m * 60 + sec)
    }

    /// Every observance must be a real offset change of the zone (or the offset in
    /// effect at the start of the span), at the instant it claims.
    fn assert_observances_match_tzdb(zone: &IcalTimeZone) {
        let tz: Tz = value(&zone.properties, "TZID").parse().unwrap();
        let rows = observance_rows(zone);
        assert!(!rows.is_empty());
        for (kind, dtstart, from, to, name) in rows {
            let local = chrono::NaiveDateTime::parse_from_str(&dtstart, "%Y%m%dT%H%M%S").unwrap();
            let onset = local.and_utc().timestamp() - parse_offset(&from);
            let after = offset_at(tz, onset).unwrap();
            let before = offset_at(tz, onset - 1).unwrap();
            assert_eq!(i64::from(after.fix().local_minus_utc()), parse_offset(&to));
            assert_eq!(
                i64::from(before.fix().local_minus_utc()),
                parse_offset(&from)
            );
            let expected_name = after.abbreviation().map_or_else(
                || numeric_abbreviation(after.fix().local_minus_utc()),
                str::to_owned,
            );
            assert_eq!(expected_name, name);
            let daylight = after.dst_offset().num_seconds() != 0;
            assert_eq!(kind, if daylight { "DAYLIGHT" } else { "STANDARD" });
        }
    }

    #[test]
    fn first_meetup_is_written_in_venue_local_time_with_a_vtimezone() {
        let ics = event_ics(&qsnb(), None);
        assert!(ics.contains("\r\nDTSTART;TZID=America/Los_Angeles:20130226T183000\r\n"));
        assert!(ics.contains("\r\nDTEND;TZID=America/Los_Angeles:20130226T203000\r\n"));
        assert!(!ics.contains("METHOD"));

        let calendar = parse(&ics);
        assert_eq!(calendar.timezones.len(), 1);
        let la = zone(&calendar, "America/Los_Angeles");
        let rows = observance_rows(la);
        type Row = (&'static str, String, String, String, String);
        let row = |kind: &'static str, start: &str, from: &str, to: &str, name: &str| -> Row {
            (kind, start.into(), from.into(), to.into(), name.into())
        };
        // In effect on 2012-01-01 00:00 UTC, then every change of 2012–2014.
        assert_eq!(
            rows,
            vec![
                row("STANDARD", "20111231T160000", "-0800", "-0800", "PST"),
                row("DAYLIGHT", "20120311T020000", "-0800", "-0700", "PDT"),
                row("STANDARD", "20121104T020000", "-0700", "-0800", "PST"),
                row("DAYLIGHT", "20130310T020000", "-0800", "-0700", "PDT"),
                row("STANDARD", "20131103T020000", "-0700", "-0800", "PST"),
                row("DAYLIGHT", "20140309T020000", "-0800", "-0700", "PDT"),
                row("STANDARD", "20141102T020000", "-0700", "-0800", "PST"),
            ]
        );
        assert_observances_match_tzdb(la);
    }

    #[test]
    fn event_properties_round_trip_through_an_ical_parser() {
        let mut event = qsnb();
        event.title = "Rust, WASM; and \"you\"\nPart 2 \\ finale".into();
        let calendar = parse(&event_ics(&event, None));

        let props = &calendar.properties;
        assert_eq!(value(props, "PRODID"), "-//Cohort//Cohort meetups//EN");
        assert_eq!(value(props, "VERSION"), "2.0");
        assert_eq!(value(props, "CALSCALE"), "GREGORIAN");
        assert!(find(props, "METHOD").is_none());

        assert_eq!(calendar.events.len(), 1);
        let p = &calendar.events[0].properties;
        assert_eq!(value(p, "UID"), "3f2a9c1e-5b7d-4e1f-9a0b-qsnb0001@cohort");
        assert_eq!(value(p, "SEQUENCE"), "3");
        assert_eq!(value(p, "STATUS"), "CONFIRMED");
        assert_eq!(unescape(&value(p, "SUMMARY")), event.title);
        assert_eq!(
            unescape(&value(p, "DESCRIPTION")),
            "Lightning talks, pizza; and a demo.\nBring a laptop \\ charger.\n\n\
             https://cohort.example/g/qsnb/e/1"
        );
        assert_eq!(unescape(&value(p, "LOCATION")), event.location);
        assert_eq!(value(p, "URL"), event.url);
        assert_eq!(value(p, "DTSTAMP"), "20130220T174500Z");
        assert_eq!(value(p, "LAST-MODIFIED"), "20130220T174500Z");
        assert_eq!(value(p, "CREATED"), "20130115T090000Z");

        let dtstart = find(p, "DTSTART").unwrap();
        assert_eq!(
            param(dtstart, "TZID"),
            Some(vec!["America/Los_Angeles".into()])
        );
        assert_eq!(dtstart.value.as_deref(), Some("20130226T183000"));
        let dtend = find(p, "DTEND").unwrap();
        assert_eq!(
            param(dtend, "TZID"),
            Some(vec!["America/Los_Angeles".into()])
        );
        assert_eq!(dtend.value.as_deref(), Some("20130226T203000"));

        let organizer = find(p, "ORGANIZER").unwrap();
        assert_eq!(param(organizer, "CN"), Some(vec!["Ada Lovelace".into()]));
        assert_eq!(organizer.value.as_deref(), Some("mailto:ada@example.org"));
    }

    #[test]
    fn organizer_names_needing_quotes_are_quoted() {
        let mut event = qsnb();
        event.organizer = Some((
            "Lovelace, Ada: \"The\" Countess".into(),
            "mailto:ada@example.org".into(),
        ));
        let ics = event_ics(&event, None);
        assert!(ics.contains(
            "ORGANIZER;CN=\"Lovelace, Ada: ^'The^' Countess\":mailto:ada@example.org\r\n"
        ));
        let calendar = parse(&ics);
        let organizer = find(&calendar.events[0].properties, "ORGANIZER").unwrap();
        assert_eq!(
            param(organizer, "CN"),
            Some(vec!["Lovelace, Ada: ^'The^' Countess".into()])
        );
        assert_eq!(organizer.value.as_deref(), Some("mailto:ada@example.org"));
    }

    #[test]
    fn method_is_added_only_when_asked_for() {
        let ics = event_ics(&qsnb(), Some("publish"));
        assert!(ics.contains("\r\nMETHOD:PUBLISH\r\n"));
        let calendar = parse(&ics);
        assert_eq!(value(&calendar.properties, "METHOD"), "PUBLISH");

        let injected = event_ics(&qsnb(), Some("REQUEST\r\nX-EVIL:1"));
        assert!(injected.contains("\r\nMETHOD:REQUESTX-EVIL1\r\n"));
        assert!(!event_ics(&qsnb(), Some(" ")).contains("METHOD"));
    }

    #[test]
    fn long_multibyte_lines_fold_on_character_boundaries() {
        let mut event = qsnb();
        event.title = "Café ☕ Ünïcødé — 日本語の勉強会 🦀🦀🦀 "
            .repeat(8)
            .trim_end()
            .to_owned();
        event.description = "α,β;γ\\δ ".repeat(40);
        let ics = event_ics(&event, None);

        let summary_lines = ics
            .split("\r\n")
            .skip_while(|l| !l.starts_with("SUMMARY:"))
            .take_while(|l| l.starts_with("SUMMARY:") || l.starts_with(' '))
            .count();
        assert!(summary_lines > 4, "the summary is folded");
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75);
            assert!(
                !line.ends_with(' '),
                "no fold right after a space: {line:?}"
            );
        }
        // Unfolding restores the content line.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("\r\nSUMMARY:{}\r\n", event.title)));

        let calendar = parse(&ics);
        let p = &calendar.events[0].properties;
        assert_eq!(unescape(&value(p, "SUMMARY")), event.title);
        assert!(unescape(&value(p, "DESCRIPTION")).starts_with(event.description.trim_end()));
    }

    #[test]
    fn folding_handles_edge_cases() {
        let mut out = String::new();
        push_folded(&mut out, &"x".repeat(75));
        assert_eq!(out, format!("{}\r\n", "x".repeat(75)));

        let mut out = String::new();
        push_folded(&mut out, &"x".repeat(76));
        assert_eq!(out, format!("{}\r\n x\r\n", "x".repeat(75)));

        // A fold never splits an escape sequence.
        let mut out = String::new();
        let line = format!("{}\\,tail", "x".repeat(74));
        push_folded(&mut out, &line);
        assert_eq!(out, format!("{}\r\n \\,tail\r\n", "x".repeat(74)));

        // Only whitespace: fold anyway.
        let mut out = String::new();
        push_folded(&mut out, &" ".repeat(200));
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(
            out.replace("\r\n ", "").trim_end_matches("\r\n"),
            " ".repeat(200)
        );

        // Four-octet characters.
        let mut out = String::new();
        let crabs = "🦀".repeat(100);
        push_folded(&mut out, &crabs);
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(out.replace("\r\n ", ""), format!("{crabs}\r\n"));
    }

    #[test]
    fn text_escaping() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\th\u{7}i"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng\thi"
        );
        assert_eq!(param_value("plain name"), "plain name");
        assert_eq!(param_value("a;b"), "\"a;b\"");
        assert_eq!(param_value("x^y\"z\nw"), "x^^y^'z^nw");
        assert_eq!(format_utc_offset(-8 * 3600), "-0800");
        assert_eq!(format_utc_offset(0), "+0000");
        assert_eq!(format_utc_offset(5 * 3600 + 1800), "+0530");
        assert_eq!(format_utc_offset(-(7 * 3600 + 52 * 60 + 58)), "-075258");
        assert_eq!(numeric_abbreviation(-3 * 3600), "-03");
        assert_eq!(numeric_abbreviation(5 * 3600 + 45 * 60), "+0545");
    }

    #[test]
    fn user_text_cannot_inject_content_lines() {
        let mut event = qsnb();
        event.uid = "abc@cohort\r\nX-EVIL:1".into();
        event.url = "https://cohort.example/e/1\r\nX-EVIL:2".into();
        event.organizer = Some(("Eve\r\nX-EVIL:3".into(), "eve@example.org\nX-EVIL:4".into()));
        let ics = event_ics(&event, None);
        assert!(!ics.contains("\r\nX-EVIL"));
        parse(&ics);
    }

    #[test]
    fn cancelled_event_has_cancelled_status() {
        let mut event = qsnb();
        event.cancelled = true;
        event.sequence = 4;
        let ics = event_ics(&event, Some("CANCEL"));
        assert!(ics.contains("\r\nSTATUS:CANCELLED\r\n"));
        assert!(!ics.contains("CONFIRMED"));
        let calendar = parse(&ics);
        let p = &calendar.events[0].properties;
        assert_eq!(value(p, "STATUS"), "CANCELLED");
        assert_eq!(value(p, "SEQUENCE"), "4");
    }

    #[test]
    fn group_feed_has_one_vtimezone_per_zone() {
        let la = qsnb();
        let mut berlin = qsnb();
        berlin.uid = "berlin-1@cohort".into();
        berlin.time_zone = "Europe/Berlin".into();
        berlin.starts_at = utc(2014, 6, 3, 17, 0);
        berlin.ends_at = utc(2014, 6, 3, 19, 0);
        let mut la_again = qsnb();
        la_again.uid = "qsnb-2@cohort".into();
        la_again.starts_at = utc(2013, 3, 27, 1, 30);
        la_again.ends_at = utc(2013, 3, 27, 3, 30);

        let ics = calendar_ics(
            "QSNB, the group",
            "America/Los_Angeles",
            &[la, berlin, la_again],
        );
        assert_eq!(ics.matches("BEGIN:VTIMEZONE").count(), 2);
        let calendar = parse(&ics);
        let props = &calendar.properties;
        assert_eq!(unescape(&value(props, "X-WR-CALNAME")), "QSNB, the group");
        assert_eq!(value(props, "X-WR-TIMEZONE"), "America/Los_Angeles");
        assert_eq!(value(props, "X-PUBLISHED-TTL"), "PT1H");
        let refresh = find(props, "REFRESH-INTERVAL").unwrap();
        assert_eq!(param(refresh, "VALUE"), Some(vec!["DURATION".into()]));
        assert_eq!(refresh.value.as_deref(), Some("PT1H"));

        assert_eq!(calendar.timezones.len(), 2);
        let berlin_zone = zone(&calendar, "Europe/Berlin");
        let names: Vec<String> = observance_rows(berlin_zone)
            .into_iter()
            .map(|r| r.4)
            .collect();
        assert!(names.contains(&"CET".to_owned()) && names.contains(&"CEST".to_owned()));
        assert_observances_match_tzdb(berlin_zone);
        assert_observances_match_tzdb(zone(&calendar, "America/Los_Angeles"));

        let uids: Vec<String> = calendar
            .events
            .iter()
            .map(|e| value(&e.properties, "UID"))
            .collect();
        assert_eq!(
            uids,
            [
                "3f2a9c1e-5b7d-4e1f-9a0b-qsnb0001@cohort",
                "berlin-1@cohort",
                "qsnb-2@cohort"
            ]
        );
        let berlin_start = find(&calendar.events[1].properties, "DTSTART").unwrap();
        assert_eq!(
            param(berlin_start, "TZID"),
            Some(vec!["Europe/Berlin".into()])
        );
        assert_eq!(berlin_start.value.as_deref(), Some("20140603T190000"));
        // 2013-03-26 18:30 PDT, after the spring change.
        let second = find(&calendar.events[2].properties, "DTSTART").unwrap();
        assert_eq!(second.value.as_deref(), Some("20130326T183000"));
    }

    #[test]
    fn empty_feed_is_still_a_valid_calendar() {
        let ics = calendar_ics("Nobody", "Not/AZone", &[]);
        let calendar = parse(&ics);
        assert!(calendar.events.is_empty() && calendar.timezones.is_empty());
        assert_eq!(value(&calendar.properties, "X-WR-TIMEZONE"), "UTC");
    }

    #[test]
    fn utc_and_unknown_zones_use_utc_times_without_vtimezone() {
        for name in ["UTC", "Etc/UTC", "Mars/Olympus_Mons", ""] {
            let mut event = qsnb();
            event.time_zone = name.into();
            let ics = event_ics(&event, None);
            assert!(ics.contains("\r\nDTSTART:20130227T023000Z\r\n"), "{name}");
            assert!(ics.contains("\r\nDTEND:20130227T043000Z\r\n"), "{name}");
            assert!(!ics.contains("TZID"), "{name}");
            let calendar = parse(&ics);
            assert!(calendar.timezones.is_empty());
            let dtstart = find(&calendar.events[0].properties, "DTSTART").unwrap();
            assert!(dtstart.params.is_none());
        }
    }

    #[test]
    fn zone_without_transitions_gets_one_standard_component() {
        let mut event = qsnb();
        event.time_zone = "Asia/Kolkata".into();
        let calendar = parse(&event_ics(&event, None));
        let kolkata = zone(&calendar, "Asia/Kolkata");
        assert_eq!(
            observance_rows(kolkata),
            vec![(
                "STANDARD",
                "20120101T053000".into(),
                "+0530".into(),
                "+0530".into(),
                "IST".into()
            )]
        );
        let dtstart = find(&calendar.events[0].properties, "DTSTART").unwrap();
        assert_eq!(dtstart.value.as_deref(), Some("20130227T080000"));
    }

    #[test]
    fn unusual_zones_match_the_tz_database() {
        let zones = [
            "Australia/Sydney",
            "Australia/Lord_Howe",
            "America/Sao_Paulo",
            "Europe/London",
            "Europe/Dublin",
            "Pacific/Apia",
            "Asia/Kathmandu",
        ];
        let events: Vec<CalEvent> = zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let mut e = qsnb();
                e.uid = format!("{i}@cohort");
                e.time_zone = (*z).into();
                e.starts_at = utc(2011 + i as i32 * 2, 12, 30, 6, 0);
                e.ends_at = e.starts_at + chrono::Duration::hours(2);
                e
            })
            .collect();
        let calendar = parse(&calendar_ics("World", "Europe/London", &events));
        assert_eq!(calendar.timezones.len(), zones.len());
        for (event, name) in events.iter().zip(zones) {
            let z = zone(&calendar, name);
            assert_observances_match_tzdb(z);
            // A client resolving DTSTART with this VTIMEZONE gets the right instant:
            // the observance in effect is the last one whose onset is not after it.
            let tz: Tz = name.parse().unwrap();
            let local = event.starts_at.with_timezone(&tz).naive_local();
            let offset = observance_rows(z)
                .into_iter()
                .filter_map(|(_, start, from, to, _)| {
                    let onset_local =
                        chrono::NaiveDateTime::parse_from_str(&start, "%Y%m%dT%H%M%S").unwrap();
                    let onset = onset_local.and_utc().timestamp() - parse_offset(&from);
                    (onset <= local.and_utc().timestamp() - parse_offset(&to))
                        .then_some((onset, parse_offset(&to)))
                })
                .max()
                .unwrap()
                .1;
            assert_eq!(
                local.and_utc().timestamp() - offset,
                event.starts_at.timestamp(),
                "{name}"
            );
        }
    }

    #[test]
    fn repeated_local_hour_is_written_unambiguously() {
        // 2013-11-03 01:30 happens twice in Los Angeles: 08:30Z (PDT) and 09:30Z (PST).
        let mut first = qsnb();
        first.starts_at = utc(2013, 11, 3, 8, 30);
        first.ends_at = utc(2013, 11, 3, 8, 50);
        let ics = event_ics(&first, None);
        assert!(ics.contains("\r\nDTSTART;TZID=America/Los_Angeles:20131103T013000\r\n"));
        assert!(ics.contains("\r\nDTEND;TZID=America/Los_Angeles:20131103T015000\r\n"));

        let mut second = qsnb();
        second.starts_at = utc(2013, 11, 3, 9, 30);
        second.ends_at = utc(2013, 11, 3, 11, 0);
        let ics = event_ics(&second, None);
        assert!(ics.contains("\r\nDTSTART:20131103T093000Z\r\n"));
        assert!(ics.contains("\r\nDTEND;TZID=America/Los_Angeles:20131103T030000\r\n"));
        parse(&ics);
    }

    #[test]
    fn empty_optional_fields_are_left_out() {
        let mut event = qsnb();
        event.description = String::new();
        event.url = String::new();
        event.location = "  ".into();
        event.organizer = None;
        event.ends_at = event.starts_at;
        event.sequence = -1;
        let calendar = parse(&event_ics(&event, None));
        let p = &calendar.events[0].properties;
        for name in ["DESCRIPTION", "URL", "LOCATION", "ORGANIZER", "DTEND"] {
            assert!(find(p, name).is_none(), "{name}");
        }
        assert_eq!(value(p, "SEQUENCE"), "0");

        // A URL already in the description is not repeated.
        let mut event = qsnb();
        event.description = format!("Details: {}", event.url);
        let calendar = parse(&event_ics(&event, None));
        let description = unescape(&value(&calendar.events[0].properties, "DESCRIPTION"));
        assert_eq!(description, event.description);
    }

    fn entries() -> Vec<FeedEntry> {
        vec![
            FeedEntry {
                id: "tag:cohort.example,2013:event/1".into(),
                title: "QSNB Meetup v1.3 <&> \"quotes\" & 'apostrophes'".into(),
                url: "https://cohort.example/g/qsnb/e/1?a=1&b=2".into(),
                summary: "Talks & pizza <b>not bold</b>\nsecond line".into(),
                updated: utc(2013, 2, 20, 17, 45),
                published: utc(2013, 1, 15, 9, 0),
            },
            FeedEntry {
                id: "urn:uuid:6f1c3a52-8a7e-4f3b-9c1d-2b7e5d4a9f10".into(),
                title: "Rust für Anfänger 🦀".into(),
                url: "https://cohort.example/g/qsnb/e/2".into(),
                summary: String::new(),
                updated: utc(2013, 3, 1, 8, 0),
                published: utc(2013, 2, 28, 8, 0),
            },
        ]
    }

    #[test]
    fn atom_feed_parses_with_feed_rs() {
        let entries = entries();
        let xml = atom_feed(
            "tag:cohort.example,2013:group/qsnb",
            "QSNB <Quantified Self> & friends",
            "https://cohort.example/g/qsnb/feed.atom",
            "https://cohort.example/g/qsnb",
            utc(2000, 1, 1, 0, 0),
            &entries,
        );
        assert!(xml.contains("<title type=\"text\">QSNB Meetup v1.3 &lt;&amp;&gt; &quot;quotes&quot; &amp; &apos;apostrophes&apos;</title>"));
        assert!(xml.contains("href=\"https://cohort.example/g/qsnb/e/1?a=1&amp;b=2\""));
        assert!(xml.contains("<updated>2013-03-01T08:00:00Z</updated>"));

        let feed = feed_rs::parser::parse(xml.as_bytes()).expect("valid Atom");
        assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
        assert_eq!(feed.id, "tag:cohort.example,2013:group/qsnb");
        assert_eq!(
            feed.title.unwrap().content,
            "QSNB <Quantified Self> & friends"
        );
        assert_eq!(feed.updated, Some(utc(2013, 3, 1, 8, 0)));
        let link = |links: &[feed_rs::model::Link], rel: &str| {
            links
                .iter()
                .find(|l| l.rel.as_deref() == Some(rel))
                .map(|l| l.href.clone())
        };
        assert_eq!(
            link(&feed.links, "self").as_deref(),
            Some("https://cohort.example/g/qsnb/feed.atom")
        );
        assert_eq!(
            link(&feed.links, "alternate").as_deref(),
            Some("https://cohort.example/g/qsnb")
        );

        assert_eq!(feed.entries.len(), 2);
        for (parsed, entry) in feed.entries.iter().zip(&entries) {
            assert_eq!(parsed.id, entry.id);
            assert_eq!(parsed.title.as_ref().unwrap().content, entry.title);
            assert_eq!(
                link(&parsed.links, "alternate").as_deref(),
                Some(entry.url.as_str())
            );
            assert_eq!(parsed.updated, Some(entry.updated));
            assert_eq!(parsed.published, Some(entry.published));
            assert_eq!(
                parsed.authors[0].name.as_deref(),
                Some("QSNB <Quantified Self> & friends")
            );
        }
        assert_eq!(
            feed.entries[0].summary.as_ref().unwrap().content,
            "Talks & pizza <b>not bold</b>\nsecond line"
        );
    }

    #[test]
    fn atom_feed_without_entries_uses_fallback_updated() {
        let xml = atom_feed(
            "urn:uuid:0b6c4f0e-1d4e-4c55-8a60-4b1f3f0a2c11",
            "Empty",
            "https://cohort.example/g/empty/feed.atom",
            "https://cohort.example/g/empty",
            utc(2020, 5, 4, 3, 2),
            &[],
        );
        let feed = feed_rs::parser::parse(xml.as_bytes()).expect("valid Atom");
        assert_eq!(feed.updated, Some(utc(2020, 5, 4, 3, 2)));
        assert!(feed.entries.is_empty());
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(escape_xml("<&>\"'", false), "&lt;&amp;&gt;&quot;&apos;");
        assert_eq!(escape_xml("a\r\nb\u{0}c\u{FFFE}", false), "a\nbc");
        assert_eq!(escape_xml("a\nb\tc", true), "a&#10;b&#9;c");
    }
}
