/* Read queries for the HTTP API (proofs, checkpoints; later reports), run on a thread that owns
 * its own PostgreSQL connection so that the event loop never blocks. A job's run() executes on
 * that thread; its done() runs on the loop afterwards. The job is the caller's (embed it). */
#ifndef CONSENTD_READER_H
#define CONSENTD_READER_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>

struct reader_job {
	/* Reader thread: returns 0 or a negative errno, kept in rc. Not called (rc = -ENOTCONN)
	 * when the database is unreachable, nor (rc = -ESHUTDOWN) while stopping. */
	int (*run)(PGconn *c, struct reader_job *job);
	/* Loop thread: the job is the caller's again. */
	void (*done)(struct reader_job *job);
	int rc;
	struct reader_job *next;
};

struct reader;

struct reader *reader_new(struct event_base *base, const char *conninfo, int64_t connect_timeout_ms);
int reader_start(struct reader *r);
void reader_submit(struct reader *r, struct reader_job *job);
/* Finishes the job in progress, answers the rest with -ESHUTDOWN, joins the thread. */
void reader_stop(struct reader *r);
void reader_free(struct reader *r);

#endif
