-- A marker names the request key its connect writes, as a SHA-256 (hex), so
-- a recovery undoes the secret only when its current value is that flow's
-- write (integration.PendingFlow.KeyHash). Markers saved before this
-- migration have '' and are recovered by comparing versions, as before.
ALTER TABLE pms_pending_flows ADD COLUMN key_hash text NOT NULL DEFAULT '';
