-- Schema version 5 of the PostgreSQL backend (SQLite schema version 6): update health, the kept
-- state of otastats.ingest.health_state. A class is one of: devices, installs, install_failures,
-- rollbacks, download_failures, crashes, js_errors (otastats.health.classes). Only counted devices
-- (not emulators, not development builds) have rows. The rows of a database made by an older
-- version are derived from its stored events by the migration (otastats.storage.health_backfill).
-- Citus: the four tables are distributed by app_id; every primary key includes app_id.

-- Each day a device reported a class on a version.
CREATE TABLE health_device_days (
    app_id        text NOT NULL,
    device_id     text NOT NULL,
    version_name  text NOT NULL,
    class         text NOT NULL,
    day           integer NOT NULL,
    PRIMARY KEY (app_id, device_id, version_name, class, day)
);

-- The first of those days, per device, version and class.
CREATE TABLE health_firsts (
    app_id        text NOT NULL,
    device_id     text NOT NULL,
    version_name  text NOT NULL,
    class         text NOT NULL,
    first_day     integer NOT NULL,
    PRIMARY KEY (app_id, device_id, version_name, class)
);

-- Per version, class and day: the distinct devices that reported, and those whose first day it is.
CREATE TABLE health_days (
    app_id        text NOT NULL,
    version_name  text NOT NULL,
    class         text NOT NULL,
    day           integer NOT NULL,
    devices       bigint NOT NULL,
    new_devices   bigint NOT NULL,
    PRIMARY KEY (app_id, day, version_name, class)
);

-- Per version and class: the distinct devices of the whole history, and the first day of any.
CREATE TABLE health_totals (
    app_id        text NOT NULL,
    version_name  text NOT NULL,
    class         text NOT NULL,
    devices       bigint NOT NULL,
    first_day     integer NOT NULL,
    PRIMARY KEY (app_id, version_name, class)
);
