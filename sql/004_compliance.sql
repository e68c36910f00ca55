-- 004_compliance: projections of the ledger that compliance reports read. Each is derived from
-- the entries alone, written in the same transaction as the entries it reflects, and can be
-- rebuilt from the ledger at any time (`consentctl rebuild`); `consentctl verify` checks that
-- they agree with it. Unlike audit_log they are mutable: they are views, not evidence.
--
-- Days are UTC civil days of the event's occurred_at (see docs/evidence.md, "Projections").

-- Notices (banner or policy text as shown), stored once in the ledger as entries of their own,
-- content-addressed by SHA-256. This indexes where each one is; the bytes live in the entry.
CREATE TABLE notice (
	content_sha256 bytea   PRIMARY KEY CHECK (octet_length(content_sha256) = 32),
	seq            bigint  NOT NULL UNIQUE,
	content_type   text    NOT NULL,
	size           integer NOT NULL CHECK (size >= 0)
);

-- Current consent state per subject pseudonym: for each purpose the decision with the latest
-- (occurred_at, seq), as {"<purpose>": {"granted": bool, "seq": n, "occurred_at": "RFC 3339"}}.
-- One row per pseudonym the events carried (not one per purpose: a row per decision made this
-- upsert the most expensive statement of the append transaction). Space is left on each page so
-- that most updates are HOT.
CREATE TABLE consent_state (
	pseudonym bytea NOT NULL PRIMARY KEY CHECK (octet_length(pseudonym) = 32),
	state     jsonb NOT NULL
) WITH (fillfactor = 80);

-- Consent analytics, per day and notice version: how many decisions of each action, and for
-- each purpose how many decisions granted it. notice_sha256 is hex, '' when the event named none.
CREATE TABLE consent_daily (
	day            date   NOT NULL,
	policy_version text   NOT NULL,
	banner_version text   NOT NULL,
	notice_sha256  text   NOT NULL,
	action         text   NOT NULL,
	events         bigint NOT NULL,
	PRIMARY KEY (day, policy_version, banner_version, notice_sha256, action)
);
CREATE TABLE consent_purpose_daily (
	day            date   NOT NULL,
	policy_version text   NOT NULL,
	banner_version text   NOT NULL,
	notice_sha256  text   NOT NULL,
	purpose        text   NOT NULL,
	decisions      bigint NOT NULL,
	granted        bigint NOT NULL,
	PRIMARY KEY (day, policy_version, banner_version, notice_sha256, purpose)
);

-- The data-rights register: one row per request_id, as of its latest accepted event.
-- state is the stage name; outcome is set (fulfilled|denied|withdrawn) once closed; on_time is
-- NULL while open. due_on is the original due date (rolled by the holiday calendar, if any).
CREATE TABLE rights_request (
	request_id      text    PRIMARY KEY,
	right_name      text    NOT NULL,
	jurisdiction    text    NOT NULL,
	state           text    NOT NULL,
	extended        boolean NOT NULL,
	received_on     date    NOT NULL,
	due_on          date    NOT NULL,
	extended_due_on date,
	closed_on       date,
	outcome         text,
	on_time         boolean,
	first_seq       bigint  NOT NULL,
	last_seq        bigint  NOT NULL
);
CREATE INDEX rights_request_received ON rights_request (received_on);
CREATE INDEX rights_request_open ON rights_request (coalesce(extended_due_on, due_on))
	WHERE closed_on IS NULL;

-- Whether the projections reflect the whole ledger. A ledger that existed before this migration
-- needs `consentctl rebuild` once; until then the daemon is not ready (it would judge data-rights
-- transitions against an empty register).
CREATE TABLE projection_state (
	id         smallint    PRIMARY KEY CHECK (id = 1),
	complete   boolean     NOT NULL,
	rebuilt_at timestamptz
);
INSERT INTO projection_state VALUES (1, NOT EXISTS (SELECT 1 FROM audit_log), NULL);

REVOKE ALL ON notice, consent_state, consent_daily, consent_purpose_daily, rights_request,
	projection_state FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON notice, consent_state, consent_daily,
	consent_purpose_daily, rights_request TO consentd_writer;
GRANT SELECT, UPDATE ON projection_state TO consentd_writer;
GRANT SELECT ON notice, consent_state, consent_daily, consent_purpose_daily, rights_request,
	projection_state TO consentd_reader;
