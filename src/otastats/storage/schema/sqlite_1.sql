-- Schema version 1 of the SQLite backend.
-- Instants are integer microseconds since the epoch (UTC), days are integer days since 1970-01-01.

CREATE TABLE orgs (
    org_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    user_id     TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL UNIQUE,   -- casefolded email: emails are unique case-insensitively
    created_at  INTEGER NOT NULL
);

CREATE TABLE members (
    org_id   TEXT NOT NULL REFERENCES orgs (org_id),
    user_id  TEXT NOT NULL REFERENCES users (user_id),
    role     TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE apps (
    app_id      TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (org_id),
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX apps_by_org ON apps (org_id);

CREATE TABLE api_keys (
    key_id           TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (user_id),
    key_hash         TEXT NOT NULL UNIQUE,
    mode             TEXT NOT NULL,
    limited_to_orgs  TEXT NOT NULL,       -- JSON array
    limited_to_apps  TEXT NOT NULL,       -- JSON array
    expires_at       INTEGER,
    revoked_at       INTEGER,
    created_at       INTEGER NOT NULL
);

-- Raw accepted events, kept for audit and re-derivation.
CREATE TABLE events (
    app_id        TEXT NOT NULL,
    type          INTEGER NOT NULL,      -- 0 device_seen, 1 download, 2 bundle_created, 3 bundle_deleted
    device_id     TEXT,
    ts            INTEGER NOT NULL,
    version_name  TEXT,
    bytes         INTEGER,
    platform      TEXT,
    is_emulator   INTEGER NOT NULL,
    is_prod       INTEGER NOT NULL,
    extra         TEXT
);

CREATE TABLE event_ids (
    app_id    TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    PRIMARY KEY (app_id, event_id)
) WITHOUT ROWID;

-- Each counted activity day of each device, with the version it ended the day on.
CREATE TABLE device_days (
    app_id        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    day           INTEGER NOT NULL,
    version_name  TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    PRIMARY KEY (app_id, device_id, day)
) WITHOUT ROWID;

-- Per-day deltas: mau(D) and storage(D) are their prefix sums up to D.
CREATE TABLE level_deltas (
    app_id         TEXT NOT NULL,
    day            INTEGER NOT NULL,
    mau_delta      INTEGER NOT NULL DEFAULT 0,
    storage_delta  INTEGER NOT NULL DEFAULT 0,
    bandwidth      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, day)
) WITHOUT ROWID;

-- Per-version device-count deltas: the devices on a version on day D are their prefix sum.
CREATE TABLE version_deltas (
    app_id        TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    day           INTEGER NOT NULL,
    delta         INTEGER NOT NULL,
    PRIMARY KEY (app_id, version_name, day)
) WITHOUT ROWID;

CREATE TABLE versions (
    app_id        TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    first_seen    INTEGER NOT NULL,
    PRIMARY KEY (app_id, version_name)
) WITHOUT ROWID;

CREATE TABLE bundle_events (
    app_id        TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    is_created    INTEGER NOT NULL,
    bytes         INTEGER NOT NULL
);
CREATE INDEX bundle_events_by_version ON bundle_events (app_id, version_name);
