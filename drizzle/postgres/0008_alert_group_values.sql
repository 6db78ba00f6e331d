ALTER TABLE "alerts" ADD COLUMN "group_values" text;--> statement-breakpoint
CREATE INDEX "alerts_group_values_idx" ON "alerts" USING btree ("service_id","group_values","received_at");