-- Schema version 4: the versions that devices ended each activity day on, keyed by day, so that
-- bundle_usage reads only the versions present around its range, not every version stored.
-- A row may outlive the device day that made it (a later check-in of that day on another
-- version): it then names a version that may have no device, which costs a read, never a figure.
-- Citus: a metric table, distributed by app_id like the others (see docs/operations.md).

CREATE TABLE version_days (
    app_id        text NOT NULL,
    day           integer NOT NULL,
    version_name  text NOT NULL,
    PRIMARY KEY (app_id, day, version_name)
);

INSERT INTO version_days SELECT DISTINCT app_id, day, version_name FROM device_days;
