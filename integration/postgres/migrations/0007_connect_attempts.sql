-- The counts of attempts to prove ownership of an office
-- (integration.AttemptStore; integration/postgres/attempts.go): one row per
-- account and one per office, keyed by a SHA-256 of "account:" or "office:"
-- and the id. attempts holds the attempts counted, each as
-- "<unix microseconds> <attempt id>"; never a proof. A row untouched for
-- longer than its window is removed by the store.
CREATE TABLE pms_connect_attempts (
    subject    bytea PRIMARY KEY,
    attempts   text[] NOT NULL DEFAULT '{}',
    touched_at timestamptz NOT NULL
);

CREATE INDEX pms_connect_attempts_touched ON pms_connect_attempts (touched_at);
