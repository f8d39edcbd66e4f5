-- Schema version 3: alerts on an app's figures, and the outbox of their webhook calls.
-- An alert's secret is not stored: it is derived from the database's key secret and the
-- alert's salt (see docs/security.md).

CREATE TABLE alerts (
    alert_id     TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    metric       TEXT NOT NULL,
    threshold    REAL NOT NULL,
    min_devices  INTEGER NOT NULL,
    webhook_url  TEXT NOT NULL,
    secret_salt  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    firing       INTEGER NOT NULL DEFAULT 0,   -- 1 while the figure is above the threshold
    changed_at   INTEGER,                      -- the last state change
    calls_made   INTEGER NOT NULL DEFAULT 0    -- the seq of the alert's last call
);
CREATE INDEX alerts_by_app ON alerts (app_id);

-- The outbox: one row per state change, delivered in seq order per alert.
CREATE TABLE alert_calls (
    alert_id         TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    body             BLOB NOT NULL,             -- the JSON body, the exact bytes sent
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    claimed_by       TEXT,                      -- the worker sending it, until claim_until
    claim_until      INTEGER,
    done_at          INTEGER,                   -- delivered, or given up
    delivered        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alert_id, seq)
) WITHOUT ROWID;
CREATE INDEX alert_calls_due ON alert_calls (done_at, next_attempt_at);

-- Every attempt of every call.
CREATE TABLE alert_attempts (
    alert_id     TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    http_status  INTEGER,
    error        TEXT,
    PRIMARY KEY (alert_id, seq, attempt)
) WITHOUT ROWID
