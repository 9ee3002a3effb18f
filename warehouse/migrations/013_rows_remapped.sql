-- Issue 25: a batch's rows that named a retired unit after its last day and were loaded under
-- its successor (warehouse.validate), counted per batch for the sources page.
ALTER TABLE load_batch ADD COLUMN rows_remapped INTEGER DEFAULT 0;
UPDATE load_batch SET rows_remapped = 0 WHERE rows_remapped IS NULL;
