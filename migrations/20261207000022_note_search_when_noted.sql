-- Note search indexes only the observations that have a note. The stored `note_search`
-- column computed a tsvector for every observation, and the GIN index took an entry
-- even for an empty one; most observations (every import, most API writes) have no
-- note. Dropping both took Distill from 34,344 to 37,086 rows a second on the ingest
-- benchmark (`BENCH_SQL='ALTER TABLE observations DROP COLUMN note_search' cargo run
-- --release -p server --example bench_ingest -- 200000`). The searches match
-- `note <> '' AND to_tsvector('simple', note) @@ …`, this index's expression and
-- predicate ('simple': no language's stemming hides a word that the member typed).
DROP INDEX observations_note_search;
ALTER TABLE observations DROP COLUMN note_search;
CREATE INDEX observations_note_search ON observations
    USING gin (to_tsvector('simple', note)) WHERE note <> '';
