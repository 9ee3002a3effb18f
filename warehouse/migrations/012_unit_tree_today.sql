-- Issue 25: the "today's units" view. `unit_tree` with every retired unit's facts under the
-- units that succeed it today (config/successions.csv), for their whole validity: rewritten
-- from config/ on every start, like `unit_tree`, and read by metrics.query in its place.
CREATE TABLE unit_tree_today (
    ancestor VARCHAR NOT NULL, descendant VARCHAR NOT NULL, distance INTEGER NOT NULL,
    valid_from DATE NOT NULL, valid_to DATE NOT NULL
);
