/* The ledger writer thread: a bounded queue in, group commit, completions back to the loop. */
#include "store/writer.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event/event.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "store/checkpointer.h"
#include "store/project.h"
#include "store/store.h"

struct unit_list {
	struct writer_unit *head, *tail;
};

/* A Kafka partition whose message at offset went back to its source unstored. Its later
 * messages must not be appended before that one (the ledger keeps each partition's order: a
 * consent withdrawal must not overtake the grant it withdraws), so those fetched in the same run
 * (same tag: no rewind in between) go back unstored too, untried. The first unit of the
 * partition with another tag lifts the fence: the source has rewound it, or it was reassigned. */
struct fence {
	char topic[256];
	int32_t partition;
	uint64_t tag;
	int64_t offset;
};

struct writer {
	struct event_base *base;
	struct event *done_ev;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct unit_list queue;     /* under mu */
	struct unit_list done;      /* under mu */
	struct fence *fences;       /* under mu */
	size_t n_fences;            /* under mu */
	size_t queued_events;       /* under mu */
	bool stopping;              /* under mu */
	char status[512];           /* under mu */
	atomic_bool ready;
	atomic_size_t depth;
	atomic_int_fast64_t heartbeat_us; /* monotonic: the writer thread's last progress */
	char *conninfo;
	struct writer_config cfg;
	PGconn *conn;               /* writer thread only */
	int64_t last_ok_us;         /* writer thread only */
	bool tried_conn;            /* writer thread only: a connection was attempted before */
	struct append_state append; /* writer thread only */
	struct checkpointer cp;     /* writer thread only */
};

#define WRITER_RETRY_MS 1000
#define WRITER_PING_MS 1000
#define WRITER_BACKOFF_MIN_MS 100
#define WRITER_BACKOFF_MAX_MS 5000
#define WRITER_MAX_FAILURES 3

struct writer_unit *writer_unit_new(size_t n_items)
{
	struct writer_unit *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->items = calloc(n_items ? n_items : 1, sizeof(*u->items));
	if (!u->items) {
		free(u);
		return NULL;
	}
	u->n = n_items;
	u->source_kind = "http";
	u->partition = -1;
	u->offset = -1;
	return u;
}

const char *writer_unit_reject_code(const struct writer_unit *u)
{
	if (u->reject_code[0])
		return u->reject_code;
	return u->status == WRITER_INVALID ? "invalid_transition" : "event_id_conflict";
}

const char *writer_unit_reject_message(const struct writer_unit *u)
{
	if (u->reject_code[0])
		return u->reject_message;
	return u->status == WRITER_INVALID ? u->error
					   : "event_id is already stored with different content";
}

void writer_unit_free(struct writer_unit *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++) {
		free(u->items[i].event);
		free(u->items[i].pseudonyms);
	}
	free(u->items);
	free(u->raw);
	free(u);
}

