-- alerts.incident_active: 1 while the alert's incident is OPEN or INVESTIGATING (the statements that change an
-- incident's status or an alert's incident keep it). Grouping lookups read only such alerts, through the partial
-- indexes of the migration before, so that a flapping group's alerts of resolved incidents are never walked.
-- No triggers: a SQLite table rebuild by drizzle-kit (drop, then rename) fails on triggers naming the dropped table.
UPDATE `alerts` SET `incident_active` = 1
WHERE `incident_id` IN (SELECT `id` FROM `incidents` WHERE `status` IN ('OPEN', 'INVESTIGATING'));
