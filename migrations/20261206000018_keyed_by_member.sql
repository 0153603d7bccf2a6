-- Every table of a member's own data is keyed by the member first, so that it can be
-- distributed by user_id (Citus) with each member's rows on one shard: the primary key
-- and every unique constraint lead with user_id, and a foreign key between two such
-- tables carries user_id on both sides. (server/tests/api/schema.rs checks it.)

-- observations: (user_id, id); the raw line it came from is unique per member.
ALTER TABLE raw_outcomes DROP CONSTRAINT raw_outcomes_observation_id_fkey;
ALTER TABLE observations DROP CONSTRAINT observations_pkey;
ALTER TABLE observations ADD PRIMARY KEY (user_id, id);
ALTER TABLE observations DROP CONSTRAINT observations_raw_id_key;
ALTER TABLE observations ADD CONSTRAINT observations_raw_id_key UNIQUE (user_id, raw_id);

-- raw_outcomes: (user_id, raw_id); its observation within the member's.
ALTER TABLE raw_outcomes DROP CONSTRAINT raw_outcomes_pkey;
ALTER TABLE raw_outcomes ADD PRIMARY KEY (user_id, raw_id);
ALTER TABLE raw_outcomes ADD CONSTRAINT raw_outcomes_observation_fkey
    FOREIGN KEY (user_id, observation_id) REFERENCES observations (user_id, id)
    ON DELETE SET NULL (observation_id);

-- raw_observations: (user_id, id), in place of its (user_id, id) index.
ALTER TABLE raw_observations DROP CONSTRAINT raw_observations_pkey;
ALTER TABLE raw_observations ADD PRIMARY KEY (user_id, id);
DROP INDEX raw_observations_user_id;

-- insights and their events.
ALTER TABLE insight_events DROP CONSTRAINT insight_events_insight_id_fkey;
ALTER TABLE insights DROP CONSTRAINT insights_pkey;
ALTER TABLE insights ADD PRIMARY KEY (user_id, id);
ALTER TABLE insight_events DROP CONSTRAINT insight_events_pkey;
ALTER TABLE insight_events ADD PRIMARY KEY (user_id, id);
ALTER TABLE insight_events ADD CONSTRAINT insight_events_insight_fkey
    FOREIGN KEY (user_id, insight_id) REFERENCES insights (user_id, id) ON DELETE CASCADE;
DROP INDEX insight_events_by_insight;
CREATE INDEX insight_events_by_insight ON insight_events (user_id, insight_id, kind);

-- imports, with their file's chunks and their errors.
ALTER TABLE import_chunks ADD COLUMN user_id bigint;
UPDATE import_chunks c SET user_id = i.user_id FROM imports i WHERE i.id = c.import_id;
ALTER TABLE import_chunks ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE import_errors ADD COLUMN user_id bigint;
UPDATE import_errors e SET user_id = i.user_id FROM imports i WHERE i.id = e.import_id;
ALTER TABLE import_errors ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE import_chunks DROP CONSTRAINT import_chunks_import_id_fkey;
ALTER TABLE import_errors DROP CONSTRAINT import_errors_import_id_fkey;
ALTER TABLE imports DROP CONSTRAINT imports_pkey;
ALTER TABLE imports ADD PRIMARY KEY (user_id, id);
ALTER TABLE import_chunks DROP CONSTRAINT import_chunks_pkey;
ALTER TABLE import_chunks ADD PRIMARY KEY (user_id, import_id, seq);
ALTER TABLE import_chunks ADD CONSTRAINT import_chunks_import_fkey
    FOREIGN KEY (user_id, import_id) REFERENCES imports (user_id, id) ON DELETE CASCADE;
DROP INDEX import_errors_import;
ALTER TABLE import_errors ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE import_errors ADD PRIMARY KEY (user_id, id);
CREATE INDEX import_errors_import ON import_errors (user_id, import_id, line);
ALTER TABLE import_errors ADD CONSTRAINT import_errors_import_fkey
    FOREIGN KEY (user_id, import_id) REFERENCES imports (user_id, id) ON DELETE CASCADE;

-- index_dirty, a to-do list: a key of its own after the member's.
ALTER TABLE index_dirty ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
DROP INDEX index_dirty_user;
ALTER TABLE index_dirty ADD PRIMARY KEY (user_id, id);
