-- A member's note on a day ("started magnesium", "flight to Tokyo"), shown on the charts
-- of every one of their metrics. Private to the member: no group figure, page or API of
-- anyone else reads it. One note per member and day; deleted with the member.
CREATE TABLE day_notes (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day        date        NOT NULL,
    note       text        NOT NULL CHECK (char_length(note) BETWEEN 1 AND 140),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);
