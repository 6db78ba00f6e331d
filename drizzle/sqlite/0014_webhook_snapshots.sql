CREATE TABLE `webhook_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`hash` text NOT NULL,
	`body` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_snapshots_hash_idx` ON `webhook_snapshots` (`hash`);--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `snapshot_id` integer REFERENCES webhook_snapshots(id);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_snapshot_idx` ON `webhook_deliveries` (`snapshot_id`);