/* Answers: JSON bodies, the error shape {"error":{"code","message","field","index"}}, and the
 * headers every answer carries (X-Request-Id; Retry-After on 429/503, 1 s unless the handler
 * set its own). */
#include "ingest/http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "metrics/metrics.h"

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "OK";
	}
}

void http_req_free(struct http_req *r)
{
	if (!r)
		return;
	if (r->timeout_ev)
		event_free(r->timeout_ev);
	free(r);
}

void reply_text(struct http_req *r, int status, const char *content_type, const char *body, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "X-Request-Id", r->request_id);
	evhttp_add_header(out, "Cache-Control", "no-store");
	if ((status == 503 || status == 429) && !evhttp_find_header(out, "Retry-After"))
		evhttp_add_header(out, "Retry-After", "1");
	if (buf && body)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(r->req, status, reason_phrase(status), buf);
	if (buf)
		evbuffer_free(buf);
	http_req_free(r);
}

void reply_json(struct http_req *r, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct buf out = { 0 };

	if (text)
		buf_printf(&out, "%s\n", text);
	reply_text(r, status, "application/json", (const char *)out.data, out.len);
	buf_free(&out);
	free(text);
	json_decref(body);
}

void reply_error(struct http_req *r, int status, const char *code, const char *field, long index,
		 const char *fmt, ...)
{
	char message[512];
	json_t *err;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	err = json_pack("{s:s, s:s, s:s}", "code", code, "message", message, "field", field ? field : "");
	if (err && index >= 0)
		json_object_set_new(err, "index", json_integer(index));
	if (r->events)
		metrics_rejected(http_ingest_deps(r->h)->metrics, METRICS_SOURCE_HTTP, code, r->events);
	if (status >= 500)
		log_ev_warn("http", r->ctx, "%d %s: %s", status, code, message);
	else
		log_ev_info("http", r->ctx, "%d %s field=%s: %s", status, code, field ? field : "", message);
	reply_json(r, status, json_pack("{s:o}", "error", err ? err : json_object()));
}
