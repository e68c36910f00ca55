/* Prepared statements for a connection that runs the same statements in every transaction (the
 * writer's). A statement store_pipe_send sends as text is remembered; the next store_pipe_begin,
 * outside any pipeline, prepares what was remembered (one round trip each, once per connection);
 * from then on that text goes out as Bind/Execute of the prepared statement, neither parsed nor
 * planned again by the server. The cache hangs on the PGconn as libpq instance data, so it dies
 * with the connection (PQfinish) and is emptied if the connection is reset. */
#include "store/store.h"

#include <errno.h>
#include <libpq-events.h>
#include <stdlib.h>
#include <string.h>

/* More distinct statements than the writer has; any beyond this are simply not prepared. */
#define STMT_MAX 48

struct stmt {
	char *sql; /* owned copy */
	int nparams;
	bool prepared;
	bool refused; /* the server would not prepare it: always sent as text */
	char name[16];
};

struct stmt_cache {
	size_t n;
	struct stmt s[STMT_MAX];
};

static void cache_clear(struct stmt_cache *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->s[i].sql);
	sc->n = 0;
}

static int stmt_event(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNRESET) {
		PGconn *c = ((PGEventConnReset *)info)->conn;
		struct stmt_cache *sc = PQinstanceData(c, stmt_event);

		if (sc)
			cache_clear(sc); /* a new session: nothing is prepared in it */
	} else if (id == PGEVT_CONNDESTROY) {
		PGconn *c = ((PGEventConnDestroy *)info)->conn;
		struct stmt_cache *sc = PQinstanceData(c, stmt_event);

		if (sc) {
			cache_clear(sc);
			free(sc);
		}
	}
	return 1;
}

int store_stmt_cache(PGconn *c, char *err, size_t errlen)
{
	struct stmt_cache *sc;

	if (PQinstanceData(c, stmt_event))
		return 0;
	if (!(sc = calloc(1, sizeof(*sc)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!PQregisterEventProc(c, stmt_event, "consentd statement cache", NULL) ||
	    !PQsetInstanceData(c, stmt_event, sc)) {
		free(sc);
		snprintf(err, errlen, "registering the statement cache failed");
		return -EIO;
	}
	return 0;
}

static struct stmt *find(struct stmt_cache *sc, const char *sql)
{
	for (size_t i = 0; i < sc->n; i++)
		if (strcmp(sc->s[i].sql, sql) == 0)
			return &sc->s[i];
	return NULL;
}

const char *store_stmt_name(PGconn *c, const char *sql, int nparams)
{
	struct stmt_cache *sc = PQinstanceData(c, stmt_event);
	struct stmt *s;

	if (!sc)
		return NULL;
	if ((s = find(sc, sql)))
		return s->prepared ? s->name : NULL;
	if (sc->n == STMT_MAX || !(sql = strdup(sql)))
		return NULL; /* sent as text, as without a cache */
	s = &sc->s[sc->n];
	*s = (struct stmt){ .sql = (char *)sql, .nparams = nparams };
	snprintf(s->name, sizeof(s->name), "consentd_%zu", sc->n);
	sc->n++;
	return NULL;
}

int store_stmt_prepare(PGconn *c, char *err, size_t errlen)
{
	struct stmt_cache *sc = PQinstanceData(c, stmt_event);

	for (size_t i = 0; sc && i < sc->n; i++) {
		struct stmt *s = &sc->s[i];
		PGresult *r;

		if (s->prepared || s->refused)
			continue;
		r = PQprepare(c, s->name, s->sql, s->nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "preparing a statement: %s", PQresultErrorMessage(r));
			PQclear(r);
			s->refused = true; /* not retried: the next attempt sends it as text */
			return store_conn_lost(c) ? -ENOTCONN : -EIO;
		}
		PQclear(r);
		s->prepared = true;
	}
	return 0;
}
