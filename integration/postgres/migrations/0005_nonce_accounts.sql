-- Each nonce names its account (a SHA-256 of the account id), so that a
-- store can bound the unfinished flows of one account (integration/postgres,
-- nonces.go: at most MaxFlowsPerAccount unexpired nonces per account). Rows
-- saved before this migration have an empty hash and age out as before.
ALTER TABLE sikka_state_nonces ADD COLUMN account_hash bytea NOT NULL DEFAULT '\x'::bytea;

CREATE INDEX sikka_state_nonces_account ON sikka_state_nonces (account_hash, expires_at);
