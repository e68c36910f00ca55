/* libFuzzer target: the JSON body of POST /v1/events and of Kafka JSON messages. Bytes are
 * parsed as the daemon parses them (duplicate keys refused, any JSON value), an array as a
 * batch and anything else as one event (as Kafka does), then decoded, validated, pseudonymised,
 * encoded and decoded again (fuzz_event.c). */
#include "fuzz_event.h"

static void one_event(const json_t *obj)
{
	struct event_error err = {0};
	Consentd__V1__Event *ev = event_from_json(obj, &err);

	if (!ev) {
		FUZZ_CHECK(err.status == 400 || err.status == 422);
		return;
	}
	fuzz_event_check(ev);
	event_release(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);

	if (!root)
		return 0;
	if (json_is_array(root)) {
		for (size_t i = 0; i < json_array_size(root); i++)
			one_event(json_array_get(root, i));
	} else {
		one_event(root);
	}
	json_decref(root);
	return 0;
}
