-- 002_rejected: messages that could not become ledger entries (undecodable, invalid, or an
-- event_id reused with other content), kept with their raw bytes and source coordinates. A row
-- is written in the same transaction that lets the message's offset be committed.

CREATE TABLE rejected_event (
	id            bigserial   PRIMARY KEY,
	source        text        NOT NULL,              -- "kafka" | "http"
	topic         text        NOT NULL DEFAULT '',
	partition     integer     NOT NULL DEFAULT -1,
	kafka_offset  bigint      NOT NULL DEFAULT -1,
	received_at   timestamptz NOT NULL,
	event_id      uuid,                              -- when the payload had a usable one
	error_code    text        NOT NULL,
	error_message text        NOT NULL,
	payload       bytea       NOT NULL
);
-- A redelivered message is recorded once.
CREATE UNIQUE INDEX rejected_event_coordinates ON rejected_event (topic, partition, kafka_offset)
	WHERE source = 'kafka';

CREATE TRIGGER rejected_event_append_only BEFORE UPDATE OR DELETE ON rejected_event
	FOR EACH ROW EXECUTE FUNCTION consentd_append_only();

REVOKE ALL ON rejected_event FROM PUBLIC;
GRANT SELECT, INSERT ON rejected_event TO consentd_writer;
GRANT USAGE ON SEQUENCE rejected_event_id_seq TO consentd_writer;
GRANT SELECT ON rejected_event TO consentd_reader;
