/* Private to src/config: the value types of the key table and the checks its rows name, shared by
 * config.c (the table, loading and writing) and config_types.c (the types and checks). */
#ifndef CONSENTD_CONFIG_INTERNAL_H
#define CONSENTD_CONFIG_INTERNAL_H

#include "config/config.h"

#define KIB (INT64_C(1) << 10)
#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)
#define SEC INT64_C(1000)
#define DAY (86400 * SEC)

/* T_MAP is keyed: a row "property" of this type takes every key "property.<name>" of its
 * section and every variable CONSENTD_<SECTION>_PROPERTY_<NAME>. */
enum config_type { T_STRING, T_INT, T_BOOL, T_DURATION_MS, T_SIZE, T_LIST, T_MAP };

/* parse replaces the field's value (freeing the old one) only on success; why says what is wrong.
 * parse_entry, set only for keyed types, sets the one entry name, replacing an entry of that
 * name in place or else appending, so that the file's order is kept. write prints the key's
 * lines ("key = value", "key =" when empty; "key.name = value" per entry of a keyed type). */
struct config_type_ops {
	int (*parse)(const char *text, void *field, char *why, size_t whylen);
	int (*parse_entry)(const char *name, const char *text, void *field, char *why,
			   size_t whylen);
	void (*write)(const char *key, const void *field, FILE *out);
	void (*release)(void *field); /* NULL: nothing to free */
	bool numeric;                 /* an int64_t that the row's [min, max] applies to */
};

extern const struct config_type_ops config_types[];

/* v in the largest unit of type that divides it exactly: 1048576 -> "1M", 300000 ms -> "5m". */
void config_format_num(enum config_type type, int64_t v, char *out, size_t outlen);

/* Value checks named by rows: 0, or -EINVAL with why filled in. field is the row's field. */
int config_check_listen(const void *field, char *why, size_t whylen);
int config_check_names(const void *field, char *why, size_t whylen);
int config_check_purposes(const void *field, char *why, size_t whylen);
int config_check_level(const void *field, char *why, size_t whylen);
int config_check_jurisdiction(const void *field, char *why, size_t whylen);
int config_check_format(const void *field, char *why, size_t whylen);
int config_check_nonempty(const void *field, char *why, size_t whylen);
int config_check_origin(const void *field, char *why, size_t whylen);
/* A list of Kafka topic names, each once; a single topic name or "" (none). */
int config_check_topics(const void *field, char *why, size_t whylen);
int config_check_topic(const void *field, char *why, size_t whylen);

#endif
