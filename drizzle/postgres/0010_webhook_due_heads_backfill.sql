-- Only the earliest PENDING delivery of each endpoint and incident (its head) is due; the later ones wait with
-- next_attempt_at NULL until the one before them is DELIVERED or FAILED, when the dispatcher makes the next one due.
-- Before this, every pending delivery was due at its creation and the claim skipped the waiting ones on every turn.
UPDATE webhook_deliveries SET next_attempt_at = NULL
WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL AND EXISTS (
  SELECT 1 FROM webhook_deliveries AS earlier
  WHERE earlier.endpoint_id = webhook_deliveries.endpoint_id AND earlier.incident_id = webhook_deliveries.incident_id
    AND earlier.status = 'PENDING' AND earlier.id < webhook_deliveries.id);
--> statement-breakpoint
-- A head is always due at some time (no release wrote a pending delivery without one; this only makes sure).
UPDATE webhook_deliveries SET next_attempt_at = created_at
WHERE status = 'PENDING' AND next_attempt_at IS NULL AND NOT EXISTS (
  SELECT 1 FROM webhook_deliveries AS earlier
  WHERE earlier.endpoint_id = webhook_deliveries.endpoint_id AND earlier.incident_id = webhook_deliveries.incident_id
    AND earlier.status = 'PENDING' AND earlier.id < webhook_deliveries.id);
