-- Connects in progress between their first write and their last
-- (integration.PendingFlow): a row is saved, under the account's lock, before
-- the secret is written, and deleted in the same transaction that writes the
-- ACTIVE record. A row that outlives its connect (the process died) tells the
-- reconciler which secret to undo and which version to restore; the account's
-- pms_integrations row is never touched by it, so an ACTIVE account stays
-- ACTIVE while it reconnects.
CREATE TABLE pms_pending_flows (
    account_id   text        NOT NULL,
    provider     text        NOT NULL DEFAULT 'SIKKA',
    flow_id      text        NOT NULL UNIQUE,
    office_id    text        NOT NULL,
    secret_name  text        NOT NULL,
    prev_version text        NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    -- set when a recovery takes the connect over; a claimed connect can no
    -- longer complete.
    claimed_at   timestamptz,
    PRIMARY KEY (account_id, provider)
);

-- The reconciler looks for old rows.
CREATE INDEX pms_pending_flows_started ON pms_pending_flows (started_at);
