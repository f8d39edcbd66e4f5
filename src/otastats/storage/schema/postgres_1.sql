-- Schema version 1 of the PostgreSQL backend: the tables of SQLite schema version 2, same semantics.
-- Instants are bigint microseconds since the epoch (UTC), days are integer days since 1970-01-01.
-- Text is only compared for equality here; orderings are made in Python, in code-point order.
--
-- Citus: orgs, users, members, apps, api_keys, meta and schema_version are reference tables;
-- the metric tables (events, event_ids, device_days, level_deltas, version_deltas, versions,
-- bundle_events) are distributed by app_id, and every primary key of theirs includes app_id.
-- No triggers, and no foreign key from a metric table (see docs/operations.md).

CREATE TABLE meta (
    name   text PRIMARY KEY,
    value  text NOT NULL
);

CREATE TABLE orgs (
    org_id      text PRIMARY KEY,
    name        text NOT NULL,
    created_at  bigint NOT NULL
);

CREATE TABLE users (
    user_id     text PRIMARY KEY,
    email       text NOT NULL,
    email_key   text NOT NULL UNIQUE,   -- casefolded: emails are unique case-insensitively
    created_at  bigint NOT NULL
);

CREATE TABLE members (
    org_id   text NOT NULL REFERENCES orgs (org_id),
    user_id  text NOT NULL REFERENCES users (user_id),
    role     text NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE apps (
    app_id      text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES orgs (org_id),
    created_at  bigint NOT NULL,
    deleted_at  bigint
);
CREATE INDEX apps_by_org ON apps (org_id);

CREATE TABLE api_keys (
    key_id           text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users (user_id),
    key_hash         text NOT NULL UNIQUE,
    mode             text NOT NULL,
    limited_to_orgs  text NOT NULL,       -- JSON array
    limited_to_apps  text NOT NULL,       -- JSON array
    expires_at       bigint,
    revoked_at       bigint,
    created_at       bigint NOT NULL
);

-- Raw accepted events, kept for audit and re-derivation.
CREATE TABLE events (
    app_id        text NOT NULL,
    type          smallint NOT NULL,    -- 0 device_seen, 1 download, 2 bundle_created, 3 bundle_deleted
    device_id     text,
    ts            bigint NOT NULL,
    version_name  text,
    bytes         bigint,
    platform      text,
    is_emulator   smallint NOT NULL,
    is_prod       smallint NOT NULL,
    extra         text
);

CREATE TABLE event_ids (
    app_id    text NOT NULL,
    event_id  text NOT NULL,
    PRIMARY KEY (app_id, event_id)
);

-- Each counted activity day of each device, with the version it ended the day on.
CREATE TABLE device_days (
    app_id        text NOT NULL,
    device_id     text NOT NULL,
    day           integer NOT NULL,
    version_name  text NOT NULL,
    ts            bigint NOT NULL,
    PRIMARY KEY (app_id, device_id, day)
);

-- Per-day deltas: mau(D) and storage(D) are their prefix sums up to D.
CREATE TABLE level_deltas (
    app_id         text NOT NULL,
    day            integer NOT NULL,
    mau_delta      bigint NOT NULL DEFAULT 0,
    storage_delta  bigint NOT NULL DEFAULT 0,
    bandwidth      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, day)
);

-- Per-version device-count deltas: the devices on a version on day D are their prefix sum.
CREATE TABLE version_deltas (
    app_id        text NOT NULL,
    version_name  text NOT NULL,
    day           integer NOT NULL,
    delta         bigint NOT NULL,
    PRIMARY KEY (app_id, version_name, day)
);

CREATE TABLE versions (
    app_id        text NOT NULL,
    version_name  text NOT NULL,
    first_seen    bigint NOT NULL,
    PRIMARY KEY (app_id, version_name)
);

CREATE TABLE bundle_events (
    app_id        text NOT NULL,
    version_name  text NOT NULL,
    ts            bigint NOT NULL,
    is_created    boolean NOT NULL,
    bytes         bigint NOT NULL
);
CREATE INDEX bundle_events_by_version ON bundle_events (app_id, version_name);

-- The schema version of the database, raised by each migration in the transaction that applies it.
CREATE TABLE schema_version (
    version  integer NOT NULL
);
INSERT INTO schema_version VALUES (0);
