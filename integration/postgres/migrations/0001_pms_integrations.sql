-- One row per (account, provider): reconnecting overwrites in place.
CREATE TABLE pms_integrations (
    account_id    text        NOT NULL,
    provider      text        NOT NULL DEFAULT 'SIKKA',
    status        text        NOT NULL CHECK (status IN ('ACTIVE', 'NEEDS_REAUTH', 'REVOKED')),
    office_id     text        NOT NULL,
    secret_ref    text        NOT NULL,
    practice_name text        NOT NULL DEFAULT '',
    pms_type      text        NOT NULL DEFAULT '',
    practice_id   text        NOT NULL DEFAULT '',
    key_expiry    timestamptz NOT NULL,
    connected_at  timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, provider)
);

-- Two accounts can never both hold the same practice, whatever the timing:
-- the loser of a race gets a unique violation (reported as already_connected).
CREATE UNIQUE INDEX pms_integrations_active_office
    ON pms_integrations (provider, office_id) WHERE status = 'ACTIVE';

-- Refresh sweeps look for ACTIVE keys expiring soon.
CREATE INDEX pms_integrations_due
    ON pms_integrations (key_expiry) WHERE status = 'ACTIVE';
