-- 0002: the OAuth application an organization's tokens belong to. Refreshing a token needs the
-- client id and secret; the secret is sealed like the tokens (AES-GCM, key SYNC_TOKEN_KEY).
ALTER TABLE organizations
    ADD COLUMN oauth_client_id text,
    ADD COLUMN sealed_oauth_client bytea,
    ADD COLUMN oauth_client_key_id text;
