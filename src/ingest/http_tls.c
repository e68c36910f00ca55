/* HTTPS: the OpenSSL context built from http.tls_cert_file, tls_key_file and
 * tls_client_ca_file, and one OpenSSL bufferevent per accepted connection. A reload builds a
 * whole new context and swaps it in for the connections to come; an SSL holds a reference to
 * the context it was made from, so open connections keep theirs. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log/log.h"

struct http_tls {
	SSL_CTX *ctx; /* for new connections */
};

/* "[http] <key>: <path>: <what>: <OpenSSL's reason>"; clears OpenSSL's error queue. */
static int fail(char *err, size_t errlen, const char *key, const char *path, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256] = "no detail from OpenSSL";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "[http] %s: %s: %s: %s", key, path, what, reason);
	return -EINVAL;
}

/* The private key may be readable by its group (Debian's ssl-cert convention), not by others. */
static int check_key_mode(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "[http] tls_key_file: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & S_IRWXO) {
		snprintf(err, errlen,
			 "[http] tls_key_file: %s: mode %03o lets others read it; "
			 "chmod o-rwx %s",
			 path, (unsigned)(st.st_mode & 0777), path);
		return -EPERM;
	}
	return 0;
}

/* Mutual TLS: only clients with a certificate that chains to one of the CAs in path. */
static int require_client_certs(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) * names;

	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
		return fail(err, errlen, "tls_client_ca_file", path,
			    "cannot load the CA certificates");
	names = SSL_load_client_CA_file(path);
	if (!names)
		return fail(err, errlen, "tls_client_ca_file", path, "holds no CA certificate");
	SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

static SSL_CTX *context_new(const struct config_http *cfg, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "consentd";
	SSL_CTX *ctx;

	ERR_clear_error();
	if (check_key_mode(cfg->tls_key_file, err, errlen) < 0)
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		fail(err, errlen, "tls_cert_file", cfg->tls_cert_file, "no TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* resumed sessions must stay within this server (and, with client certificates, work) */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1)
		fail(err, errlen, "tls_cert_file", cfg->tls_cert_file,
		     "cannot load the certificate");
	else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1)
		fail(err, errlen, "tls_key_file", cfg->tls_key_file,
		     ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
			 ? "does not match the certificate of tls_cert_file"
			 : "cannot load the private key");
	else if (SSL_CTX_check_private_key(ctx) != 1)
		fail(err, errlen, "tls_key_file", cfg->tls_key_file,
		     "does not match the certificate of tls_cert_file");
	else if (!cfg->tls_client_ca_file[0] ||
		 require_client_certs(ctx, cfg->tls_client_ca_file, err, errlen) == 0)
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/* One line an operator can check a renewal against: subject and expiry. */
static void log_certificate(SSL_CTX *ctx, const struct config_http *cfg, const char *how)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	char subject[256] = "?", expires[32] = "?";
	struct tm tm;

	if (cert) {
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
		if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
			strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
			log_warn("http", "TLS certificate %s expired at %s", cfg->tls_cert_file,
				 expires);
	}
	log_info("http", "TLS %s: certificate %s subject=%s expires=%s client_certificates=%s", how,
		 cfg->tls_cert_file, subject, expires,
		 cfg->tls_client_ca_file[0] ? "required" : "not asked");
}

struct http_tls *http_tls_new(const struct config_http *cfg, char *err, size_t errlen)
{
	struct http_tls *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "[http] tls_cert_file: out of memory");
		return NULL;
	}
	t->ctx = context_new(cfg, err, errlen);
	if (!t->ctx) {
		free(t);
		return NULL;
	}
	log_certificate(t->ctx, cfg, "loaded");
	return t;
}

int http_tls_reload(struct http_tls *t, const struct config_http *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = context_new(cfg, err, errlen);

	if (!ctx)
		return -EINVAL;
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	log_certificate(ctx, cfg, "reloaded");
	return 0;
}

struct bufferevent *http_tls_bufferevent(struct http_tls *t, struct event_base *base)
{
	SSL *ssl = SSL_new(t->ctx);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	/* On failure libevent 2.1 may or may not have freed ssl already: leaking it under memory
	 * pressure is the lesser harm. With CLOSE_ON_FREE, freeing bev frees ssl and the socket. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		/* a client that closes without close_notify ends its connection like any EOF */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

bool http_tls_failed(struct bufferevent *bev, char *why, size_t whylen)
{
	unsigned long e = 0, next;
	const char *reason;

	/* libevent queues OpenSSL's errors, then SSL_get_error()'s code (library 0): the first
	 * of the former says what failed */
	while ((next = bufferevent_get_openssl_error(bev)))
		if (!e && ERR_GET_LIB(next))
			e = next;
	/* a client that just closed (without close_notify, as most do) did not fail */
	if (!e || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return false;
	reason = ERR_reason_error_string(e);
	if (reason)
		snprintf(why, whylen, "%s", reason);
	else
		ERR_error_string_n(e, why, whylen);
	return true;
}

void http_tls_free(struct http_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}
