/* bare_http: the HTTP limit for consentd's ingest (issue 6). libevent's evhttp on one event-loop
 * thread, as consentd's HTTP side runs, answering every POST /v1/events with 202 and a small JSON
 * body after reading the request body, and 404 to anything else; no parsing, no database.
 *
 *   bare_http [--listen 127.0.0.1:0]
 *
 * Prints "LISTENING <port>" once bound; stops on SIGTERM or SIGINT and prints the number of
 * requests answered on stderr. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static unsigned long long answered;

static void on_request(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && path &&
	    strcmp(path, "/v1/events") == 0) {
		evbuffer_add_printf(out, "{\"status\":\"accepted\"}");
		evhttp_send_reply(req, 202, "Accepted", out);
		answered++;
	} else {
		evbuffer_add_printf(out, "{\"error\":{\"code\":\"not_found\"}}");
		evhttp_send_reply(req, 404, "Not Found", out);
	}
	evbuffer_free(out);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	char host[64];
	unsigned port = 0;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *sigterm, *sigint;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else {
			fprintf(stderr, "usage: bare_http [--listen HOST:PORT]\n");
			return 2;
		}
	}
	if (sscanf(listen, "%63[^:]:%u", host, &port) != 2) {
		fprintf(stderr, "bare_http: bad --listen %s\n", listen);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	http = base ? evhttp_new(base) : NULL;
	if (!http) {
		fprintf(stderr, "bare_http: out of memory\n");
		return 1;
	}
	evhttp_set_gencb(http, on_request, NULL);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						 EVHTTP_REQ_PUT);
	if (!(sock = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port)) ||
	    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sa, &salen) < 0) {
		fprintf(stderr, "bare_http: cannot listen on %s\n", listen);
		return 1;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	printf("LISTENING %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	event_base_dispatch(base);
	fprintf(stderr, "bare_http: %llu requests answered 202\n", answered);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
