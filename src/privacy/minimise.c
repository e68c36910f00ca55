/* Minimisation of network identifiers before anything is stored: IP addresses truncated to
 * their network, User-Agents reduced to a browser family and major version. */
#include "privacy/privacy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

static int put(char *out, size_t outlen, const char *net, const char *suffix, char *err,
	       size_t errlen)
{
	int n = snprintf(out, outlen, "%s%s", net, suffix);

	if (n < 0 || (size_t)n >= outlen)
		return fail(err, errlen, "output buffer too small");
	return 0;
}

static int ipv4_net(const uint8_t a[4], char *out, size_t outlen, char *err, size_t errlen)
{
	char text[INET_ADDRSTRLEN];
	uint8_t net[4] = {a[0], a[1], a[2], 0};

	inet_ntop(AF_INET, net, text, sizeof(text));
	return put(out, outlen, text, "/24", err, errlen);
}

static int ipv6_net(const uint8_t a[16], char *out, size_t outlen, char *err, size_t errlen)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char text[INET6_ADDRSTRLEN];
	uint8_t net[16] = {0};

	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return ipv4_net(a + 12, out, outlen, err, errlen);
	memcpy(net, a, 6);
	inet_ntop(AF_INET6, net, text, sizeof(text));
	return put(out, outlen, text, "/48", err, errlen);
}

int privacy_ip_truncate(const char *ip, char *out, size_t outlen, char *err, size_t errlen)
{
	uint8_t addr[16];

	if (!out || outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	if (!ip || !ip[0])
		return fail(err, errlen, "empty address");
	if (strlen(ip) >= INET6_ADDRSTRLEN)
		return fail(err, errlen, "too long to be an IP address");
	if (strchr(ip, '%'))
		return fail(err, errlen, "an IPv6 zone index is not an address");
	if (strchr(ip, '/'))
		return fail(err, errlen, "a prefix, not an address");
	if (inet_pton(AF_INET, ip, addr) == 1)
		return ipv4_net(addr, out, outlen, err, errlen);
	if (inet_pton(AF_INET6, ip, addr) == 1)
		return ipv6_net(addr, out, outlen, err, errlen);
	return fail(err, errlen,
		    strchr(ip, ':') ? "not a valid IPv6 address" : "not a valid IPv4 address");
}

/* ---- User-Agent ---------------------------------------------------------------------------- */

/* Tokens in the order they are looked for: Edge, Opera and Samsung Internet announce Chrome too,
 * Chrome announces Safari, and Googlebot's smartphone crawler announces Chrome and Safari. The
 * version is read after the token; Safari's own version is in "Version/", not in "Safari/". */
static const struct ua_rule {
	const char *token;
	const char *family;
	const char *version_token; /* NULL: after token */
} ua_rules[] = {
    {"Googlebot/", "Googlebot", NULL},
    {"bingbot/", "bingbot", NULL},
    {"curl/", "curl", NULL},
    {"Wget/", "Wget", NULL},
    {"Edg/", "Edge", NULL},
    {"EdgA/", "Edge", NULL},
    {"EdgiOS/", "Edge", NULL},
    {"Edge/", "Edge", NULL},
    {"OPR/", "Opera", NULL},
    {"OPT/", "Opera", NULL},
    {"Opera/", "Opera", "Version/"},
    {"SamsungBrowser/", "Samsung Internet", NULL},
    {"Firefox/", "Firefox", NULL},
    {"FxiOS/", "Firefox", NULL},
    {"CriOS/", "Chrome", NULL},
    {"Chrome/", "Chrome", NULL},
    {"Safari/", "Safari", "Version/"},
};

/* Generic crawler markers, looked for case-insensitively after the named rules. */
static const char *const bot_markers[] = {"bot", "crawler", "spider", "slurp"};

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* "<family> <major>" if digits follow the version token, else "<family>". */
static int family_major(const char *ua, const struct ua_rule *r, char *out, size_t outlen)
{
	const char *v = r->version_token ? strstr(ua, r->version_token) : strstr(ua, r->token);
	size_t digits = 0;

	if (v) {
		v += strlen(r->version_token ? r->version_token : r->token);
		digits = strspn(v, "0123456789");
	}
	if (digits == 0 || digits > 5)
		snprintf(out, outlen, "%s", r->family);
	else
		snprintf(out, outlen, "%s %.*s", r->family, (int)digits, v);
	return 0;
}

int privacy_user_agent(const char *ua, char *out, size_t outlen)
{
	if (!out || outlen < PRIVACY_UA_MAX)
		return -EINVAL;
	if (!ua || !ua[0]) {
		snprintf(out, outlen, "other");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ua_rules); i++) {
		const struct ua_rule *r = &ua_rules[i];

		/* Safari without "Version/" is some other WebKit client (an in-app browser). */
		if (strstr(ua, r->token) && (!r->version_token || strstr(ua, r->version_token)))
			return family_major(ua, r, out, outlen);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bot_markers); i++) {
		if (contains_nocase(ua, bot_markers[i])) {
			snprintf(out, outlen, "bot");
			return 0;
		}
	}
	snprintf(out, outlen, "other");
	return 0;
}
