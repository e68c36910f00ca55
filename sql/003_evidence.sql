-- 003_evidence: the RFC 6962 Merkle tree over audit_log's leaf hashes, and signed checkpoints.
-- merkle_node holds the hash of every complete (perfect) subtree of two or more leaves:
-- (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level), leaf i being seq i + 1;
-- level 0 is audit_log.leaf_hash itself. Any inclusion or consistency proof, and the root of any
-- tree size, needs O(log n) of these rows. Written in the append transaction.

CREATE TABLE merkle_node (
	level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
	idx   bigint   NOT NULL CHECK (idx >= 0),
	hash  bytea    NOT NULL CHECK (octet_length(hash) = 32),
	PRIMARY KEY (level, idx)
);

-- A C2SP tlog-checkpoint signed as a C2SP signed-note (Ed25519), once per interval when the
-- tree grew and once at shutdown. Copies also go outside the database (checkpoint_dir, Kafka).
CREATE TABLE checkpoint (
	tree_size  bigint      PRIMARY KEY CHECK (tree_size > 0),
	root       bytea       NOT NULL CHECK (octet_length(root) = 32),
	note       text        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER merkle_node_append_only BEFORE UPDATE OR DELETE ON merkle_node
	FOR EACH ROW EXECUTE FUNCTION consentd_append_only();
CREATE TRIGGER merkle_node_no_truncate BEFORE TRUNCATE ON merkle_node
	FOR EACH STATEMENT EXECUTE FUNCTION consentd_append_only();
CREATE TRIGGER checkpoint_append_only BEFORE UPDATE OR DELETE ON checkpoint
	FOR EACH ROW EXECUTE FUNCTION consentd_append_only();
CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON checkpoint
	FOR EACH STATEMENT EXECUTE FUNCTION consentd_append_only();

REVOKE ALL ON merkle_node, checkpoint FROM PUBLIC;
GRANT SELECT, INSERT ON merkle_node, checkpoint TO consentd_writer;
GRANT SELECT ON merkle_node, checkpoint TO consentd_reader;
