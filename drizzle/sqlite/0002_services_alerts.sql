CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer,
	`integration_id` integer,
	`service_id` integer,
	`fingerprint` text NOT NULL,
	`status` text NOT NULL,
	`severity` text NOT NULL,
	`summary` text NOT NULL,
	`source` text,
	`labels` text NOT NULL,
	`annotations` text NOT NULL,
	`generator_url` text,
	`group_key` text,
	`starts_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`resolved_at` integer,
	`event_count` integer DEFAULT 1 NOT NULL,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`integration_id`) REFERENCES `integrations`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "alerts_status_valid" CHECK("status" in ('FIRING', 'RESOLVED')),
	CONSTRAINT "alerts_severity_valid" CHECK("severity" in ('CRITICAL', 'ERROR', 'WARNING', 'INFO'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_firing_unique` ON `alerts` (`service_id`,`fingerprint`) WHERE "status" = 'FIRING';--> statement-breakpoint
CREATE INDEX `alerts_incident_idx` ON `alerts` (`incident_id`,`id`);--> statement-breakpoint
CREATE INDEX `alerts_group_key_idx` ON `alerts` (`service_id`,`group_key`);--> statement-breakpoint
CREATE INDEX `alerts_service_received_idx` ON `alerts` (`service_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `incident_labels` (
	`incident_id` integer NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`incident_id`, `key`),
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `incident_labels_pair_idx` ON `incident_labels` (`key`,`value`,`incident_id`);--> statement-breakpoint
CREATE TABLE `integrations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`service_id` integer NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`key_hash` text NOT NULL,
	`key_hint` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_event_at` integer,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "integrations_kind_valid" CHECK("kind" in ('ALERTMANAGER', 'EVENTS_V2'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `integrations_key_hash_unique` ON `integrations` (`key_hash`);--> statement-breakpoint
CREATE INDEX `integrations_service_idx` ON `integrations` (`service_id`,`id`);--> statement-breakpoint
CREATE TABLE `services` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`name_key` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`auto_resolve` integer DEFAULT true NOT NULL,
	`grouping_labels` text DEFAULT '[]' NOT NULL,
	`grouping_window_seconds` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "services_window_range" CHECK("grouping_window_seconds" between 0 and 86400)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `services_name_key_unique` ON `services` (`name_key`);--> statement-breakpoint
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
	CONSTRAINT "incident_logs_kind_valid" CHECK("kind" in ('NOTE', 'STATUS_CHANGE', 'PRIORITY_CHANGE', 'ASSIGNMENT', 'EDIT', 'ALERT'))
);
--> statement-breakpoint
INSERT INTO `__new_incident_logs`("id", "incident_id", "kind", "message", "author_id", "from_status", "to_status", "created_at") SELECT "id", "incident_id", "kind", "message", "author_id", "from_status", "to_status", "created_at" FROM `incident_logs`;--> statement-breakpoint
DROP TABLE `incident_logs`;--> statement-breakpoint
ALTER TABLE `__new_incident_logs` RENAME TO `incident_logs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `incident_logs_incident_idx` ON `incident_logs` (`incident_id`,`id`);--> statement-breakpoint
CREATE TABLE `__new_incidents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`priority` text NOT NULL,
	`priority_rank` integer GENERATED ALWAYS AS ((CASE "priority" WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END)) VIRTUAL NOT NULL,
	`reporter_id` integer,
	`assignee_id` integer,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`acknowledged_at` integer,
	`resolved_at` integer,
	`closed_at` integer,
	`service_id` integer,
	FOREIGN KEY (`reporter_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`assignee_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "incidents_status_valid" CHECK("status" in ('OPEN', 'INVESTIGATING', 'RESOLVED', 'CLOSED')),
	CONSTRAINT "incidents_priority_valid" CHECK("priority" in ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
	CONSTRAINT "incidents_version_positive" CHECK("version" >= 1)
);
--> statement-breakpoint
-- Edited after drizzle-kit: it copied the generated column priority_rank (SQLite refuses to INSERT into one) and
-- named service_id, which the old table does not have yet. The rebuild runs with foreign keys off (src/db/migrate.ts).
INSERT INTO `__new_incidents`("id", "title", "description", "status", "priority", "reporter_id", "assignee_id", "version", "created_at", "updated_at", "acknowledged_at", "resolved_at", "closed_at") SELECT "id", "title", "description", "status", "priority", "reporter_id", "assignee_id", "version", "created_at", "updated_at", "acknowledged_at", "resolved_at", "closed_at" FROM `incidents`;--> statement-breakpoint
DROP TABLE `incidents`;--> statement-breakpoint
ALTER TABLE `__new_incidents` RENAME TO `incidents`;--> statement-breakpoint
CREATE INDEX `incidents_created_idx` ON `incidents` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_updated_idx` ON `incidents` (`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_priority_idx` ON `incidents` (`priority_rank`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_status_created_idx` ON `incidents` (`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_priority_created_idx` ON `incidents` (`priority`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_assignee_created_idx` ON `incidents` (`assignee_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_reporter_created_idx` ON `incidents` (`reporter_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_service_created_idx` ON `incidents` (`service_id`,`created_at`,`id`);