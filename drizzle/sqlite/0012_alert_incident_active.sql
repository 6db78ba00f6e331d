DROP INDEX `alerts_group_key_idx`;--> statement-breakpoint
DROP INDEX `alerts_group_values_idx`;--> statement-breakpoint
ALTER TABLE `alerts` ADD `incident_active` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `alerts_group_key_active_idx` ON `alerts` (`service_id`,`group_key`,`id`) WHERE "incident_active" = 1;--> statement-breakpoint
CREATE INDEX `alerts_group_values_active_idx` ON `alerts` (`service_id`,`group_values`,`received_at`,`id`) WHERE "incident_active" = 1;