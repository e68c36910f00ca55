/* Protobuf bytes of an event, and its release: thin wrappers that pin the system allocator, so
 * that events from event_decode() and from event_from_json() are freed the same way. */
#include "event/event.h"

#include <errno.h>

int event_encode(const Consentd__V1__Event *ev, struct buf *out)
{
	size_t size;
	int rc;

	if (!ev || !out)
		return -EINVAL;
	size = consentd__v1__event__get_packed_size(ev);
	if (size == 0)
		return 0;
	rc = buf_reserve(out, size);
	if (rc < 0)
		return rc;
	out->len += consentd__v1__event__pack(ev, out->data + out->len);
	return 0;
}

Consentd__V1__Event *event_decode(const uint8_t *data, size_t len)
{
	if (!data && len)
		return NULL;
	return consentd__v1__event__unpack(NULL, len, data);
}

void event_release(Consentd__V1__Event *ev)
{
	if (ev)
		consentd__v1__event__free_unpacked(ev, NULL);
}
