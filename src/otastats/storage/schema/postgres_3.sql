-- Schema version 3 of the PostgreSQL backend (SQLite schema version 4): actions, and the
-- plugin URLs' tokens (a reference table on Citus, like api_keys).
-- Every accepted action is one row of `events` with type 4 and its name in the new `action`
-- column (NULL for the other types). For an action: device_id is lower-cased, version_name is the
-- bundle it stands for (a "<version>:<file>" or builtin name already mapped), platform is as sent
-- (or NULL), is_emulator and is_prod hold the flags (a row counts for devices when
-- is_emulator = 0 AND is_prod = 1), and extra is a JSON object with, when sent: plugin_version,
-- version_build, version_name_sent (the version_name as sent, when it was mapped) and metadata
-- (an object of strings).

ALTER TABLE events ADD COLUMN action text;

-- The tokens of the plugin URLs: each may only report the activity of its app. The token itself
-- is never stored, only its keyed hash (HMAC-SHA-256 under the key_secret of meta, as API keys).
-- upstream: the update server that POST /plugin/<token>/updates forwards to, or NULL.
CREATE TABLE plugin_tokens (
    token_id    text PRIMARY KEY,
    app_id      text NOT NULL REFERENCES apps (app_id),
    token_hash  text NOT NULL UNIQUE,
    upstream    text,
    created_at  bigint NOT NULL,
    revoked_at  bigint
);
CREATE INDEX plugin_tokens_by_app ON plugin_tokens (app_id);
