-- The nonces of connect-flow states minted and not yet used (integration/postgres, nonces.go):
-- the callback deletes its row with DELETE … RETURNING, so each state is
-- accepted once across every replica. Only a SHA-256 of the nonce is kept.
CREATE TABLE sikka_state_nonces (
    nonce_hash bytea       PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Expired nonces are swept by expiry.
CREATE INDEX sikka_state_nonces_expires ON sikka_state_nonces (expires_at);
