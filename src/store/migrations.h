/* The ordered schema migrations, compiled in from sql/NNN_name.sql by sql/embed.py. */
#ifndef CONSENTD_MIGRATIONS_H
#define CONSENTD_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration store_migrations[];
extern const size_t store_migrations_count;

#endif
