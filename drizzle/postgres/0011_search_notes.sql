-- Notes are indexed one by one. 0006 kept all of an incident's notes in one document (incident_search.notes, its
-- tsvector `doc`), so every new note rebuilt the whole tsvector: a note cost time in proportion to the notes before
-- it, and once an incident's notes held more than 1 MB of distinct words every further note on it failed
-- ("string is too long for tsvector"). Now incident_search.doc holds the title (A) and description (B) only, and
-- incident_note_search holds one tsvector (C) per NOTE entry of the timeline, under its own GIN index: a new note
-- costs its own words. Search asks both and requires every word in one or the other (intelligence-statements.ts).
DROP TRIGGER "incident_notes_search_insert" ON "incident_logs";
--> statement-breakpoint
DROP FUNCTION incident_notes_search_sync();
--> statement-breakpoint
DROP INDEX "incident_search_doc_idx";
--> statement-breakpoint
ALTER TABLE "incident_search" DROP COLUMN "doc", DROP COLUMN "notes";
--> statement-breakpoint
ALTER TABLE "incident_search" ADD COLUMN "doc" tsvector GENERATED ALWAYS AS (
	setweight(to_tsvector('incident_search'::regconfig, incident_search_words("title")), 'A') ||
	setweight(to_tsvector('incident_search'::regconfig, incident_search_words("description")), 'B')
) STORED;
--> statement-breakpoint
-- fastupdate off, as 0006 explains: a new document goes straight into the index.
CREATE INDEX "incident_search_doc_idx" ON "incident_search" USING gin ("doc") WITH (fastupdate = off);
--> statement-breakpoint
-- One row per NOTE entry: its incident, and its words. The text itself stays in incident_logs; the row leaves with
-- its entry (and so with its incident).
CREATE TABLE "incident_note_search" (
	"log_id" bigint PRIMARY KEY NOT NULL REFERENCES "incident_logs"("id") ON DELETE CASCADE,
	"incident_id" bigint NOT NULL,
	"doc" tsvector NOT NULL
);
--> statement-breakpoint
INSERT INTO "incident_note_search" ("log_id", "incident_id", "doc")
SELECT "id", "incident_id", setweight(to_tsvector('incident_search'::regconfig, incident_search_words("message")), 'C')
FROM "incident_logs" WHERE "kind" = 'NOTE';
--> statement-breakpoint
CREATE INDEX "incident_note_search_doc_idx" ON "incident_note_search" USING gin ("doc") WITH (fastupdate = off);
--> statement-breakpoint
-- Timeline entries are not edited today; should one be, its index row follows.
CREATE FUNCTION incident_notes_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		DELETE FROM incident_note_search WHERE log_id = OLD.id;
	END IF;
	IF NEW.kind = 'NOTE' THEN
		INSERT INTO incident_note_search (log_id, incident_id, doc)
		VALUES (NEW.id, NEW.incident_id, setweight(to_tsvector('incident_search'::regconfig, incident_search_words(NEW.message)), 'C'));
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "incident_notes_search_insert" AFTER INSERT ON "incident_logs" FOR EACH ROW WHEN (NEW.kind = 'NOTE') EXECUTE FUNCTION incident_notes_search_sync();
--> statement-breakpoint
CREATE TRIGGER "incident_notes_search_update" AFTER UPDATE OF "kind", "message", "incident_id" ON "incident_logs" FOR EACH ROW EXECUTE FUNCTION incident_notes_search_sync();
