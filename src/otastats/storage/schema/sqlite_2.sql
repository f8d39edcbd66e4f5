-- Schema version 2: keys are stored as keyed hashes (HMAC-SHA-256 with a secret of the database).
-- Keys stored by version 1 as plain SHA-256 cannot be re-hashed without the keys themselves:
-- they are revoked, and new keys must be created.

CREATE TABLE meta (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

UPDATE api_keys SET revoked_at = COALESCE(revoked_at, 0);
