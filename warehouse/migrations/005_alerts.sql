-- Alert state and history (written only by warehouse/alerts_store.py).
-- One row per alert instance: a (rule, unit) pair, or a feed's staleness ("stale/<source>").
CREATE TABLE alert_instance (
    alert_key VARCHAR PRIMARY KEY,       -- stable: "<rule>/<unit>" or "stale/<source>"
    rule_id VARCHAR NOT NULL,            -- the rule id, or "stale" for feeds
    kind VARCHAR NOT NULL,               -- metric | feed
    metric VARCHAR, unit_code VARCHAR, sector_code VARCHAR, source VARCHAR,
    time_window VARCHAR, period_start DATE, period_end DATE,  -- the window last evaluated
    state VARCHAR NOT NULL, severity VARCHAR,
    since TIMESTAMPTZ, pending_count INTEGER NOT NULL DEFAULT 0, pending_since TIMESTAMPTZ,
    started_at TIMESTAMPTZ,              -- when the current (or last) episode began firing
    resolved_at TIMESTAMPTZ,
    peak_value DOUBLE, value DOUBLE, denominator DOUBLE, target DOUBLE, threshold DOUBLE,
    reason VARCHAR, evaluated_at TIMESTAMPTZ NOT NULL
);

-- Every transition, kept for history; `notify` marks the ones to send (an outbox).
CREATE SEQUENCE alert_event_seq START 1;
CREATE TABLE alert_event (
    event_id BIGINT PRIMARY KEY, alert_key VARCHAR NOT NULL, run_id BIGINT NOT NULL,
    happened_at TIMESTAMPTZ NOT NULL, event VARCHAR NOT NULL,
    from_state VARCHAR, to_state VARCHAR NOT NULL, severity VARCHAR,
    value DOUBLE, threshold DOUBLE, reason VARCHAR,
    notify BOOLEAN NOT NULL, silenced BOOLEAN NOT NULL DEFAULT false
);

-- One delivery per (event, channel): the primary key is the deduplication.
CREATE TABLE alert_delivery (
    event_id BIGINT NOT NULL, channel VARCHAR NOT NULL,
    status VARCHAR NOT NULL,             -- sent | failed | skipped
    attempts INTEGER NOT NULL, error VARCHAR, delivered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, channel)
);

-- Acknowledgement of one firing episode (alert_key + started_at): who, why, when.
CREATE SEQUENCE alert_ack_seq START 1;
CREATE TABLE alert_ack (
    ack_id BIGINT PRIMARY KEY, alert_key VARCHAR NOT NULL, episode_started_at TIMESTAMPTZ,
    acked_by VARCHAR NOT NULL, note VARCHAR, acked_at TIMESTAMPTZ NOT NULL
);

-- Silences mute notifications of one alert until a time: who, why, until when.
CREATE SEQUENCE alert_silence_seq START 1;
CREATE TABLE alert_silence (
    silence_id BIGINT PRIMARY KEY, alert_key VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, until TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ, ended_by VARCHAR
);

CREATE SEQUENCE alert_run_seq START 1;
CREATE TABLE alert_run (
    run_id BIGINT PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL, evaluated_at TIMESTAMPTZ NOT NULL,
    instances INTEGER NOT NULL, transitions INTEGER NOT NULL, errors INTEGER NOT NULL
);
