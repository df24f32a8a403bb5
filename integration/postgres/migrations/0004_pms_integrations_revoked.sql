-- The reconciler finishes disconnects that did not delete their secret: it
-- looks for REVOKED records still holding a secret reference (the reference
-- is emptied once the secret is deleted), by account id.
CREATE INDEX pms_integrations_revoked_secret
    ON pms_integrations (account_id) WHERE status = 'REVOKED' AND secret_ref <> '';
