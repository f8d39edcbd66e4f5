-- Schema version 7: the update-health totals indexed by first day, so that an alert on a rate
-- finds the app's newest version without reading every version (otastats.storage.health_newest).

CREATE INDEX health_totals_first_day ON health_totals (app_id, first_day)
