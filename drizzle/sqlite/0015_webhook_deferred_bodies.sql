ALTER TABLE `webhook_deliveries` ADD `render_alert_id` integer;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `render_log_id` integer;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_unrendered_idx` ON `webhook_deliveries` (`id`) WHERE "render_alert_id" IS NOT NULL;