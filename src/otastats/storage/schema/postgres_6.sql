-- Schema version 6 of the PostgreSQL backend (SQLite schema version 7): the update-health totals
-- indexed by first day, so that an alert on a rate finds the app's newest version without
-- reading every version (otastats.storage.health_newest). Citus: an index of a distributed
-- table, led by app_id like its key.

CREATE INDEX health_totals_first_day ON health_totals (app_id, first_day);
