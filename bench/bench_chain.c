/* bench_chain: the CPU cost of consentctl verify without the database. Reads the ledger's entry
 * bytes as exported by `COPY (SELECT entry FROM audit_log ORDER BY seq) TO STDOUT (FORMAT
 * binary)` and times, per entry: ledger_leaf_hash (the project's SHA-256 call), the same hash
 * with one reused digest context, and chain_verifier_step (hash, decode, link check: exactly
 * what verify does with each row). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "stats.h"

/* A binary COPY stream of one bytea column: header, rows (int16 1, int32 len, bytes), -1. */
struct copy_file {
	const uint8_t *data;
	size_t len;
	size_t first_row; /* offset of the first row */
};

struct cursor {
	const struct copy_file *f;
	size_t off;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int copy_open(const char *path, struct copy_file *f)
{
	static const uint8_t sig[11] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0 };
	struct stat st;
	int fd = open(path, O_RDONLY);
	void *p;

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	f->len = (size_t)st.st_size;
	p = f->len >= 19 ? mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (p == MAP_FAILED)
		return -EINVAL;
	f->data = p;
	madvise(p, f->len, MADV_SEQUENTIAL);
	if (memcmp(f->data, sig, sizeof(sig)) != 0)
		return -EINVAL;
	f->first_row = 19 + be32(f->data + 15); /* signature, flags, extension length, extension */
	return f->first_row <= f->len ? 0 : -EINVAL;
}

/* The next entry, or 0 at the trailer; -EINVAL if the stream is malformed. */
static int next_entry(struct cursor *c, const uint8_t **entry, size_t *len)
{
	const uint8_t *p = c->f->data + c->off;
	size_t left = c->f->len - c->off;

	if (left < 2)
		return -EINVAL;
	if (p[0] == 0xff && p[1] == 0xff)
		return 0;
	if (left < 6 || p[0] != 0 || p[1] != 1)
		return -EINVAL;
	*len = be32(p + 2);
	if (*len > left - 6)
		return -EINVAL;
	*entry = p + 6;
	c->off += 6 + *len;
	return 1;
}

struct totals {
	uint64_t entries;
	uint64_t bytes;
};

/* Untimed first pass: counts, checks the framing and pulls the file into the page cache. */
static int scan(const struct copy_file *f, struct totals *t)
{
	struct cursor c = { f, f->first_row };
	const uint8_t *e;
	size_t len;
	int rc;

	while ((rc = next_entry(&c, &e, &len)) > 0) {
		t->entries++;
		t->bytes += len;
	}
	return rc;
}

static void pass_leaf_hash(const struct copy_file *f, uint8_t (*hashes)[LEDGER_HASH_LEN])
{
	struct cursor c = { f, f->first_row };
	const uint8_t *e;
	size_t len;

	for (uint64_t i = 0; next_entry(&c, &e, &len) > 0; i++)
		ledger_leaf_hash(e, len, hashes[i]);
}

/* The same hash with the digest fetched once and one context reused: what per-entry SHA-256
 * costs without OpenSSL's per-call set-up. Returns the number of entries whose hash differs. */
static uint64_t pass_reused_ctx(const struct copy_file *f, uint8_t (*hashes)[LEDGER_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct cursor c = { f, f->first_row };
	uint8_t out[LEDGER_HASH_LEN];
	const uint8_t *e;
	size_t len;
	uint64_t differ = 0;

	if (!md || !ctx)
		abort();
	for (uint64_t i = 0; next_entry(&c, &e, &len) > 0; i++) {
		EVP_DigestInit_ex2(ctx, md, NULL);
		EVP_DigestUpdate(ctx, &prefix, 1);
		EVP_DigestUpdate(ctx, e, len);
		EVP_DigestFinal_ex(ctx, out, NULL);
		differ += memcmp(out, hashes[i], LEDGER_HASH_LEN) != 0;
	}
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return differ;
}

static enum chain_problem pass_verifier(const struct copy_file *f,
					const uint8_t (*hashes)[LEDGER_HASH_LEN], uint64_t *bad_seq)
{
	struct chain_verifier v;
	struct cursor c = { f, f->first_row };
	const uint8_t *e;
	size_t len;

	chain_verifier_init(&v);
	for (uint64_t i = 0; next_entry(&c, &e, &len) > 0; i++)
		chain_verifier_step(&v, i + 1, e, len, hashes[i], LEDGER_HASH_LEN);
	*bad_seq = v.bad_seq;
	return v.problem;
}

static void result_rate(const char *key, const char *label, const struct totals *t, int64_t ns)
{
	char k[96];
	double secs = (double)ns / 1e9;

	snprintf(k, sizeof(k), "%s.seconds", key);
	bench_result(k, secs, "s", label);
	snprintf(k, sizeof(k), "%s.entries_per_s", key);
	bench_result(k, (double)t->entries / secs, "entries/s", label);
	snprintf(k, sizeof(k), "%s.mb_per_s", key);
	bench_result(k, (double)t->bytes / 1e6 / secs, "MB/s", label);
}

static int run(const struct copy_file *f)
{
	struct totals t = { 0 };
	uint8_t (*hashes)[LEDGER_HASH_LEN];
	enum chain_problem p;
	uint64_t differ, bad_seq;
	int64_t t0, t1, t2, t3;

	if (scan(f, &t) < 0 || t.entries == 0) {
		fprintf(stderr, "bench_chain: not a binary COPY of one bytea column, or empty\n");
		return -EINVAL;
	}
	if (!(hashes = malloc(t.entries * sizeof(*hashes))))
		return -ENOMEM;
	t0 = bench_now_ns();
	pass_leaf_hash(f, hashes);
	t1 = bench_now_ns();
	differ = pass_reused_ctx(f, hashes);
	t2 = bench_now_ns();
	p = pass_verifier(f, (const uint8_t(*)[LEDGER_HASH_LEN])hashes, &bad_seq);
	t3 = bench_now_ns();
	free(hashes);
	if (differ || p != CHAIN_OK) {
		fprintf(stderr, "bench_chain: the exported chain does not check: %s at seq %llu\n",
			differ ? "hash_differs" : chain_problem_name(p),
			(unsigned long long)bad_seq);
		return -EPROTO;
	}
	bench_result("chain.entries", (double)t.entries, "entries", "entries in the export");
	bench_result("chain.entry_bytes", (double)t.bytes, "bytes", "entry bytes in the export");
	bench_result("chain.file_bytes", (double)f->len, "bytes", "export file size");
	result_rate("chain.leaf_hash", "ledger_leaf_hash per entry, in memory", &t, t1 - t0);
	result_rate("chain.reused_ctx", "SHA-256 per entry, one reused EVP context", &t, t2 - t1);
	result_rate("chain.verifier", "chain_verifier_step per entry, in memory", &t, t3 - t2);
	return 0;
}

int main(int argc, char **argv)
{
	struct copy_file f = { 0 };
	int rc;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(argc == 2 ? stdout : stderr, "usage: bench_chain ENTRIES_COPY_FILE\n");
		return 2;
	}
	if ((rc = copy_open(argv[1], &f)) < 0)
		fprintf(stderr, "bench_chain: %s: %s\n", argv[1], strerror(-rc));
	else
		rc = run(&f);
	if (f.data)
		munmap((void *)(uintptr_t)f.data, f.len);
	return rc < 0 ? 1 : 0;
}
