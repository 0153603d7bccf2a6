//! Server side of the meetup pages: the queries behind them and time formatting in the
//! event's own zone.

use super::{GroupSummary, HomeData, MeetupCard};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

/// How many past meetups the home page lists.
const PAST_LIMIT: i64 = 50;

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    group_name: String,
    title: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    time_zone: String,
    venue: String,
    address: String,
    cancelled: bool,
    seats_taken: i64,
    checked_in: i64,
    past: bool,
}

impl From<EventRow> for MeetupCard {
    fn from(row: EventRow) -> Self {
        let (date_label, time_label) = format_when(row.starts_at, row.ends_at, &row.time_zone);
        MeetupCard {
            id: row.id,
            group_name: row.group_name,
            title: row.title,
            starts_at: row.starts_at,
            date_label,
            time_label,
            time_zone: row.time_zone,
            venue: row.venue,
            address: row.address,
            cancelled: row.cancelled,
            people: match (row.past, row.cancelled) {
                (_, true) => String::new(),
                (true, _) if row.checked_in > 0 => format!("{} attended", row.checked_in),
                (true, _) => String::new(),
                (false, _) => format!("{} going", row.seats_taken),
            },
        }
    }
}

const EVENT_COLUMNS: &str = "e.id, g.name AS group_name, e.title, e.starts_at, e.ends_at, \
     e.time_zone, e.venue, e.address, e.status = 'cancelled' AS cancelled, \
     (SELECT coalesce(sum(1 + r.guests), 0)::bigint FROM rsvps r WHERE r.event_id = e.id AND r.seat IN ('going', 'offered')) AS seats_taken, \
     (SELECT coalesce(sum(1 + r.guests), 0)::bigint FROM rsvps r WHERE r.event_id = e.id AND r.checked_in_at IS NOT NULL) AS checked_in, \
     e.ends_at < now() AS past";

/// A group's meetups still to come (soonest first) and its past ones (latest first).
pub async fn group_meetups(
    pool: &PgPool,
    group_id: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<MeetupCard>, Vec<MeetupCard>), sqlx::Error> {
    upcoming_and_past(&mut *pool.acquire().await?, Some(group_id), now).await
}

/// The meetups still to come at `now` (soonest first; one in progress counts) and the
/// [`PAST_LIMIT`] most recent past ones (latest first), of one group or of all: in one
/// statement, a round trip less than two.
async fn upcoming_and_past(
    conn: &mut sqlx::PgConnection,
    group_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(Vec<MeetupCard>, Vec<MeetupCard>), sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        event: EventRow,
        earlier: bool,
    }
    let of_group = if group_id.is_some() {
        "AND e.group_id = $3"
    } else {
        ""
    };
    let sql = format!(
        "(SELECT {EVENT_COLUMNS}, false AS earlier FROM events e JOIN groups g ON g.id = e.group_id
           WHERE e.ends_at >= $1 {of_group})
         UNION ALL
         (SELECT {EVENT_COLUMNS}, true FROM events e JOIN groups g ON g.id = e.group_id
           WHERE e.ends_at < $1 {of_group}
           ORDER BY e.starts_at DESC, e.id DESC LIMIT $2)"
    );
    let mut query = sqlx::query_as::<_, Row>(&sql).bind(now).bind(PAST_LIMIT);
    if let Some(group_id) = group_id {
        query = query.bind(group_id);
    }
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for row in query.fetch_all(&mut *conn).await? {
        if row.earlier {
            past.push(row.event);
        } else {
            upcoming.push(row.event);
        }
    }
    // The union's order is not the branches': each list is put in its own here.
    upcoming.sort_by_key(|event| (event.starts_at, event.id));
    past.sort_by_key(|event| std::cmp::Reverse((event.starts_at, event.id)));
    Ok((
        upcoming.into_iter().map(MeetupCard::from).collect(),
        past.into_iter().map(MeetupCard::from).collect(),
    ))
}