int writer_item_set(struct writer_item *it, const Consentd__V1__Event *ev)
{
	struct buf b = { 0 };
	const Consentd__V1__Subject *s = ev->subject;
	int rc;

	if (uuid_parse(ev->event_id, it->event_id) < 0)
		return -EINVAL;
	if ((rc = event_encode(ev, &b)) < 0)
		return rc;
	it->event = b.data;
	it->event_len = b.len;
	EVP_Digest(it->event, it->event_len, it->digest, NULL, EVP_sha256(), NULL);
	it->n_pseudonyms = s ? s->n_pseudonyms : 0;
	if (!it->n_pseudonyms)
		return 0;
	it->pseudonyms = calloc(it->n_pseudonyms, sizeof(*it->pseudonyms));
	if (!it->pseudonyms)
		return -ENOMEM;
	for (size_t i = 0; i < it->n_pseudonyms; i++) {
		if (s->pseudonyms[i]->hmac.len != WRITER_HASH_LEN)
			return -EINVAL;
		memcpy(it->pseudonyms[i], s->pseudonyms[i]->hmac.data, WRITER_HASH_LEN);
	}
	return 0;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void beat(struct writer *w)
{
	atomic_store(&w->heartbeat_us, mono_us());
}

static void list_push(struct unit_list *l, struct writer_unit *u)
{
	u->next = NULL;
	if (l->tail)
		l->tail->next = u;
	else
		l->head = u;
	l->tail = u;
}

/* Runs on the loop thread: hand every finished unit back to its source. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct writer *w = arg;
	struct writer_unit *u, *next;

	pthread_mutex_lock(&w->mu);
	u = w->done.head;
	w->done.head = w->done.tail = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; u; u = next) {
		next = u->next;
		atomic_fetch_sub(&w->depth, u->n);
		u->done_cb(u, u->arg);
	}
}

static void set_status(struct writer *w, bool ready, const char *text)
{
	bool was = atomic_exchange(&w->ready, ready);

	pthread_mutex_lock(&w->mu);
	snprintf(w->status, sizeof(w->status), "%s", text);
	pthread_mutex_unlock(&w->mu);
	if (was != ready) {
		if (ready)
			log_info("writer", "database ready: %s", text);
		else
			log_error("writer", "database unavailable: %s", text);
	}
}

static void drop_conn(struct writer *w)
{
	PQfinish(w->conn);
	w->conn = NULL;
}

static bool ensure_conn(struct writer *w)
{
	char err[512];
	bool retried = w->tried_conn;

	if (w->conn && !store_conn_lost(w->conn))
		return true;
	drop_conn(w);
	w->tried_conn = true;
	w->conn = store_connect(w->conninfo, w->cfg.connect_timeout_ms, "consentd-writer", err,
				sizeof(err));
	if (w->conn && (store_check_ready(w->conn, w->cfg.allow_superuser, err, sizeof(err)) < 0 ||
			store_project_prepare(w->conn, err, sizeof(err)) < 0 ||
			store_stmt_cache(w->conn, err, sizeof(err)) < 0))
		drop_conn(w);
	if (!w->conn) {
		metrics_postgres_error(w->cfg.metrics);
		set_status(w, false, err);
		return false;
	}
	if (retried)
		metrics_postgres_reconnect(w->cfg.metrics);
	w->last_ok_us = now_us();
	set_status(w, true, "connected");
	return true;
}

/* While idle, make sure /readyz tells the truth about the database. */
static void ping(struct writer *w)
{
	char err[256];

	if (w->conn && w->append.tree_valid)
		checkpointer_run(&w->cp, w->conn, &w->append.tree, false);
	if (w->conn && now_us() - w->last_ok_us < WRITER_PING_MS * 1000)
		return;
	if (w->conn && store_exec(w->conn, "SELECT 1", err, sizeof(err)) == 0) {
		w->last_ok_us = now_us();
		return;
	}
	if (w->conn)
		metrics_postgres_error(w->cfg.metrics);
	ensure_conn(w);
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Takes whole units, up to batch_max events (at least one unit). Called with mu held. */
static size_t take_batch(struct writer *w, struct writer_unit ***out, size_t *cap)
{
	size_t n = 0, events = 0;

	while (w->queue.head && (n == 0 || events + w->queue.head->n <= w->cfg.batch_max)) {
		struct writer_unit *u = w->queue.head;

		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct writer_unit **grown = realloc(*out, ncap * sizeof(*grown));

			if (!grown)
				break;
			*out = grown;
			*cap = ncap;
		}
		w->queue.head = u->next;
		if (!w->queue.head)
			w->queue.tail = NULL;
		events += u->n;
		(*out)[n++] = u;
	}
	w->queued_events -= events;
	return n;
}

/* Waits for work; returns false when stopping with nothing queued. Called with mu held. */
static bool wait_for_work(struct writer *w)
{
	struct timespec ts;

	while (!w->queue.head && !w->stopping) {
		deadline_in(&ts, atomic_load(&w->ready) ? WRITER_PING_MS : WRITER_RETRY_MS);
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
			return true; /* idle tick: ping or reconnect */
	}
	if (w->queue.head && w->cfg.batch_delay_ms > 0 && w->queued_events < w->cfg.batch_max &&
	    !w->stopping) {
		deadline_in(&ts, w->cfg.batch_delay_ms);
		while (w->queued_events < w->cfg.batch_max && !w->stopping &&
		       pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
			;
	}
	return w->queue.head || !w->stopping;
}

/* Units with a partition (Kafka's) are ordered within it. Called with mu held. */
static struct fence *fence_find(struct writer *w, const struct writer_unit *u)
{
	for (size_t i = 0; u->partition >= 0 && i < w->n_fences; i++)
		if (w->fences[i].partition == u->partition && strcmp(w->fences[i].topic, u->topic) == 0)
			return &w->fences[i];
	return NULL;
}

/* Called with mu held. Without memory for a fence the order is not kept, but nothing is lost:
 * the source still rewinds to the unit and stores no offset past it. */
static void fence_raise(struct writer *w, const struct writer_unit *u)
{
	struct fence *f = fence_find(w, u), *grown;

	if (f && f->tag == u->tag)
		return; /* a later unit of the run the fence already holds back */
	if (!f) {
		grown = realloc(w->fences, (w->n_fences + 1) * sizeof(*grown));
		if (!grown)
			return;
		w->fences = grown;
		f = &w->fences[w->n_fences++];
	}
	snprintf(f->topic, sizeof(f->topic), "%s", u->topic);
	f->partition = u->partition;
	f->tag = u->tag;
	f->offset = u->offset;
}

/* Called with mu held: u, held back by f, goes back unstored without being tried. */
static void send_back(struct writer *w, struct writer_unit *u, const struct fence *f)
{
	u->status = WRITER_UNAVAILABLE;
	snprintf(u->error, sizeof(u->error), "not tried: offset %lld of its partition was not stored",
		 (long long)f->offset);
	list_push(&w->done, u);
}

/* Called with mu held: what is queued behind a fence goes back untried, in queue order. */
static void send_back_fenced(struct writer *w)
{
	struct writer_unit *u, **link = &w->queue.head;
	const struct fence *f;

	w->queue.tail = NULL;
	while ((u = *link)) {
		f = fence_find(w, u);
		if (!f || f->tag != u->tag) {
			w->queue.tail = u;
			link = &u->next;
			continue;
		}
		*link = u->next;
		w->queued_events -= u->n;
		send_back(w, u, f);
	}
}

/* Hands units back to their sources, in order. A Kafka unit that goes back unstored fences its
 * partition, in the same critical section, so that nothing of it submitted meanwhile or queued
 * behind it is appended first. */
static void deliver(struct writer *w, struct writer_unit **units, size_t n)
{
	bool fence = false;

	if (n == 0)
		return;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		if (units[i]->partition >= 0 && units[i]->status == WRITER_UNAVAILABLE) {
			fence_raise(w, units[i]);
			fence = true;
		}
		list_push(&w->done, units[i]);
	}
	if (fence)
		send_back_fenced(w);
	pthread_mutex_unlock(&w->mu);
	event_active(w->done_ev, EV_READ, 0);
}

static size_t batch_events(struct writer_unit **units, size_t n)
{
	size_t events = 0;

	for (size_t i = 0; i < n; i++)
		events += units[i]->n;
	return events;
}

/* One attempt, reconnecting once if the connection turns out to be gone before COMMIT. */
static int try_append(struct writer *w, struct writer_unit **units, size_t n, char *err, size_t errlen)
{
	int64_t t0 = 0;
	int rc = -ENOTCONN;

	snprintf(err, errlen, "database unavailable");
	for (int attempt = 0; attempt < 2 && rc == -ENOTCONN; attempt++) {
		if (!ensure_conn(w))
			break;
		t0 = now_us();
		if ((rc = store_append(w->conn, &w->append, units, n, err, errlen)) < 0)
			metrics_postgres_error(w->cfg.metrics);
	}
	if (rc == 0) {
		metrics_committed(w->cfg.metrics, batch_events(units, n), now_us() - t0);
		w->last_ok_us = now_us();
		checkpointer_run(&w->cp, w->conn, &w->append.tree, false);
		return 0;
	}
	if (rc == -ENOTCONN || store_conn_lost(w->conn)) {
		drop_conn(w);
		set_status(w, false, err);
	} else {
		log_error("writer", "append of %zu units failed: %s", n, err);
	}
	return rc;
}

/* Answers the units that must not wait; keeps the retrying ones, in order, at the front. */
static size_t split_retry(struct writer *w, struct writer_unit **units, size_t n)
{
	struct writer_unit *now[64];
	size_t kept = 0, k = 0;
	bool stopping;

	pthread_mutex_lock(&w->mu);
	stopping = w->stopping;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		if (units[i]->retry && !stopping) {
			units[kept++] = units[i];
			continue;
		}
		now[k++] = units[i];
		if (k == ARRAY_SIZE(now)) {
			deliver(w, now, k);
			k = 0;
		}
	}
	deliver(w, now, k);
	return kept;
}

