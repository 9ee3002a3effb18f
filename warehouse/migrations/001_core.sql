-- Reference data (rewritten from config/ on every start), raw facts, load bookkeeping.
CREATE TABLE unit (
    code VARCHAR NOT NULL, parent_code VARCHAR, kind VARCHAR NOT NULL,
    name_vi VARCHAR NOT NULL, name_en VARCHAR NOT NULL,
    valid_from DATE NOT NULL, valid_to DATE NOT NULL, gso_code VARCHAR
);
-- Every (ancestor, descendant) pair with the dates the link holds, the unit itself included
-- (distance 0): "a district includes its wards" as of each fact's own date.
CREATE TABLE unit_tree (
    ancestor VARCHAR NOT NULL, descendant VARCHAR NOT NULL, distance INTEGER NOT NULL,
    valid_from DATE NOT NULL, valid_to DATE NOT NULL
);
CREATE TABLE sector (code VARCHAR PRIMARY KEY, name_vi VARCHAR, name_en VARCHAR, department VARCHAR);
CREATE TABLE procedure (
    code VARCHAR PRIMARY KEY, sector_code VARCHAR NOT NULL, level VARCHAR NOT NULL,
    name_vi VARCHAR, name_en VARCHAR, full_process BOOLEAN NOT NULL, fee_bearing BOOLEAN NOT NULL,
    issues_result BOOLEAN NOT NULL, paper_result BOOLEAN NOT NULL, max_days INTEGER
);

CREATE SEQUENCE batch_id_seq START 1;
CREATE TABLE load_batch (
    batch_id BIGINT PRIMARY KEY, source VARCHAR NOT NULL,
    source_key VARCHAR, content_hash VARCHAR,
    started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
    status VARCHAR NOT NULL, error VARCHAR, newest_data_at TIMESTAMPTZ
);

-- Canonical dossier: natural key (source, dossier_id); a re-sent dossier replaces the old row.
CREATE TABLE dossier (
    source VARCHAR NOT NULL, dossier_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL, procedure_code VARCHAR NOT NULL,
    channel VARCHAR NOT NULL, submit_method VARCHAR,
    received_at TIMESTAMPTZ NOT NULL, due_at TIMESTAMPTZ NOT NULL, completed_at TIMESTAMPTZ,
    status VARCHAR,
    record_digitized BOOLEAN NOT NULL, result_digitized BOOLEAN NOT NULL,
    e_result BOOLEAN NOT NULL, reused_data BOOLEAN NOT NULL,
    paid_online BOOLEAN NOT NULL, full_process BOOLEAN NOT NULL,
    supplements INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ,
    received_day DATE NOT NULL,  -- local (Asia/Ho_Chi_Minh) day of receipt: the cohort key
    batch_id BIGINT NOT NULL
);

-- Canonical report (aggregated KPI feeds): one measure of one unit for one period. NULL ≠ 0.
CREATE TABLE report (
    source VARCHAR NOT NULL, unit_code VARCHAR NOT NULL,
    period_start DATE NOT NULL, grain VARCHAR NOT NULL,
    measure_code VARCHAR NOT NULL, procedure_code VARCHAR,
    value DOUBLE,
    batch_id BIGINT NOT NULL
);

CREATE TABLE quarantine (
    batch_id BIGINT NOT NULL, source VARCHAR NOT NULL,
    raw VARCHAR, reason VARCHAR NOT NULL, quarantined_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE feed_state (source VARCHAR PRIMARY KEY, state VARCHAR, updated_at TIMESTAMPTZ);
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
INSERT INTO meta VALUES ('data_version', '0');

-- The rollup the boards read. Dossier feeds fill it at grain 'day' (per receipt day, unit,
-- procedure, channel); report feeds at their own grain. One DOUBLE column per catalog measure is
-- added by warehouse.rollup from config/metrics.toml.
CREATE TABLE fact (
    source VARCHAR NOT NULL, grain VARCHAR NOT NULL, period_start DATE NOT NULL,
    unit_code VARCHAR NOT NULL, sector_code VARCHAR, procedure_code VARCHAR, channel VARCHAR
);
