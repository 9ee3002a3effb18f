-- Speed at city scale (issue 6).
-- The monthly rollup: `fact` at grain 'day' summed per month (period_start = the month's first
-- day, grain stays 'day': "made of day facts"), plus the report facts of coarser grains copied as
-- they are. Same columns as `fact`; warehouse.rollup keeps the measure columns and the rows in
-- step with `fact` inside every load batch's transaction. The query layer reads it for the whole
-- months of a request and takes the partial edge months from `fact`.
CREATE TABLE fact_month AS SELECT * FROM fact WHERE false;
-- Each batch's dossier key range: a batch whose keys cannot overlap any earlier batch's range
-- skips the natural-key anti-join over the whole dossier table.
ALTER TABLE load_batch ADD COLUMN min_key VARCHAR;
ALTER TABLE load_batch ADD COLUMN max_key VARCHAR;
UPDATE load_batch b SET min_key = k.lo, max_key = k.hi
FROM (SELECT batch_id, min(dossier_id) AS lo, max(dossier_id) AS hi FROM dossier GROUP BY batch_id) k
WHERE b.batch_id = k.batch_id;
