-- Schema version 6: update health (the kept state of otastats.ingest.health_state).
-- A class is one of: devices, installs, install_failures, rollbacks, download_failures, crashes,
-- js_errors (otastats.health.classes). Only counted devices (not emulators, not development
-- builds) have rows. The rows of a database made by an older version are derived from its stored
-- events by the migration (otastats.storage.health_backfill).

-- Each day a device reported a class on a version.
CREATE TABLE health_device_days (
    app_id        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    class         TEXT NOT NULL,
    day           INTEGER NOT NULL,
    PRIMARY KEY (app_id, device_id, version_name, class, day)
) WITHOUT ROWID;

-- The first of those days, per device, version and class.
CREATE TABLE health_firsts (
    app_id        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    class         TEXT NOT NULL,
    first_day     INTEGER NOT NULL,
    PRIMARY KEY (app_id, device_id, version_name, class)
) WITHOUT ROWID;

-- Per version, class and day: the distinct devices that reported, and those whose first day it is.
CREATE TABLE health_days (
    app_id        TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    class         TEXT NOT NULL,
    day           INTEGER NOT NULL,
    devices       INTEGER NOT NULL,
    new_devices   INTEGER NOT NULL,
    PRIMARY KEY (app_id, day, version_name, class)
) WITHOUT ROWID;

-- Per version and class: the distinct devices of the whole history, and the first day of any.
CREATE TABLE health_totals (
    app_id        TEXT NOT NULL,
    version_name  TEXT NOT NULL,
    class         TEXT NOT NULL,
    devices       INTEGER NOT NULL,
    first_day     INTEGER NOT NULL,
    PRIMARY KEY (app_id, version_name, class)
) WITHOUT ROWID
