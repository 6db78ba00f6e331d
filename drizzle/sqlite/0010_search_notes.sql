-- Notes are indexed one by one. 0005 kept all of an incident's notes in one document (incident_search.notes), so
-- every new note deleted and re-indexed the whole of it: a note cost time in proportion to the notes before it
-- (650 ms at 1,500 notes of 10,000 characters, holding the write lock). Now incident_search / incident_fts hold the
-- title and description only, and incident_note_fts indexes each NOTE entry of the timeline as its own document:
-- a new note costs its own words. Search asks both and requires every word in one or the other (intelligence-
-- statements.ts). The note index reads its text from incident_logs through the view incident_note_texts (the
-- NOTE entries only, so that 'rebuild' and 'integrity-check' see the same rows as the triggers index).
DROP TRIGGER `incident_notes_search_insert`;
--> statement-breakpoint
DROP TRIGGER `incident_search_ai`;
--> statement-breakpoint
DROP TRIGGER `incident_search_ad`;
--> statement-breakpoint
DROP TRIGGER `incident_search_au`;
--> statement-breakpoint
DROP TABLE `incident_fts_vocab`;
--> statement-breakpoint
DROP TABLE `incident_fts`;
--> statement-breakpoint
ALTER TABLE `incident_search` DROP COLUMN `notes`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `incident_fts` USING fts5(
	title, description,
	content='incident_search', content_rowid='incident_id',
	tokenize='unicode61 remove_diacritics 2',
	prefix='2 3 4'
);
--> statement-breakpoint
-- Document frequencies of terms in titles and descriptions, read by similarity.
CREATE VIRTUAL TABLE `incident_fts_vocab` USING fts5vocab('incident_fts', 'row');
--> statement-breakpoint
INSERT INTO `incident_fts` (`incident_fts`) VALUES ('rebuild');
--> statement-breakpoint
CREATE TRIGGER `incident_search_ai` AFTER INSERT ON `incident_search` BEGIN
	INSERT INTO `incident_fts` (rowid, title, description) VALUES (new.`incident_id`, new.`title`, new.`description`);
END;
--> statement-breakpoint
CREATE TRIGGER `incident_search_ad` AFTER DELETE ON `incident_search` BEGIN
	INSERT INTO `incident_fts` (`incident_fts`, rowid, title, description) VALUES ('delete', old.`incident_id`, old.`title`, old.`description`);
END;
--> statement-breakpoint
CREATE TRIGGER `incident_search_au` AFTER UPDATE ON `incident_search` BEGIN
	INSERT INTO `incident_fts` (`incident_fts`, rowid, title, description) VALUES ('delete', old.`incident_id`, old.`title`, old.`description`);
	INSERT INTO `incident_fts` (rowid, title, description) VALUES (new.`incident_id`, new.`title`, new.`description`);
END;
--> statement-breakpoint
CREATE VIEW `incident_note_texts` AS SELECT `id`, `message` FROM `incident_logs` WHERE `kind` = 'NOTE';
--> statement-breakpoint
CREATE VIRTUAL TABLE `incident_note_fts` USING fts5(
	message,
	content='incident_note_texts', content_rowid='id',
	tokenize='unicode61 remove_diacritics 2',
	prefix='2 3 4'
);
--> statement-breakpoint
-- Notes containing each term: similarity counts the incidents whose notes hold a term only when this says they
-- can be few.
CREATE VIRTUAL TABLE `incident_note_fts_vocab` USING fts5vocab('incident_note_fts', 'row');
--> statement-breakpoint
INSERT INTO `incident_note_fts` (`incident_note_fts`) VALUES ('rebuild');
--> statement-breakpoint
CREATE TRIGGER `incident_notes_search_insert` AFTER INSERT ON `incident_logs` WHEN new.`kind` = 'NOTE' BEGIN
	INSERT INTO `incident_note_fts` (rowid, message) VALUES (new.`id`, new.`message`);
END;
--> statement-breakpoint
-- An incident's notes leave with it (ON DELETE CASCADE fires these triggers), and take their index entries along.
CREATE TRIGGER `incident_notes_search_delete` AFTER DELETE ON `incident_logs` WHEN old.`kind` = 'NOTE' BEGIN
	INSERT INTO `incident_note_fts` (`incident_note_fts`, rowid, message) VALUES ('delete', old.`id`, old.`message`);
END;
--> statement-breakpoint
-- Timeline entries are not edited today; should one be, its index entry follows.
CREATE TRIGGER `incident_notes_search_update` AFTER UPDATE OF `kind`, `message` ON `incident_logs` BEGIN
	INSERT INTO `incident_note_fts` (`incident_note_fts`, rowid, message) SELECT 'delete', old.`id`, old.`message` WHERE old.`kind` = 'NOTE';
	INSERT INTO `incident_note_fts` (rowid, message) SELECT new.`id`, new.`message` WHERE new.`kind` = 'NOTE';
END;
