/* libFuzzer target: the OIDC JWT verification of cratis serve (src/server/jwt.c). An input
 * starting with 'K' is parsed as a JWKS document; otherwise the rest is verified as a bearer JWT
 * against a fixed JWKS (an RSA and an EC P-256 key; tests/fuzz/corpus/jwt holds tokens they sign,
 * made by tests/server/jwt_gen.py with now = 1800000000). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/jwt.h"
#include "util/diag.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"j_JBOudAgNaEBNl3LsxJJZu0BAPSumI7"
	"iUdaj9o3ATRc4Eevb8CwcN2Ob6_Fbz83JNs-YECajjHda9SUnhYPoGRB_R6hQoO3KMcvusybqtkq5MhgTg-Jn3YGC3zy4L9X"
	"zUgdltBQEgiq7CeS3Rtad5lRR7jsAgDr40kSJd5OGwZLHpmYEuQak0JrQyMk8totA3p5spBtyLA5lL0NIN9wcvkNWYMr3Azq"
	"YOiaZlTbG_hxwHldmoDPhDG3yWrmoVri5tLhyR8ZqcIuFVzB9iAIXaalX-kz0v2QO3bJKXR6cfm-OZs1BmvBUXhbQkcWHui1"
	"pCh-xwlIKU7sVc07GJt2tw\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"y5g3t_RS3J53RhHyNW"
	"uG0t4ZvELRebQyL4yMhIJQG60\",\"y\":\"TWfdR-SPNx5peDzRCVEkdTSvMZxJJgvSVdfWOwl9R0Y\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwks *fixed;
	struct diags d = DIAGS_INIT;
	if (!fixed && jwks_parse(&fixed, fixed_jwks, strlen(fixed_jwks), "fixed", &d))
		abort(); /* the fixed keys always parse */
	diags_release(&d);
	if (!size)
		return 0;
	if (data[0] == 'K') {
		struct jwks *k = NULL;
		int rc = jwks_parse(&k, (const char *)data + 1, size - 1, "input", &d);
		if (!rc != (k != NULL) || (!rc && !jwks_count(k)))
			abort(); /* success means keys */
		jwks_free(k);
		diags_release(&d);
	} else {
		char *tok = strndup((const char *)data + 1, size - 1);
		struct jwt_config c = { "https://idp.example", "cratis", NULL, 60 };
		struct jwt_identity id;
		if (!jwt_verify(fixed, &c, tok, 1800000000, &id) && (!id.subject[0] || id.nroles > JWT_MAX_ROLES))
			abort(); /* a verified token names a subject */
		free(tok);
	}
	error_clear();
	return 0;
}