static void backoff_wait(struct writer *w, int64_t ms)
{
	struct timespec ts;

	deadline_in(&ts, ms);
	pthread_mutex_lock(&w->mu);
	if (!w->stopping)
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	pthread_mutex_unlock(&w->mu);
}

/* Retrying units wait out an unreachable database for as long as it takes, but a transaction
 * that fails on a working connection (disk full, statement timeout) is tried only a few times:
 * then they are handed back unstored and their source rewinds, so nothing queued behind them
 * waits on a fault that may not clear. deliver() sends the rest of their runs back with them. */
static void commit_batch(struct writer *w, struct writer_unit **units, size_t n)
{
	char err[512];
	int64_t backoff = WRITER_BACKOFF_MIN_MS;
	int rc, failures = 0;

	while (n && (rc = try_append(w, units, n, err, sizeof(err))) < 0) {
		beat(w);
		if (rc != -ENOTCONN && w->conn && ++failures >= WRITER_MAX_FAILURES) {
			for (size_t i = 0; i < n; i++)
				units[i]->retry = false;
		}
		n = split_retry(w, units, n);
		if (n) {
			log_warn("writer", "%zu units wait for the database; retry in %lld ms", n,
				 (long long)backoff);
			backoff_wait(w, backoff);
			backoff = backoff * 2 > WRITER_BACKOFF_MAX_MS ? WRITER_BACKOFF_MAX_MS : backoff * 2;
		}
	}
	deliver(w, units, n);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct writer_unit **batch = NULL;
	size_t cap = 0, n;

	ensure_conn(w);
	for (;;) {
		beat(w);
		pthread_mutex_lock(&w->mu);
		if (!wait_for_work(w)) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		n = take_batch(w, &batch, &cap);
		pthread_mutex_unlock(&w->mu);
		if (n == 0) {
			ping(w);
			continue;
		}
		commit_batch(w, batch, n);
	}
	free(batch);
	/* The final checkpoint covers everything this process committed. */
	if (w->conn && w->append.tree_valid)
		checkpointer_run(&w->cp, w->conn, &w->append.tree, true);
	drop_conn(w);
	return NULL;
}

