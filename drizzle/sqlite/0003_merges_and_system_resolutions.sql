PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_incident_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`kind` text NOT NULL,
	`message` text NOT NULL,
	`author_id` integer,
	`from_status` text,
	`to_status` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "incident_logs_kind_valid" CHECK("kind" in ('NOTE', 'STATUS_CHANGE', 'PRIORITY_CHANGE', 'ASSIGNMENT', 'EDIT', 'ALERT', 'MERGE'))
);
--> statement-breakpoint
INSERT INTO `__new_incident_logs`("id", "incident_id", "kind", "message", "author_id", "from_status", "to_status", "created_at") SELECT "id", "incident_id", "kind", "message", "author_id", "from_status", "to_status", "created_at" FROM `incident_logs`;--> statement-breakpoint
DROP TABLE `incident_logs`;--> statement-breakpoint
ALTER TABLE `__new_incident_logs` RENAME TO `incident_logs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `incident_logs_incident_idx` ON `incident_logs` (`incident_id`,`id`);--> statement-breakpoint
ALTER TABLE `incidents` ADD `merged_into` integer REFERENCES incidents(id) ON DELETE set null;--> statement-breakpoint
ALTER TABLE `incidents` ADD `resolved_by_system` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `incidents_merged_into_idx` ON `incidents` (`merged_into`);