/* The checks both event targets run on a decoded event: validation under the daemon's default
 * policy, then, for an accepted event, the promises docs/api.md makes about it. */
#include "fuzz_event.h"

#include <errno.h>
#include <string.h>

/* 2026-06-01T00:00:00Z: the server clock every event is validated against. */
#define NOW_US INT64_C(1780272000000000)

/* config.c's defaults for consent.purposes, consent.vendors and ledger.max_future_skew. */
static char *const purposes[] = {"essential", "analytics", "advertising", "functional"};
static char *const vendors[] = {"google_tag_manager", "google_analytics_4",
				"microsoft_clarity",  "sentry",
				"google_oauth",	      "stripe"};
static const struct event_policy policy = {
    .purposes = purposes,
    .n_purposes = ARRAY_SIZE(purposes),
    .vendors = vendors,
    .n_vendors = ARRAY_SIZE(vendors),
    .max_future_skew_us = INT64_C(5) * 60 * 1000000,
};

/* Two key versions, so that the active one (2) is not simply the first. */
static const struct subject_keyring *keyring(void)
{
	static const char text[] =
	    "# fixed fuzzing keys\n"
	    "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "2 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n";
	static struct subject_keyring ring;
	static bool ready;
	char err[128];

	if (!ready) {
		FUZZ_CHECK(subject_keyring_parse(text, sizeof(text) - 1, &ring, err, sizeof(err)) ==
			   0);
		FUZZ_CHECK(ring.n == 2 && ring.keys[ring.active].version == 2);
		ready = true;
	}
	return &ring;
}

static bool buf_equal(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* A rejection names a client fault (no allocation fails while fuzzing). */
static void check_rejection(int rc, const struct event_error *err)
{
	FUZZ_CHECK(rc == -EINVAL);
	FUZZ_CHECK(err->status == 422 || err->status == 400);
	FUZZ_CHECK(err->code[0] != '\0' && err->message[0] != '\0');
}

/* "The same logical event therefore always encodes to the same bytes": the JSON view of an
 * accepted event, sent back as input, is accepted and encodes to the same canonical bytes. */
static void check_json_round_trip(const Consentd__V1__Event *ev, const struct buf *canon)
{
	json_t *j = event_to_json(ev);
	Consentd__V1__Event *again = NULL;
	struct event_error err = {0};
	struct buf b = {0};
	int rc = -EINVAL;

	FUZZ_CHECK(j != NULL);
	again = event_from_json(j, &err);
	if (again)
		rc = event_validate(again, &policy, NOW_US, &err);
	if (rc < 0) {
		char *text = json_dumps(j, JSON_COMPACT);

		fprintf(stderr, "the JSON view of an accepted event is refused: %s\n  %s\n",
			err.message, text ? text : "?");
		free(text);
	}
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(event_encode(again, &b) == 0);
	FUZZ_CHECK(buf_equal(&b, canon));
	buf_free(&b);
	event_release(again);
	json_decref(j);
}

/* What the writer stores: pseudonyms instead of identifiers, bytes that decode and re-encode to
 * themselves, and a JSON view for consentctl subject. */
static void check_stored(Consentd__V1__Event *ev)
{
	struct buf stored = {0}, again = {0};
	Consentd__V1__Event *dec;
	const Consentd__V1__Subject *s;
	char *text;
	json_t *j;

	FUZZ_CHECK(event_pseudonymize(ev, keyring()) == 0);
	FUZZ_CHECK(event_encode(ev, &stored) == 0);
	dec = event_decode(stored.data, stored.len);
	FUZZ_CHECK(dec != NULL);
	s = dec->subject;
	FUZZ_CHECK(s && s->n_pseudonyms >= 1 && s->n_pseudonyms <= 3);
	FUZZ_CHECK(!*s->account_id && !*s->email && !*s->device_id);
	FUZZ_CHECK(event_encode(dec, &again) == 0);
	FUZZ_CHECK(buf_equal(&stored, &again));
	j = event_to_json(dec);
	FUZZ_CHECK(j != NULL);
	text = json_dumps(j, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(j);
	event_release(dec);
	buf_free(&again);
	buf_free(&stored);
}

void fuzz_event_check(Consentd__V1__Event *ev)
{
	struct event_error err = {0};
	struct buf canon = {0};
	int rc = event_validate(ev, &policy, NOW_US, &err);

	if (rc < 0) {
		check_rejection(rc, &err);
		return;
	}
	FUZZ_CHECK(event_encode(ev, &canon) == 0 && canon.len > 0);
	check_json_round_trip(ev, &canon);
	check_stored(ev);
	buf_free(&canon);
}
