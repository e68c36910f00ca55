/* Connections, schema version and migrations. */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/migrations.h"

int store_schema_expected(void)
{
	return store_migrations[store_migrations_count - 1].version;
}

static void trim_newline(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

PGconn *store_connect(const char *conninfo, int64_t timeout_ms, const char *app, char *err,
		      size_t errlen)
{
	char timeout[24];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", "options", NULL };
	const char *vals[] = { conninfo, timeout, app, "-c TimeZone=UTC -c client_encoding=UTF8", NULL };
	PGconn *c;

	/* libpq takes whole seconds; round up so that a small timeout is not "wait forever" (0). */
	snprintf(timeout, sizeof(timeout), "%" PRId64, timeout_ms > 0 ? (timeout_ms + 999) / 1000 : 5);
	c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		trim_newline(err);
		PQfinish(c);
		return NULL;
	}
	return c;
}

int store_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		trim_newline(err);
		rc = -EIO;
	}
	PQclear(r);
	return rc;
}

bool store_conn_lost(PGconn *c)
{
	return !c || PQstatus(c) == CONNECTION_BAD;
}

int store_schema_version(PGconn *c, int *version, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	int rc = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		*version = atoi(PQgetvalue(r, 0, 0));
	} else if (strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "", "42P01") == 0) {
		*version = 0; /* undefined_table: never migrated */
	} else {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		trim_newline(err);
		rc = -EIO;
	}
	PQclear(r);
	return rc;
}

static int is_superuser(PGconn *c, bool *super, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = -EIO;
	} else {
		*super = PQgetvalue(r, 0, 0)[0] == 't';
	}
	PQclear(r);
	return rc;
}

int store_check_ready(PGconn *c, bool allow_superuser, char *err, size_t errlen)
{
	int have, want = store_schema_expected(), rc;
	bool super = false;

	if ((rc = store_schema_version(c, &have, err, errlen)) < 0)
		return rc;
	if (have < want) {
		snprintf(err, errlen,
			 "database schema is at version %d, this consentd needs %d: run `consentctl migrate`",
			 have, want);
		return -ESTALE;
	}
	if (have > want) {
		snprintf(err, errlen, "database schema version %d is newer than this consentd (%d): upgrade consentd",
			 have, want);
		return -ESTALE;
	}
	if ((rc = is_superuser(c, &super, err, errlen)) < 0)
		return rc;
	if (super && !allow_superuser) {
		snprintf(err, errlen,
			 "connected as superuser role %s: use a role in consentd_writer, or set postgres.allow_superuser = true",
			 PQuser(c));
		return -EPERM;
	}
	return 0;
}

static int apply_one(PGconn *c, const struct migration *m, FILE *progress, char *err, size_t errlen)
{
	char version[16];
	const char *params[] = { version, m->name };
	PGresult *r;
	int rc;

	snprintf(version, sizeof(version), "%d", m->version);
	if ((rc = store_exec(c, "BEGIN", err, errlen)) < 0)
		return rc;
	if ((rc = store_exec(c, m->sql, err, errlen)) < 0)
		goto rollback;
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL,
			 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = -EIO;
	}
	PQclear(r);
	if (rc == 0 && (rc = store_exec(c, "COMMIT", err, errlen)) == 0) {
		if (progress)
			fprintf(progress, "migrate: applied %03d_%s\n", m->version, m->name);
		return 0;
	}
rollback:
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

int store_migrate(PGconn *c, FILE *progress, char *err, size_t errlen)
{
	static const char bootstrap[] =
		"CREATE TABLE IF NOT EXISTS schema_migrations ("
		" version integer PRIMARY KEY, name text NOT NULL,"
		" applied_at timestamptz NOT NULL DEFAULT now())";
	int have = 0, rc, applied = 0;

	/* One migrator at a time; the lock is released with the session. */
	if ((rc = store_exec(c, "SELECT pg_advisory_lock(7244901)", err, errlen)) < 0)
		return rc;
	if ((rc = store_exec(c, bootstrap, err, errlen)) < 0 ||
	    (rc = store_schema_version(c, &have, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < store_migrations_count; i++) {
		if (store_migrations[i].version <= have)
			continue;
		if ((rc = apply_one(c, &store_migrations[i], progress, err, errlen)) < 0) {
			char reason[512];

			snprintf(reason, sizeof(reason), "%s", err);
			snprintf(err, errlen, "migration %03d_%s failed: %s", store_migrations[i].version,
				 store_migrations[i].name, reason);
			goto out;
		}
		applied++;
	}
	if (progress)
		fprintf(progress, "migrate: schema is at version %d (%d applied now)\n",
			store_schema_expected(), applied);
out:
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(7244901)"));
	return rc;
}
