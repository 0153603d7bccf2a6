-- The foundation: members, groups and their meetups.
-- Times are UTC instants (timestamptz) plus the IANA zone they happen in.

CREATE TABLE users (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    time_zone    text NOT NULL DEFAULT 'UTC',
    -- Seeded by `cohort seed-demo`; never the first account and never an instance admin.
    is_demo      boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    city        text NOT NULL DEFAULT '',
    time_zone   text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE membership_role AS ENUM ('member', 'organizer');

CREATE TABLE memberships (
    group_id  bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      membership_role NOT NULL DEFAULT 'member',
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TYPE event_status AS ENUM ('scheduled', 'cancelled');

CREATE TABLE events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id   bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body_md    text NOT NULL DEFAULT '',
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    time_zone  text NOT NULL,
    venue      text NOT NULL DEFAULT '',
    address    text NOT NULL DEFAULT '',
    capacity   integer CHECK (capacity > 0),
    status     event_status NOT NULL DEFAULT 'scheduled',
    -- A stable key from where the event came from (the demo seed, an import), so that
    -- bringing the same event in twice finds the row instead of adding one.
    source_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    UNIQUE (group_id, source_key)
);
CREATE INDEX events_by_time ON events (starts_at);
CREATE INDEX events_by_group_time ON events (group_id, starts_at);
