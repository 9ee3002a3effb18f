-- Speed at city scale (issue 6): the dossiers the overdue list can show. Those completed after
-- their due time, and those still open (late once their due time passes, so which of them are
-- late depends on the moment the list is read). About 6% of all dossiers at city scale; the
-- city's overdue list over a year scanned all 10 M dossiers of it (~0.1 s) to find ~0.4 M.
-- A copy of the listed columns, kept in step with `dossier` by warehouse.loading in every load
-- batch's transaction: a replaced dossier leaves it, an incoming one enters it if it qualifies.
CREATE TABLE late_or_open (
    source VARCHAR NOT NULL, dossier_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL, procedure_code VARCHAR NOT NULL, channel VARCHAR NOT NULL,
    received_at TIMESTAMPTZ NOT NULL, due_at TIMESTAMPTZ NOT NULL, completed_at TIMESTAMPTZ,
    status VARCHAR, received_day DATE NOT NULL
);
INSERT INTO late_or_open
SELECT source, dossier_id, unit_code, procedure_code, channel, received_at, due_at, completed_at,
       status, received_day
FROM dossier WHERE completed_at IS NULL OR completed_at > due_at
ORDER BY received_day;  -- the lists filter on the receipt day: row groups skip by it
