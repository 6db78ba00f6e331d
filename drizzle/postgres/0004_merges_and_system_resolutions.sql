ALTER TABLE "incident_logs" DROP CONSTRAINT "incident_logs_kind_valid";--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "merged_into" bigint;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "resolved_by_system" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_merged_into_incidents_id_fk" FOREIGN KEY ("merged_into") REFERENCES "public"."incidents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "incidents_merged_into_idx" ON "incidents" USING btree ("merged_into");--> statement-breakpoint
ALTER TABLE "incident_logs" ADD CONSTRAINT "incident_logs_kind_valid" CHECK ("kind" in ('NOTE', 'STATUS_CHANGE', 'PRIORITY_CHANGE', 'ASSIGNMENT', 'EDIT', 'ALERT', 'MERGE'));