-- Incidents resolved before resolved_by_system existed: the system's resolution is the one whose last entry into
-- RESOLVED has no author (section 9's auto-resolve).
UPDATE "incidents" SET "resolved_by_system" = true
WHERE "status" IN ('RESOLVED', 'CLOSED')
  AND (SELECT l."author_id" IS NULL FROM "incident_logs" l
       WHERE l."incident_id" = "incidents"."id" AND l."kind" = 'STATUS_CHANGE' AND l."to_status" = 'RESOLVED'
       ORDER BY l."id" DESC LIMIT 1);
