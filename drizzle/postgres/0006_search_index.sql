-- Full-text search over incidents: title (weight A), description (B) and the NOTE entries of the timeline (C).
-- incident_search holds one document per incident, kept in step with incidents and incident_logs by triggers, in
-- the same transaction as every write; `doc` is its weighted tsvector, generated, under a GIN index.
-- Accents: the unaccent extension when the server has it (created here if allowed); without it, the text search
-- configuration folds case only, and the migration still succeeds.
DO $$
BEGIN
	CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE 'unaccent is not available: search will fold case but not accents';
END
$$;
--> statement-breakpoint
DO $$
BEGIN
	CREATE TEXT SEARCH CONFIGURATION incident_search (COPY = simple);
	IF EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent') THEN
		ALTER TEXT SEARCH CONFIGURATION incident_search
			ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart
			WITH unaccent, simple;
	END IF;
END
$$;
--> statement-breakpoint
-- ASCII punctuation becomes a space before parsing: words split as SQLite's unicode61 splits them
-- (db-7 -> db, 7; api.example.com -> api, example, com), so both backends match the same words.
CREATE FUNCTION incident_search_words(body text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN regexp_replace(body, '[!-/:-@\[-`{-~]+', ' ', 'g');
--> statement-breakpoint
CREATE TABLE "incident_search" (
	"incident_id" bigint PRIMARY KEY NOT NULL REFERENCES "incidents"("id") ON DELETE CASCADE,
	"title" text NOT NULL,
	"description" text NOT NULL,
	"notes" text DEFAULT '' NOT NULL,
	"doc" tsvector GENERATED ALWAYS AS (
		setweight(to_tsvector('incident_search'::regconfig, incident_search_words("title")), 'A') ||
		setweight(to_tsvector('incident_search'::regconfig, incident_search_words("description")), 'B') ||
		setweight(to_tsvector('incident_search'::regconfig, incident_search_words("notes")), 'C')
	) STORED
);
--> statement-breakpoint
INSERT INTO "incident_search" ("incident_id", "title", "description", "notes")
SELECT i."id", i."title", i."description",
	coalesce((SELECT string_agg(l."message", E'\n' ORDER BY l."id") FROM "incident_logs" l WHERE l."incident_id" = i."id" AND l."kind" = 'NOTE'), '')
FROM "incidents" i;
--> statement-breakpoint
-- fastupdate off: a new document goes straight into the index. With GIN's pending list on, every search also
-- scans the documents added since the last vacuum (a term lookup took 0.8 ms instead of 0.03 ms at 10,000
-- incidents); incidents are written far less often than they are searched.
CREATE INDEX "incident_search_doc_idx" ON "incident_search" USING gin ("doc") WITH (fastupdate = off);
--> statement-breakpoint
CREATE FUNCTION incidents_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO incident_search (incident_id, title, description) VALUES (NEW.id, NEW.title, NEW.description);
	ELSIF NEW.title IS DISTINCT FROM OLD.title OR NEW.description IS DISTINCT FROM OLD.description THEN
		UPDATE incident_search SET title = NEW.title, description = NEW.description WHERE incident_id = NEW.id;
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "incidents_search_insert" AFTER INSERT ON "incidents" FOR EACH ROW EXECUTE FUNCTION incidents_search_sync();
--> statement-breakpoint
CREATE TRIGGER "incidents_search_update" AFTER UPDATE OF "title", "description" ON "incidents" FOR EACH ROW EXECUTE FUNCTION incidents_search_sync();
--> statement-breakpoint
CREATE FUNCTION incident_notes_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE incident_search
	SET notes = CASE WHEN notes = '' THEN NEW.message ELSE notes || E'\n' || NEW.message END
	WHERE incident_id = NEW.incident_id;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "incident_notes_search_insert" AFTER INSERT ON "incident_logs" FOR EACH ROW WHEN (NEW.kind = 'NOTE') EXECUTE FUNCTION incident_notes_search_sync();
