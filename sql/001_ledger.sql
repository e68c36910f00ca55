-- 001_ledger: the append-only, hash-chained audit log and the roles that may touch it.
-- Applied by `consentctl migrate` in one transaction; see docs/evidence.md for the entry format.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'consentd_writer') THEN
		CREATE ROLE consentd_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'consentd_reader') THEN
		CREATE ROLE consentd_reader NOLOGIN;
	END IF;
END
$$;

-- One row per ledger entry. entry holds the exact bytes that were hashed (a serialized
-- consentd.v1.LedgerEntry); leaf_hash = SHA-256(0x00 || entry); the entry carries the previous
-- row's leaf_hash. event_digest = SHA-256 of the canonical Event bytes, for idempotency checks.
CREATE TABLE audit_log (
	seq          bigint      PRIMARY KEY CHECK (seq > 0),
	event_id     uuid        NOT NULL UNIQUE,
	received_at  timestamptz NOT NULL,
	entry        bytea       NOT NULL,
	leaf_hash    bytea       NOT NULL CHECK (octet_length(leaf_hash) = 32),
	event_digest bytea       NOT NULL CHECK (octet_length(event_digest) = 32)
);

-- The chain head: every writer locks this single row (SELECT ... FOR UPDATE) before it assigns
-- seqs, so that any number of consentd processes append one gapless, correctly linked chain.
CREATE TABLE ledger_head (
	id        smallint PRIMARY KEY CHECK (id = 1),
	seq       bigint   NOT NULL CHECK (seq >= 0),
	leaf_hash bytea    NOT NULL CHECK (octet_length(leaf_hash) = 32)
);
INSERT INTO ledger_head VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Which entries concern which subject, by keyed pseudonym (never a clear identifier).
-- Derived from the entries; written in the same transaction.
CREATE TABLE subject_entry (
	pseudonym bytea  NOT NULL CHECK (octet_length(pseudonym) = 32),
	seq       bigint NOT NULL,
	PRIMARY KEY (pseudonym, seq)
);

CREATE FUNCTION consentd_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'consentd: % is append-only; % refused', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION consentd_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION consentd_append_only();
CREATE TRIGGER subject_entry_append_only BEFORE UPDATE OR DELETE ON subject_entry
	FOR EACH ROW EXECUTE FUNCTION consentd_append_only();
CREATE TRIGGER subject_entry_no_truncate BEFORE TRUNCATE ON subject_entry
	FOR EACH STATEMENT EXECUTE FUNCTION consentd_append_only();

REVOKE ALL ON audit_log, ledger_head, subject_entry FROM PUBLIC;
GRANT SELECT, INSERT ON audit_log, subject_entry TO consentd_writer;
GRANT SELECT, UPDATE ON ledger_head TO consentd_writer;
GRANT SELECT ON audit_log, ledger_head, subject_entry TO consentd_reader;
GRANT SELECT ON schema_migrations TO consentd_writer, consentd_reader;
