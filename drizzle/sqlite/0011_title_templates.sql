-- Each incident's title template (section 10: the title with its variable parts masked), kept for the outlier
-- evidence. The masking is TypeScript's and no SQL could repeat it exactly, so the evidence masked the titles of
-- a service's whole 30-day window on every request (20,000 titles: 100-165 ms with the event loop held). Rows are
-- written by the evidence itself, the first time an incident falls in a window, and the triggers drop a row when
-- what it was computed from changes; the counts then come from the index below.
CREATE TABLE `incident_templates` (
	`incident_id` integer PRIMARY KEY NOT NULL REFERENCES `incidents`(`id`) ON DELETE CASCADE,
	`service_id` integer NOT NULL REFERENCES `services`(`id`) ON DELETE CASCADE,
	`template` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `incident_templates_service_template_idx` ON `incident_templates` (`service_id`, `template`, `created_at`);
--> statement-breakpoint
CREATE INDEX `incident_templates_service_created_idx` ON `incident_templates` (`service_id`, `created_at`);
--> statement-breakpoint
CREATE TRIGGER `incident_templates_stale` AFTER UPDATE OF `title`, `service_id`, `created_at` ON `incidents` BEGIN
	DELETE FROM `incident_templates` WHERE `incident_id` = new.`id`;
END;
