/* libFuzzer target: protobuf input, as a Kafka message (one consentd.v1.Event) and as the body
 * of POST /v1/events with Content-Type application/x-protobuf (a consentd.v1.EventBatch whose
 * events are validated, pseudonymised and encoded in place). The same bytes go both ways. */
#include "fuzz_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Consentd__V1__EventBatch *batch;
	Consentd__V1__Event *ev = event_decode(data, size);

	if (ev) {
		fuzz_event_check(ev);
		event_release(ev);
	}
	batch = consentd__v1__event_batch__unpack(NULL, size, data);
	if (batch) {
		for (size_t i = 0; i < batch->n_events; i++)
			fuzz_event_check(batch->events[i]);
		consentd__v1__event_batch__free_unpacked(batch, NULL);
	}
	return 0;
}