struct writer *writer_new(struct event_base *base, const struct writer_config *cfg)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->base = base;
	w->cfg = *cfg;
	w->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
	w->cfg.conninfo = NULL;
	w->cp.signer = cfg->signer;
	w->cp.origin = cfg->origin;
	w->cp.interval_us = cfg->checkpoint_interval_ms * 1000;
	w->cp.publish = cfg->publish;
	w->cp.publish_arg = cfg->publish_arg;
	w->cp.metrics = cfg->metrics;
	w->append.rights = cfg->rights;
	w->done_ev = event_new(base, -1, 0, done_cb, w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	snprintf(w->status, sizeof(w->status), "not connected yet");
	if (!w->conninfo || !w->done_ev) {
		writer_free(w);
		return NULL;
	}
	return w;
}

int writer_start(struct writer *w)
{
	int rc;

	beat(w);
	rc = pthread_create(&w->thread, NULL, writer_main, w);

	if (rc)
		return -rc;
	w->started = true;
	return 0;
}

int writer_submit(struct writer *w, struct writer_unit *u)
{
	struct fence *f = NULL;
	bool back = false;
	int rc = 0;

	/* Retrying units wait for the database in the queue; their source bounds how many. */
	pthread_mutex_lock(&w->mu);
	if (w->stopping)
		rc = -ESHUTDOWN;
	else if (!u->retry && !atomic_load(&w->ready))
		rc = -ENOTCONN;
	else if (!u->retry && w->queued_events + u->n > w->cfg.queue_max)
		rc = -EAGAIN;
	if (rc == 0)
		f = fence_find(w, u);
	if (f && f->tag != u->tag)
		*f = w->fences[--w->n_fences]; /* a new run: the source rewound the partition */
	else if (f)
		back = true;
	if (rc == 0) {
		atomic_fetch_add(&w->depth, u->n);
		if (back) {
			send_back(w, u, f);
		} else {
			list_push(&w->queue, u);
			w->queued_events += u->n;
			pthread_cond_signal(&w->cv);
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (back)
		event_active(w->done_ev, EV_READ, 0);
	return rc;
}

bool writer_ready(const struct writer *w)
{
	return atomic_load(&w->ready);
}

void writer_status_text(const struct writer *w, char *out, size_t outlen)
{
	pthread_mutex_lock((pthread_mutex_t *)(uintptr_t)&w->mu);
	snprintf(out, outlen, "%s", w->status);
	pthread_mutex_unlock((pthread_mutex_t *)(uintptr_t)&w->mu);
}

size_t writer_depth(const struct writer *w)
{
	return atomic_load(&w->depth);
}

int64_t writer_heartbeat_age_us(const struct writer *w)
{
	return mono_us() - atomic_load(&w->heartbeat_us);
}

void writer_stop(struct writer *w)
{
	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->started = false;
	done_cb(-1, 0, w); /* hand back what the thread finished last */
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	writer_stop(w);
	if (w->done_ev)
		event_free(w->done_ev);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->fences);
	free(w->conninfo);
	free(w);
}
