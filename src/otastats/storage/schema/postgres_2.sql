-- Schema version 2 of the PostgreSQL backend: alerts on an app's figures, and the outbox of
-- their webhook calls (the tables of SQLite schema version 3). An alert's secret is not stored:
-- it is derived from the database's key secret and the alert's salt (see docs/security.md).
--
-- Citus: alerts, alert_calls and alert_attempts are reference tables (small, low write rate).

CREATE TABLE alerts (
    alert_id     text PRIMARY KEY,
    app_id       text NOT NULL REFERENCES apps (app_id),
    metric       text NOT NULL,
    threshold    double precision NOT NULL,
    min_devices  bigint NOT NULL,
    webhook_url  text NOT NULL,
    secret_salt  text NOT NULL,
    created_at   bigint NOT NULL,
    firing       boolean NOT NULL DEFAULT false,
    changed_at   bigint,
    calls_made   bigint NOT NULL DEFAULT 0
);
CREATE INDEX alerts_by_app ON alerts (app_id);

CREATE TABLE alert_calls (
    alert_id         text NOT NULL,
    seq              bigint NOT NULL,
    body             bytea NOT NULL,
    created_at       bigint NOT NULL,
    next_attempt_at  bigint NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    claimed_by       text,
    claim_until      bigint,
    done_at          bigint,
    delivered        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (alert_id, seq)
);
CREATE INDEX alert_calls_due ON alert_calls (next_attempt_at) WHERE done_at IS NULL;

CREATE TABLE alert_attempts (
    alert_id     text NOT NULL,
    seq          bigint NOT NULL,
    attempt      integer NOT NULL,
    at           bigint NOT NULL,
    http_status  integer,
    error        text,
    PRIMARY KEY (alert_id, seq, attempt)
);
