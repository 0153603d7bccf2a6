-- Meetups in full: recurring series, RSVPs with a waitlist, check-in, comments, talks,
-- and the e-mail outbox. See app/src/events/ for the rules these tables keep.

-- A series of meetups from a rule ("last Tuesday of the month"). Its occurrences are
-- ordinary events (events.series_id) made ahead of time; an occurrence edited on its own
-- is `detached` and later series edits leave it alone. Exceptions are dates skipped.
CREATE TABLE event_series (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id        bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    -- app::events::recurrence::Rule as JSON.
    rule            jsonb NOT NULL,
    first_date      date NOT NULL,
    until_date      date,
    start_time      time NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 10080),
    time_zone       text NOT NULL,
    exceptions      date[] NOT NULL DEFAULT '{}',
    -- What every occurrence shares (title, description, venue, seats…), as JSON.
    template        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (until_date IS NULL OR until_date >= first_date)
);

ALTER TABLE events
    ADD COLUMN uid text NOT NULL DEFAULT gen_random_uuid()::text,
    ADD COLUMN sequence integer NOT NULL DEFAULT 0,
    ADD COLUMN online_url text NOT NULL DEFAULT '',
    ADD COLUMN rsvp_opens_at timestamptz,
    ADD COLUMN rsvp_closes_at timestamptz,
    ADD COLUMN max_guests integer NOT NULL DEFAULT 0 CHECK (max_guests BETWEEN 0 AND 10),
    -- Inside this many hours before the start, a freed seat is offered, not given.
    ADD COLUMN offer_window_hours integer NOT NULL DEFAULT 24 CHECK (offer_window_hours BETWEEN 0 AND 720),
    ADD COLUMN cancel_reason text NOT NULL DEFAULT '',
    ADD COLUMN created_by bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN series_id bigint REFERENCES event_series (id) ON DELETE SET NULL,
    ADD COLUMN occurrence_date date,
    ADD COLUMN detached boolean NOT NULL DEFAULT false,
    ADD COLUMN reminder_sent_at timestamptz,
    ADD CONSTRAINT rsvp_window CHECK (rsvp_closes_at IS NULL OR rsvp_opens_at IS NULL OR rsvp_closes_at > rsvp_opens_at),
    ADD CONSTRAINT online_url_is_web CHECK (online_url = '' OR online_url ~ '^https?://');
CREATE UNIQUE INDEX events_uid ON events (uid);
CREATE UNIQUE INDEX events_series_occurrence ON events (series_id, occurrence_date) WHERE series_id IS NOT NULL;

CREATE TYPE rsvp_answer AS ENUM ('yes', 'maybe', 'no');
-- Where a "yes" stands: holding seats, waiting for them, or offered a freed seat.
CREATE TYPE seat_state AS ENUM ('going', 'waitlisted', 'offered');

-- Arrival order of "yes" answers: taken while the event row is locked.
CREATE SEQUENCE rsvp_arrival;

CREATE TABLE rsvps (
    event_id         bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    answer           rsvp_answer NOT NULL,
    guests           integer NOT NULL DEFAULT 0 CHECK (guests BETWEEN 0 AND 10),
    seat             seat_state,
    arrival          bigint,
    offer_expires_at timestamptz,
    checked_in_at    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id),
    CHECK ((answer = 'yes') = (seat IS NOT NULL)),
    CHECK ((seat IS NULL) = (arrival IS NULL)),
    CHECK ((seat = 'offered') = (offer_expires_at IS NOT NULL))
);
CREATE INDEX rsvps_by_user ON rsvps (user_id);
CREATE INDEX rsvps_queue ON rsvps (event_id, arrival) WHERE seat IN ('waitlisted', 'offered');

CREATE TABLE event_comments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    -- Hidden by an organizer: kept for the record, shown as removed.
    hidden_at  timestamptz,
    hidden_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_comments_by_event ON event_comments (event_id, created_at);

CREATE TYPE talk_status AS ENUM ('proposed', 'accepted', 'declined');

CREATE TABLE talks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    abstract    text NOT NULL DEFAULT '' CHECK (length(abstract) <= 4000),
    minutes     integer NOT NULL CHECK (minutes BETWEEN 1 AND 120),
    status      talk_status NOT NULL DEFAULT 'proposed',
    decided_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX talks_by_event ON talks (event_id, status);

CREATE TYPE email_status AS ENUM ('queued', 'sent', 'kept', 'failed');

-- Every e-mail Cohort writes. Sent by SMTP when configured; otherwise `kept` here for
-- admins to read (/admin/outbox).
CREATE TABLE emails (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What wrote it (e.g. "notify:JOB_ID:USER", "reminder:EVENT:USER"): written once.
    dedupe_key  text NOT NULL UNIQUE,
    kind        text NOT NULL,
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    event_id    bigint REFERENCES events (id) ON DELETE SET NULL,
    to_name     text NOT NULL,
    to_address  text NOT NULL,
    subject     text NOT NULL,
    text_body   text NOT NULL,
    html_body   text NOT NULL,
    ics         text,
    status      email_status NOT NULL DEFAULT 'queued',
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX emails_recent ON emails (created_at DESC);
CREATE INDEX emails_by_user ON emails (user_id);
