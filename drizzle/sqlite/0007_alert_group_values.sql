ALTER TABLE `alerts` ADD `group_values` text;--> statement-breakpoint
CREATE INDEX `alerts_group_values_idx` ON `alerts` (`service_id`,`group_values`,`received_at`);