-- Schema version 5: the versions that devices ended each activity day on, keyed by day, so that
-- bundle_usage reads only the versions present around its range, not every version stored.
-- A row may outlive the device day that made it (a later check-in of that day on another
-- version): it then names a version that may have no device, which costs a read, never a figure.

CREATE TABLE version_days (
    app_id        TEXT NOT NULL,
    day           INTEGER NOT NULL,
    version_name  TEXT NOT NULL,
    PRIMARY KEY (app_id, day, version_name)
) WITHOUT ROWID;

INSERT INTO version_days SELECT DISTINCT app_id, day, version_name FROM device_days
