CREATE TABLE `incident_logs` (
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
	CONSTRAINT "incident_logs_kind_valid" CHECK("kind" in ('NOTE', 'STATUS_CHANGE', 'PRIORITY_CHANGE', 'ASSIGNMENT', 'EDIT'))
);
--> statement-breakpoint
CREATE INDEX `incident_logs_incident_idx` ON `incident_logs` (`incident_id`,`id`);--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`priority` text NOT NULL,
	`priority_rank` integer GENERATED ALWAYS AS ((CASE "priority" WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END)) VIRTUAL NOT NULL,
	`reporter_id` integer NOT NULL,
	`assignee_id` integer,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`acknowledged_at` integer,
	`resolved_at` integer,
	`closed_at` integer,
	FOREIGN KEY (`reporter_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`assignee_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "incidents_status_valid" CHECK("status" in ('OPEN', 'INVESTIGATING', 'RESOLVED', 'CLOSED')),
	CONSTRAINT "incidents_priority_valid" CHECK("priority" in ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
	CONSTRAINT "incidents_version_positive" CHECK("version" >= 1)
);
--> statement-breakpoint
CREATE INDEX `incidents_created_idx` ON `incidents` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_updated_idx` ON `incidents` (`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_priority_idx` ON `incidents` (`priority_rank`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_status_created_idx` ON `incidents` (`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_assignee_created_idx` ON `incidents` (`assignee_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `incidents_reporter_created_idx` ON `incidents` (`reporter_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`token_version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "users_email_lower" CHECK("email" = lower("email")),
	CONSTRAINT "users_role_valid" CHECK("role" in ('ADMIN', 'RESPONDER', 'VIEWER'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE INDEX `users_role_id_idx` ON `users` (`role`,`id`);