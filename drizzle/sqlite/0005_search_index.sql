-- Full-text search over incidents: title, description and the NOTE entries of the timeline.
-- incident_search holds one document per incident (notes joined by newlines), kept in step with incidents and
-- incident_logs by the triggers below, in the same transaction as every write. incident_fts is an FTS5
-- external-content index over it (the text lives once, in incident_search); its own triggers pass the exact old
-- values on update and delete, as external-content tables require. Notes are append-only (they leave with
-- their incident), so a NOTE insert appends and nothing else touches the notes column.
CREATE TABLE `incident_search` (
	`incident_id` integer PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`notes` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE VIRTUAL TABLE `incident_fts` USING fts5(
	title, description, notes,
	content='incident_search', content_rowid='incident_id',
	tokenize='unicode61 remove_diacritics 2',
	prefix='2 3 4'
);
--> statement-breakpoint
-- Document frequencies of terms, read by similarity to pick an incident's most distinctive terms.
CREATE VIRTUAL TABLE `incident_fts_vocab` USING fts5vocab('incident_fts', 'row');
--> statement-breakpoint
-- Existing rows: the documents, then the index built from them in one pass.
INSERT INTO `incident_search` (`incident_id`, `title`, `description`, `notes`)
SELECT i.`id`, i.`title`, i.`description`,
	coalesce((SELECT group_concat(l.`message`, char(10) ORDER BY l.`id`) FROM `incident_logs` l WHERE l.`incident_id` = i.`id` AND l.`kind` = 'NOTE'), '')
FROM `incidents` i;
--> statement-breakpoint
INSERT INTO `incident_fts` (`incident_fts`) VALUES ('rebuild');
--> statement-breakpoint
CREATE TRIGGER `incident_search_ai` AFTER INSERT ON `incident_search` BEGIN
	INSERT INTO `incident_fts` (rowid, title, description, notes) VALUES (new.`incident_id`, new.`title`, new.`description`, new.`notes`);
END;
--> statement-breakpoint
CREATE TRIGGER `incident_search_ad` AFTER DELETE ON `incident_search` BEGIN
	INSERT INTO `incident_fts` (`incident_fts`, rowid, title, description, notes) VALUES ('delete', old.`incident_id`, old.`title`, old.`description`, old.`notes`);
END;
--> statement-breakpoint
CREATE TRIGGER `incident_search_au` AFTER UPDATE ON `incident_search` BEGIN
	INSERT INTO `incident_fts` (`incident_fts`, rowid, title, description, notes) VALUES ('delete', old.`incident_id`, old.`title`, old.`description`, old.`notes`);
	INSERT INTO `incident_fts` (rowid, title, description, notes) VALUES (new.`incident_id`, new.`title`, new.`description`, new.`notes`);
END;
--> statement-breakpoint
CREATE TRIGGER `incidents_search_insert` AFTER INSERT ON `incidents` BEGIN
	INSERT INTO `incident_search` (`incident_id`, `title`, `description`) VALUES (new.`id`, new.`title`, new.`description`);
END;
--> statement-breakpoint
CREATE TRIGGER `incidents_search_update` AFTER UPDATE OF `title`, `description` ON `incidents`
WHEN old.`title` IS NOT new.`title` OR old.`description` IS NOT new.`description` BEGIN
	UPDATE `incident_search` SET `title` = new.`title`, `description` = new.`description` WHERE `incident_id` = new.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `incidents_search_delete` AFTER DELETE ON `incidents` BEGIN
	DELETE FROM `incident_search` WHERE `incident_id` = old.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `incident_notes_search_insert` AFTER INSERT ON `incident_logs` WHEN new.`kind` = 'NOTE' BEGIN
	UPDATE `incident_search`
	SET `notes` = CASE WHEN `notes` = '' THEN new.`message` ELSE `notes` || char(10) || new.`message` END
	WHERE `incident_id` = new.`incident_id`;
END;
