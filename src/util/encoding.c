/* Hex, base64, UUID text and constant-time comparison. Pure functions. */
#include "util/util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen != 2 * outlen)
		return -EINVAL;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *b64_encode(const uint8_t *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 decoding: length a multiple of 4, padding only at the end, no stray bits. */
int b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
	size_t pad = 0, n = 0;

	if (inlen % 4)
		return -EINVAL;
	if (inlen && in[inlen - 1] == '=')
		pad = (inlen >= 2 && in[inlen - 2] == '=') ? 2 : 1;
	if (inlen / 4 * 3 - pad > outcap)
		return -EINVAL;
	for (size_t i = 0; i < inlen; i += 4) {
		int v[4];
		bool last = i + 4 == inlen;

		for (int k = 0; k < 4; k++) {
			bool padpos = last && k >= 4 - (int)pad;

			v[k] = padpos ? (in[i + k] == '=' ? 0 : -1) : b64val(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];

		if (last && ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))))
			return -EINVAL;
		out[n++] = (uint8_t)(w >> 16);
		if (!(last && pad == 2))
			out[n++] = (uint8_t)(w >> 8);
		if (!(last && pad >= 1))
			out[n++] = (uint8_t)w;
	}
	return (int)n;
}

int uuid_parse(const char *s, uint8_t out[UUID_LEN])
{
	static const int dash[] = { 8, 13, 18, 23 };
	char hex[32];
	size_t k = 0;

	if (strlen(s) != UUID_STR_LEN)
		return -EINVAL;
	for (size_t i = 0, d = 0; i < UUID_STR_LEN; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (s[i] != '-')
				return -EINVAL;
			d++;
			continue;
		}
		hex[k++] = s[i];
	}
	return hex_decode(hex, sizeof(hex), out, UUID_LEN);
}

void uuid_format(const uint8_t in[UUID_LEN], char *out)
{
	char hex[33];

	hex_encode(in, UUID_LEN, hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
}

int uuid_random(uint8_t out[UUID_LEN])
{
	if (RAND_bytes(out, UUID_LEN) != 1)
		return -EIO;
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
	return 0;
}

bool ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
