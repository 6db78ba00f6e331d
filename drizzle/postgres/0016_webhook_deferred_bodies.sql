ALTER TABLE "webhook_deliveries" ADD COLUMN "render_alert_id" bigint;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "render_log_id" bigint;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_unrendered_idx" ON "webhook_deliveries" USING btree ("id") WHERE "render_alert_id" IS NOT NULL;