/// The home page: every group, its meetups still to come (an event in progress counts as
/// upcoming) and the most recent past ones, as seen at `now`.
pub async fn home_data(pool: &PgPool, now: DateTime<Utc>) -> Result<HomeData, sqlx::Error> {
    // One connection for the two statements: each given back to the pool costs a round
    // trip (sqlx checks it).
    let mut conn = pool.acquire().await?;
    let groups = sqlx::query_as::<_, (String, String, String, String, i64)>(
        "SELECT g.slug, g.name, g.city, g.time_zone,
                (SELECT count(*) FROM memberships m WHERE m.group_id = g.id)
           FROM groups g
          ORDER BY g.name",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(slug, name, city, time_zone, member_count)| GroupSummary {
        slug,
        name,
        city,
        time_zone,
        member_count,
    })
    .collect();

    let (upcoming, past) = upcoming_and_past(&mut conn, None, now).await?;

    Ok(HomeData {
        groups,
        upcoming,
        past,
    })
}

/// Writes an event's start and end in its own time zone: a date label ("Tuesday,
/// 26 February 2013") and a time label ("6:30 PM – 8:30 PM PST"). An end on another
/// local day names that day. An unknown zone name falls back to UTC, saying so.
pub fn format_when(starts: DateTime<Utc>, ends: DateTime<Utc>, zone: &str) -> (String, String) {
    let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
    let (start, end) = (starts.with_timezone(&tz), ends.with_timezone(&tz));
    let date = start.format("%A, %-d %B %Y").to_string();
    let end_fmt = if end.date_naive() == start.date_naive() {
        "%-I:%M %p %Z"
    } else {
        "%a %-d %b, %-I:%M %p %Z"
    };
    let time = if start.format("%Z").to_string() == end.format("%Z").to_string() {
        format!("{} – {}", start.format("%-I:%M %p"), end.format(end_fmt))
    } else {
        // Across a daylight-saving change both ends name their own offset.
        format!("{} – {}", start.format("%-I:%M %p %Z"), end.format(end_fmt))
    };
    (date, time)
}

#[cfg(test)]
mod tests {
    use super::format_when;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_first_meetup_reads_in_pacific_standard_time() {
        let starts = Utc.with_ymd_and_hms(2013, 2, 27, 2, 30, 0).unwrap();
        let ends = Utc.with_ymd_and_hms(2013, 2, 27, 4, 30, 0).unwrap();
        let (date, time) = format_when(starts, ends, "America/Los_Angeles");
        assert_eq!(date, "Tuesday, 26 February 2013");
        assert_eq!(time, "6:30 PM – 8:30 PM PST");
    }

    #[test]
    fn summer_meetups_read_in_daylight_time() {
        let starts = Utc.with_ymd_and_hms(2026, 7, 29, 1, 30, 0).unwrap();
        let ends = Utc.with_ymd_and_hms(2026, 7, 29, 3, 30, 0).unwrap();
        let (date, time) = format_when(starts, ends, "America/Los_Angeles");
        assert_eq!(date, "Tuesday, 28 July 2026");
        assert_eq!(time, "6:30 PM – 8:30 PM PDT");
    }

    #[test]
    fn an_event_past_midnight_names_the_day_it_ends() {
        let starts = Utc.with_ymd_and_hms(2026, 1, 1, 4, 0, 0).unwrap();
        let ends = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
        let (_, time) = format_when(starts, ends, "America/Los_Angeles");
        assert_eq!(time, "8:00 PM – Thu 1 Jan, 1:00 AM PST");
    }

    #[test]
    fn an_unknown_zone_falls_back_to_utc() {
        let starts = Utc.with_ymd_and_hms(2026, 3, 3, 18, 0, 0).unwrap();
        let ends = Utc.with_ymd_and_hms(2026, 3, 3, 19, 0, 0).unwrap();
        let (_, time) = format_when(starts, ends, "Mars/Olympus_Mons");
        assert_eq!(time, "6:00 PM – 7:00 PM UTC");
    }
}
