/* consentctl verify's checkpoint side: verifier keys, opening signed checkpoint notes, and the
 * two checkpoint streams (the checkpoint table, an external checkpoints file) compared, in
 * tree-size order, with the Merkle tree verify recomputes from the entries. */
#include "cli/verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger/checkpoint.h"
#include "store/store.h"

#define EM_DASH_SP "\xe2\x80\x94 " /* a signature line starts with U+2014 and a space */

/* ---- failures ----------------------------------------------------------------------------- */

const char *verify_class_name(enum verify_class c)
{
	switch (c) {
	case VERIFY_OK:
		return "ok";
	case VERIFY_ENTRY_MODIFIED:
		return "entry_modified";
	case VERIFY_ENTRY_DELETED:
		return "entry_deleted";
	case VERIFY_ENTRY_INSERTED:
		return "entry_inserted_or_reordered";
	case VERIFY_TAIL_TRUNCATED:
		return "tail_truncated";
	case VERIFY_HISTORY_REWRITTEN:
		return "history_rewritten";
	case VERIFY_BAD_SIGNATURE:
		return "bad_signature";
	}
	return "unknown";
}

void verify_fail(struct verify_failure *f, enum verify_class cls, uint64_t at, const char *fmt, ...)
{
	va_list ap;

	if (f->cls != VERIFY_OK)
		return;
	f->cls = cls;
	f->at = at;
	f->at_tree_size = cls == VERIFY_BAD_SIGNATURE;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

/* ---- files, keys, notes ------------------------------------------------------------------- */

int verify_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t chunk[8192];
	size_t n, total = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((total += n) > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			rc = -EFBIG;
		} else if (buf_append(out, chunk, n) < 0) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
		}
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	fclose(f);
	return rc;
}

