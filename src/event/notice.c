/* Notices: the exact text or HTML of a banner or policy version, stored as a ledger entry of its
 * own and addressed by its SHA-256. Pure: the caller passes the time. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"

/* A name=value media type of printable ASCII, as a Content-Type header carries it. */
static bool content_type_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > EVENT_NOTICE_TYPE_MAX || !strchr(t, '/'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

void event_notice_id(const uint8_t sha256[EVENT_HASH_LEN], uint8_t id[UUID_LEN])
{
	static const char domain[] = "consentd notice v1";
	uint8_t h[EVENT_HASH_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;

	/* On an allocation failure the id is derived from the address alone: still deterministic. */
	memcpy(h, sha256, EVENT_HASH_LEN);
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, domain, sizeof(domain) - 1) &&
	    EVP_DigestUpdate(md, sha256, EVENT_HASH_LEN))
		EVP_DigestFinal_ex(md, h, &len);
	EVP_MD_CTX_free(md);
	memcpy(id, h, UUID_LEN);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x80); /* version 8: custom (RFC 9562) */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* variant 10 */
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

static Consentd__V1__Event *notice_event(const uint8_t *content, size_t len,
					 const char *content_type,
					 const uint8_t sha256[EVENT_HASH_LEN], int64_t now)
{
	Consentd__V1__Event *ev = calloc(1, sizeof(*ev));
	Consentd__V1__NoticeContent *n = calloc(1, sizeof(*n));
	uint8_t id[UUID_LEN];

	if (ev)
		consentd__v1__event__init(ev);
	if (n)
		consentd__v1__notice_content__init(n);
	if (!ev || !n) {
		free(ev);
		free(n);
		return NULL;
	}
	ev->body_case = CONSENTD__V1__EVENT__BODY_NOTICE;
	ev->notice = n;
	ev->occurred_at = now;
	ev->event_id = malloc(UUID_STR_LEN + 1);
	n->content_type = dup_str(content_type);
	n->content_sha256.data = malloc(EVENT_HASH_LEN);
	n->content.data = malloc(len ? len : 1);
	if (!ev->event_id || !n->content_type || !n->content_sha256.data || !n->content.data) {
		event_release(ev);
		return NULL;
	}
	event_notice_id(sha256, id);
	uuid_format(id, ev->event_id);
	memcpy(n->content_sha256.data, sha256, EVENT_HASH_LEN);
	n->content_sha256.len = EVENT_HASH_LEN;
	memcpy(n->content.data, content, len);
	n->content.len = len;
	return ev;
}

int event_notice_new(const uint8_t *content, size_t len, const char *content_type,
		     const uint8_t sha256[EVENT_HASH_LEN], int64_t now,
		     Consentd__V1__Event **out, struct event_error *err)
{
	uint8_t h[EVENT_HASH_LEN];
	unsigned hlen = 0;

	*out = NULL;
	if (len == 0) {
		event_error_set(err, 422, "missing_field", "content", "the notice is empty");
		return -EINVAL;
	}
	if (len > EVENT_NOTICE_MAX) {
		event_error_set(err, 413, "body_too_large", "content",
				"a notice holds at most %d bytes", EVENT_NOTICE_MAX);
		return -EINVAL;
	}
	if (!content_type_ok(content_type)) {
		event_error_set(err, 422, "invalid_value", "Content-Type",
				"needs a media type such as text/html; charset=utf-8 (printable, at "
				"most %d characters)", EVENT_NOTICE_TYPE_MAX);
		return -EINVAL;
	}
	if (!EVP_Digest(content, len, h, &hlen, EVP_sha256(), NULL)) {
		event_error_set(err, 500, "out_of_memory", "", "cannot hash the notice");
		return -ENOMEM;
	}
	if (memcmp(h, sha256, EVENT_HASH_LEN) != 0) {
		event_error_set(err, 422, "digest_mismatch", "content",
				"the body does not hash to the SHA-256 in the address");
		return -EINVAL;
	}
	*out = notice_event(content, len, content_type, sha256, now);
	if (!*out) {
		event_error_set(err, 500, "out_of_memory", "", "notice: out of memory");
		return -ENOMEM;
	}
	return 0;
}

bool event_is_notice(const Consentd__V1__Event *ev)
{
	return ev && ev->body_case == CONSENTD__V1__EVENT__BODY_NOTICE && ev->notice &&
	       ev->notice->content_sha256.len == EVENT_HASH_LEN;
}
