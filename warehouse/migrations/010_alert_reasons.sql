-- Alert reasons as data (metrics/alerts/reasons.py): the message keys and their values as JSON,
-- so the alerts page words them in the viewer's language. `reason` keeps the English text that
-- notifications carry; rows from before this migration have only that.
ALTER TABLE alert_instance ADD COLUMN reason_parts VARCHAR;
ALTER TABLE alert_event ADD COLUMN reason_parts VARCHAR;
