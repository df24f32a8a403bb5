-- What Sikka's last Data_Refresh webhook said of a record's office
-- (integration.Record.LastDataRefresh, NextDataSync, PMSVersion). The zero
-- time, 0001-01-01 UTC, stands for "not yet", as Go's zero time.Time does:
-- the columns are NOT NULL so that every driver reads them into a time.Time.
-- A record write keeps them while its office stays the same and resets them
-- to these defaults when the office changes (postgres.go, upsertConflict).
-- The webhook finds the record by office through the unique index
-- pms_integrations_active_office.
ALTER TABLE pms_integrations
    ADD COLUMN last_data_refresh timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    ADD COLUMN next_data_sync    timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    ADD COLUMN pms_version       text        NOT NULL DEFAULT '';