int verify_key_load(const char *arg, struct note_verifier **out, char *err, size_t errlen)
{
	struct buf text = {0};
	size_t b = 0, e;
	int rc;

	if (note_verifier_parse(arg, out) == 0)
		return 0;
	if ((rc = verify_read_file(arg, 4096, &text, err, errlen)) < 0) {
		if (rc == -ENOENT)
			snprintf(err, errlen, "--key %s: neither a verifier key nor a file", arg);
		goto out;
	}
	e = text.len;
	while (b < e && strchr(" \t\r\n", text.data[b]))
		b++;
	while (e > b && strchr(" \t\r\n", text.data[e - 1]))
		e--;
	if (buf_append_u8(&text, 0) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	text.data[e] = '\0';
	if ((rc = note_verifier_parse((const char *)text.data + b, out)) < 0)
		snprintf(err, errlen, "%s does not hold an Ed25519 verifier key (NAME+KEYID+KEY)",
			 arg);
out:
	buf_free(&text);
	return rc;
}

int verify_open_checkpoint(struct note_verifier *key, const char *note, size_t len, uint64_t *size,
			   uint8_t root[MERKLE_HASH_LEN], char *err, size_t errlen)
{
	char *origin = NULL;
	size_t tlen;
	int rc = note_open(note, len, &key, 1, &tlen, NULL);

	if (rc == -ENOMEM)
		return rc;
	if (rc == -EBADMSG || rc == -ENOKEY)
		snprintf(err, errlen, "%s",
			 rc == -EBADMSG ? "the signature does not verify with the key"
					: "no signature by the key");
	else if (rc < 0)
		snprintf(err, errlen, "not a well-formed signed note");
	else if ((rc = checkpoint_parse(note, tlen, &origin, size, root)) == -ENOMEM)
		return rc;
	else if (rc < 0)
		snprintf(err, errlen, "signed, but not a checkpoint (origin, tree size, root)");
	else if (strcmp(origin, note_verifier_name(key)) != 0)
		snprintf(err, errlen, "origin \"%s\" is not the key's name \"%s\"", origin,
			 note_verifier_name(key));
	else
		rc = 1;
	free(origin);
	return rc == 1 ? 0 : -EBADMSG;
}

/* The checkpoint in a note, signatures unchecked: the text is everything up to the last blank
 * line (as c2sp.org/signed-note splits it). */
static int open_unsigned(const char *note, size_t len, uint64_t *size,
			 uint8_t root[MERKLE_HASH_LEN])
{
	for (size_t i = len; i >= 2; i--) {
		if (note[i - 2] == '\n' && note[i - 1] == '\n')
			return checkpoint_parse(note, i - 1, NULL, size, root);
	}
	return -EINVAL;
}

/* ---- the streams -------------------------------------------------------------------------- */

/* One checkpoint waiting for the tree to reach its size. */
struct pending {
	bool have;
	uint64_t size;		       /* when it is due */
	uint8_t root[MERKLE_HASH_LEN]; /* the note's root (the DB row's root column for the DB) */
	struct buf note;
	uint64_t ordinal; /* external: which note of the file (from 1) */
	bool bad;	  /* external: the key does not vouch for it (reason below) */
	bool size_known;  /* external: the size was read from the note */
	char reason[160];
};

struct verify_checkpoints {
	struct note_verifier *key; /* borrowed; NULL: DB signatures unchecked, no external file */
	PGconn *db;		   /* borrowed */
	FILE *file;
	const char *path;
	off_t file_left; /* bytes of the file still to read */
	char line[VERIFY_NOTE_MAX];
	size_t line_len;
	bool line_held; /* line was read ahead: it starts the next note */
	struct pending dbp, ext;
	uint64_t n_db, n_ext;  /* checkpoints matched */
	uint64_t last_matched; /* the largest size a checkpoint matched at */
	uint64_t ext_prev;     /* the last external tree size, for the ascending check */
};

int verify_checkpoints_new(const char *path, struct note_verifier *key,
			   struct verify_checkpoints **out, char *err, size_t errlen)
{
	struct verify_checkpoints *vc = calloc(1, sizeof(*vc));
	struct stat st = {0};

	if (!vc)
		return -ENOMEM;
	vc->key = key;
	vc->path = path;
	if (path && (!(vc->file = fopen(path, "rb")) || fstat(fileno(vc->file), &st) < 0)) {
		int rc = -errno;

		snprintf(err, errlen, "--checkpoints %s: %s", path, strerror(-rc));
		verify_checkpoints_free(vc);
		return rc;
	}
	vc->file_left = path ? st.st_size : 0;
	*out = vc;
	return 0;
}

void verify_checkpoints_free(struct verify_checkpoints *vc)
{
	if (!vc)
		return;
	if (vc->file)
		fclose(vc->file);
	buf_free(&vc->dbp.note);
	buf_free(&vc->ext.note);
	free(vc);
}

uint64_t verify_checkpoints_next(const struct verify_checkpoints *vc)
{
	uint64_t a = vc->dbp.have ? vc->dbp.size : UINT64_MAX;
	uint64_t b = vc->ext.have ? vc->ext.size : UINT64_MAX;

	return a < b ? a : b;
}

/* The next row of the checkpoint table, or none at its end. */
static int db_next(struct verify_checkpoints *vc, char *err, size_t errlen)
{
	PGresult *r;
	int rc = 0;

	vc->dbp.have = false;
	if (!vc->db)
		return 0;
	r = PQgetResult(vc->db);
	if (r && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
		vc->dbp.have = true;
		vc->dbp.size = (uint64_t)store_get_int8(r, 0, 0);
		memset(vc->dbp.root, 0, MERKLE_HASH_LEN);
		if (PQgetlength(r, 0, 1) == MERKLE_HASH_LEN)
			memcpy(vc->dbp.root, PQgetvalue(r, 0, 1), MERKLE_HASH_LEN);
		buf_reset(&vc->dbp.note);
		rc = buf_append(&vc->dbp.note, PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
		PQclear(r);
		return rc;
	}
	if (r && PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "reading the checkpoint table: %s", PQresultErrorMessage(r));
		rc = -EIO;
	}
	PQclear(r);
	while ((r = PQgetResult(vc->db))) /* the end of the query */
		PQclear(r);
	vc->db = NULL;
	return rc;
}

/* The next line of the file, within the length it had when verify started: 1 (in vc->line,
 * with its '\n'), 0 at the end (an unterminated last line is one being written: the end too). */
static int read_line(struct verify_checkpoints *vc, char *err, size_t errlen)
{
	int ch = 0;
	size_t n = 0;

	if (vc->line_held) {
		vc->line_held = false;
		return 1;
	}
	while (vc->file_left > 0 && (ch = getc(vc->file)) != EOF) {
		vc->file_left--;
		if (n == sizeof(vc->line)) {
			snprintf(err, errlen, "%s: a line longer than %zu bytes", vc->path,
				 sizeof(vc->line));
			return -EFBIG;
		}
		vc->line[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (ferror(vc->file)) {
		snprintf(err, errlen, "%s: %s", vc->path, strerror(errno));
		return -EIO;
	}
	vc->line_len = n;
	if (n > 0 && ch != '\n')
		fprintf(stderr,
			"consentctl verify: %s: ignoring an unterminated last line (a checkpoint "
			"being written?)\n",
			vc->path);
	return n > 0 && ch == '\n';
}

static bool is_sig_line(const char *line, size_t len)
{
	return len > strlen(EM_DASH_SP) && memcmp(line, EM_DASH_SP, strlen(EM_DASH_SP)) == 0;
}

/* The next note of the file into vc->ext.note: its text up to a blank line, then the signature
 * lines, up to the first line that is not one (the next note's first); a note with no signature
 * line yet at the end of the file is being written. 1, 0 at the end, < 0. */
static int read_note(struct verify_checkpoints *vc, char *err, size_t errlen)
{
	struct buf *note = &vc->ext.note;
	bool in_sigs = false, sig_line;
	size_t n_sigs = 0;
	int rc;

	buf_reset(note);
	while ((rc = read_line(vc, err, errlen)) > 0) {
		sig_line = in_sigs && is_sig_line(vc->line, vc->line_len);
		if (in_sigs && !sig_line && n_sigs > 0) {
			vc->line_held = true;
			return 1;
		}
		if (note->len + vc->line_len > VERIFY_NOTE_MAX) {
			snprintf(err, errlen, "%s: a note longer than %d bytes", vc->path,
				 VERIFY_NOTE_MAX);
			return -EFBIG;
		}
		if (buf_append(note, vc->line, vc->line_len) < 0)
			return -ENOMEM;
		n_sigs += sig_line;
		in_sigs = in_sigs || vc->line_len == 1;
	}
	if (rc < 0)
		return rc;
	if (note->len > 0 && n_sigs == 0)
		fprintf(stderr,
			"consentctl verify: %s: ignoring an incomplete last note (a checkpoint "
			"being written?)\n",
			vc->path);
	return n_sigs > 0;
}

/* Reads the next external checkpoint and opens it with the key. One the key does not vouch for
 * is due at once unless its (unsigned) size says later: reported when due as bad_signature. */
static int ext_next(struct verify_checkpoints *vc, char *err, size_t errlen)
{
	struct pending *p = &vc->ext;
	uint64_t size = 0;
	int rc;

	p->have = false;
	if (!vc->file)
		return 0;
	if ((rc = read_note(vc, err, errlen)) <= 0)
		return rc;
	p->have = true;
	p->ordinal++;
	rc = verify_open_checkpoint(vc->key, (const char *)p->note.data, p->note.len, &size,
				    p->root, p->reason, sizeof(p->reason));
	if (rc == -ENOMEM)
		return rc;
	p->bad = rc < 0;
	p->size_known =
	    !p->bad || open_unsigned((const char *)p->note.data, p->note.len, &size, p->root) == 0;
	if (p->bad) {
		p->size = p->size_known && size > vc->ext_prev ? size : vc->ext_prev;
		return 0;
	}
	if (size < vc->ext_prev) {
		snprintf(err, errlen,
			 "%s: checkpoint %" PRIu64 " has tree size %" PRIu64 " after %" PRIu64
			 ": the file must hold checkpoints in ascending tree size",
			 vc->path, p->ordinal, size, vc->ext_prev);
		return -EINVAL;
	}
	p->size = vc->ext_prev = size;
	return 0;
}

int verify_checkpoints_start(struct verify_checkpoints *vc, PGconn *db, char *err, size_t errlen)
{
	int rc;

	if (!PQsendQueryParams(db,
			       "SELECT tree_size, root, note FROM checkpoint ORDER BY tree_size", 0,
			       NULL, NULL, NULL, NULL, 1) ||
	    !PQsetSingleRowMode(db)) {
		snprintf(err, errlen, "reading the checkpoint table: %s", PQerrorMessage(db));
		return -EIO;
	}
	vc->db = db;
	if ((rc = db_next(vc, err, errlen)) < 0)
		return rc;
	return ext_next(vc, err, errlen);
}

/* ---- comparing ---------------------------------------------------------------------------- */

/* A DB checkpoint is genuine when its note is signed by the key (if given), for its row's tree
 * size and root. Otherwise fail is filled (bad_signature). */
static bool db_genuine(struct verify_checkpoints *vc, struct verify_failure *fail)
{
	struct pending *p = &vc->dbp;
	uint8_t root[MERKLE_HASH_LEN];
	char why[200];
	uint64_t size;
	int rc;

	if (vc->key) {
		rc = verify_open_checkpoint(vc->key, (const char *)p->note.data, p->note.len, &size,
					    root, why, sizeof(why));
	} else if ((rc = open_unsigned((const char *)p->note.data, p->note.len, &size, root)) < 0) {
		snprintf(why, sizeof(why), "its note is not a well-formed checkpoint note");
	}
	if (rc == 0 && size != p->size) {
		snprintf(why, sizeof(why), "its note is for tree size %" PRIu64, size);
		rc = -EBADMSG;
	} else if (rc == 0 && memcmp(root, p->root, MERKLE_HASH_LEN) != 0) {
		snprintf(why, sizeof(why), "its root column differs from the root in its note");
		rc = -EBADMSG;
	}
	if (rc < 0)
		verify_fail(fail, VERIFY_BAD_SIGNATURE, p->size,
			    "the DB checkpoint at tree size %" PRIu64 ": %s", p->size, why);
	return rc == 0;
}

static bool ext_genuine(struct verify_checkpoints *vc, struct verify_failure *fail)
{
	struct pending *p = &vc->ext;
	char size[40] = "tree size unknown";

	if (!p->bad)
		return true;
	if (p->size_known)
		snprintf(size, sizeof(size), "tree size %" PRIu64, p->size);
	verify_fail(fail, VERIFY_BAD_SIGNATURE, p->size,
		    "external checkpoint %" PRIu64 " of %s (%s): %s", p->ordinal, vc->path, size,
		    p->reason);
	return false;
}

static void rewritten(struct verify_checkpoints *vc, struct verify_failure *fail, const char *which,
		      const struct pending *p, bool is_signed, const uint8_t root[MERKLE_HASH_LEN])
{
	char got[2 * MERKLE_HASH_LEN + 1], want[2 * MERKLE_HASH_LEN + 1];

	hex_encode(root, MERKLE_HASH_LEN, got);
	hex_encode(p->root, MERKLE_HASH_LEN, want);
	verify_fail(fail, VERIFY_HISTORY_REWRITTEN, vc->last_matched + 1,
		    "the Merkle root of seq 1..%" PRIu64
		    " is %s but the %s checkpoint at tree size %" PRIu64
		    "%s says %s: an entry between seq %" PRIu64 " and %" PRIu64
		    " is not the one signed",
		    p->size, got, which, p->size,
		    is_signed ? " (signature verified)" : " (signature NOT checked: no --key)",
		    want, vc->last_matched + 1, p->size);
}

int verify_checkpoints_check(struct verify_checkpoints *vc, const struct merkle_frontier *f,
			     struct verify_failure *fail, char *err, size_t errlen)
{
	uint8_t root[MERKLE_HASH_LEN];
	int rc;

	merkle_frontier_root(f, root);
	while (fail->cls == VERIFY_OK && vc->dbp.have && vc->dbp.size <= f->size) {
		if (!db_genuine(vc, fail))
			break;
		if (memcmp(root, vc->dbp.root, MERKLE_HASH_LEN) != 0) {
			rewritten(vc, fail, "DB", &vc->dbp, vc->key != NULL, root);
			break;
		}
		vc->n_db++;
		vc->last_matched = vc->dbp.size;
		if ((rc = db_next(vc, err, errlen)) < 0)
			return rc;
	}
	while (fail->cls == VERIFY_OK && vc->ext.have && vc->ext.size <= f->size) {
		if (!ext_genuine(vc, fail))
			break;
		if (memcmp(root, vc->ext.root, MERKLE_HASH_LEN) != 0) {
			rewritten(vc, fail, "external", &vc->ext, true, root);
			break;
		}
		vc->n_ext++;
		vc->last_matched = vc->ext.size;
		if ((rc = ext_next(vc, err, errlen)) < 0)
			return rc;
	}
	return fail->cls != VERIFY_OK;
}

int verify_checkpoints_finish(struct verify_checkpoints *vc, uint64_t last_seq,
			      struct verify_failure *fail, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (vc->dbp.have && db_genuine(vc, fail))
		verify_fail(fail, VERIFY_TAIL_TRUNCATED, last_seq + 1,
			    "the DB checkpoint at tree size %" PRIu64 "%s covers seq 1..%" PRIu64
			    " but the log ends at seq %" PRIu64,
			    vc->dbp.size, vc->key ? " (signature verified)" : "", vc->dbp.size,
			    last_seq);
	if (vc->ext.have && ext_genuine(vc, fail))
		verify_fail(fail, VERIFY_TAIL_TRUNCATED, last_seq + 1,
			    "the external checkpoint at tree size %" PRIu64
			    " (signature verified) covers "
			    "seq 1..%" PRIu64 " but the log ends at seq %" PRIu64,
			    vc->ext.size, vc->ext.size, last_seq);
	return fail->cls != VERIFY_OK;
}

void verify_checkpoints_summary(const struct verify_checkpoints *vc, struct buf *out)
{
	buf_printf(out, "; %" PRIu64 " DB checkpoint%s %s", vc->n_db, vc->n_db == 1 ? "" : "s",
		   vc->key ? "signed and matching the tree"
			   : "matching the tree (signatures NOT checked: no --key)");
	if (vc->path)
		buf_printf(out, "; %" PRIu64 " external checkpoint%s from %s signed and matching",
			   vc->n_ext, vc->n_ext == 1 ? "" : "s", vc->path);
	else
		buf_printf(out, "; no external checkpoints (--checkpoints)");
}
