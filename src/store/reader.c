/* The reader thread: a FIFO of jobs, one connection, results handed back to the loop. */
#include "store/reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "store/store.h"

struct job_list {
	struct reader_job *head, *tail;
};

struct reader {
	struct event *done_ev;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job_list todo, done; /* under mu */
	bool stopping;              /* under mu */
	char *conninfo;
	int64_t connect_timeout_ms;
	PGconn *conn;               /* reader thread only */
};

static void push(struct job_list *l, struct reader_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct reader_job *pop(struct job_list *l)
{
	struct reader_job *j = l->head;

	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reader *r = arg;
	struct reader_job *j, *next;

	pthread_mutex_lock(&r->mu);
	j = r->done.head;
	r->done.head = r->done.tail = NULL;
	pthread_mutex_unlock(&r->mu);
	for (; j; j = next) {
		next = j->next;
		j->done(j);
	}
}

static void run_job(struct reader *r, struct reader_job *j)
{
	char err[512];

	if (r->conn && store_conn_lost(r->conn)) {
		PQfinish(r->conn);
		r->conn = NULL;
	}
	if (!r->conn)
		r->conn = store_connect(r->conninfo, r->connect_timeout_ms, "consentd-reader", err, sizeof(err));
	if (!r->conn) {
		log_warn("reader", "database unreachable: %s", err);
		j->rc = -ENOTCONN;
		return;
	}
	j->rc = j->run(r->conn, j);
	if (j->rc < 0 && store_conn_lost(r->conn))
		j->rc = -ENOTCONN;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct reader_job *j;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->todo.head && !r->stopping)
			pthread_cond_wait(&r->cv, &r->mu);
		j = pop(&r->todo);
		if (!j)
			break;
		if (r->stopping) {
			j->rc = -ESHUTDOWN;
		} else {
			pthread_mutex_unlock(&r->mu);
			run_job(r, j);
			pthread_mutex_lock(&r->mu);
		}
		push(&r->done, j);
		event_active(r->done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&r->mu);
	PQfinish(r->conn);
	r->conn = NULL;
	return NULL;
}

struct reader *reader_new(struct event_base *base, const char *conninfo, int64_t connect_timeout_ms)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->conninfo = strdup(conninfo ? conninfo : "");
	r->connect_timeout_ms = connect_timeout_ms;
	r->done_ev = event_new(base, -1, 0, done_cb, r);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (!r->conninfo || !r->done_ev) {
		reader_free(r);
		return NULL;
	}
	return r;
}

int reader_start(struct reader *r)
{
	int rc = pthread_create(&r->thread, NULL, reader_main, r);

	if (rc)
		return -rc;
	r->started = true;
	return 0;
}

void reader_submit(struct reader *r, struct reader_job *job)
{
	pthread_mutex_lock(&r->mu);
	push(&r->todo, job);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void reader_stop(struct reader *r)
{
	if (!r || !r->started)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	r->started = false;
	done_cb(-1, 0, r);
}

void reader_free(struct reader *r)
{
	if (!r)
		return;
	reader_stop(r);
	if (r->done_ev)
		event_free(r->done_ev);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->conninfo);
	free(r);
}
