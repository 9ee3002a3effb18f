-- Speed at city scale (issue 6): the rollup of the hour-of-week heat map. Commune-level dossiers
-- per (source, local receipt day, unit, local hour, online or not), with how many came by QR and
-- how many after office hours (counted by the minute: the 07:00 and 17:00 hours hold both).
-- `fact` has no hour, so the heat map used to scan a year of raw dossiers (~0.3 s for the city
-- at city scale). warehouse.rollup fills it for the days every load batch touches, and fills it
-- whole on the first start after this migration.
CREATE TABLE fact_hour (
    source VARCHAR NOT NULL, day DATE NOT NULL, unit_code VARCHAR NOT NULL,
    hour TINYINT NOT NULL, online BOOLEAN NOT NULL,
    dossiers INTEGER NOT NULL, qr INTEGER NOT NULL, after_hours INTEGER NOT NULL
);
