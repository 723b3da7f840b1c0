/* Standard Webhooks signatures (github.com/standard-webhooks/standard-webhooks, spec
 * "Signature scheme"): v1,<base64 HMAC-SHA256(key, "<msg_id>.<timestamp>.<body>")>. The HMAC comes
 * from src/secret (its lazily opened libcrypto); base64 (RFC 4648 section 4, padded) is here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/sink.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append the padded base64 of data (n bytes) to b. */
static void b64_encode(struct buf *b, const unsigned char *data, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < n)
			v |= data[i + 2];
		buf_addch(b, b64_alphabet[(v >> 18) & 63]);
		buf_addch(b, b64_alphabet[(v >> 12) & 63]);
		buf_addch(b, i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=');
		buf_addch(b, i + 2 < n ? b64_alphabet[v & 63] : '=');
	}
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;
	return p ? (int)(p - b64_alphabet) : -1;
}

/* Decode base64 text (padding optional) into out (at least strlen(text) bytes); *n the length.
 * Returns 0, or -1 for a character outside the alphabet or a truncated quantum. */
static int b64_decode(const char *text, unsigned char *out, size_t *n)
{
	size_t len = strlen(text);
	while (len && text[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	*n = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(text[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[(*n)++] = (unsigned char)(acc >> bits);
		}
	}
	return 0;
}

/* Overwrite n bytes of key (key material) with zeros, then free it. */
static void free_key(unsigned char *key, size_t n)
{
	volatile unsigned char *p = key;
	for (size_t i = 0; i < n; i++)
		p[i] = 0;
	free(key);
}

int webhook_sign(const char *secret, const char *msg_id, int64_t timestamp_s, const char *body, size_t len,
                 char **out)
{
	*out = NULL;
	if (!secret || !*secret)
		return error_set(CRATIS_EINVAL, "webhook secret: expected a non-empty value");
	if (!msg_id || !*msg_id)
		return error_set(CRATIS_EINVAL, "webhook signature: expected a message id");
	const char *prefix = "whsec_";
	unsigned char *key;
	size_t klen;
	if (strncmp(secret, prefix, strlen(prefix)) == 0) {
		const char *text = secret + strlen(prefix);
		key = xmalloc(strlen(text) + 1);
		if (b64_decode(text, key, &klen) != 0 || klen == 0) {
			free_key(key, strlen(text) + 1);
			/* the message names the form, never the value */
			return error_set(CRATIS_EINVAL, "webhook secret: expected \"whsec_\" followed by base64 "
			                                "(RFC 4648) of at least one byte");
		}
	} else {
		klen = strlen(secret);
		key = xmalloc(klen + 1);
		memcpy(key, secret, klen);
	}
	struct buf msg;
	buf_init(&msg);
	buf_addf(&msg, "%s.%lld.", msg_id, (long long)timestamp_s);
	if (len)
		buf_add(&msg, body, len);
	unsigned char mac[32];
	int rc = secret_hmac_sha256(mac, key, klen, msg.ptr, msg.len);
	free_key(key, klen + 1);
	buf_release(&msg);
	if (rc != CRATIS_OK)
		return error_prefix("webhook signature");
	struct buf sig;
	buf_init(&sig);
	buf_adds(&sig, "v1,");
	b64_encode(&sig, mac, sizeof mac);
	*out = buf_detach(&sig);
	return CRATIS_OK;
}
