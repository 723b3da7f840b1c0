/* Unit tests: the Standard Webhooks signature of the webhook sink (src/events/sign.c). */
#include "helpers.h"

#include "events/sink.h"

struct fake_calls fake_calls;

/* The published example vector of the Standard Webhooks reference libraries:
 * github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go, TestWebhookSign
 * (the same secret, message id, timestamp and payload are in the other languages' tests). */
static void test_sign_spec_vector(void **state)
{
	(void)state;
	char *sig = NULL;
	const char *body = "{\"test\": 2432232314}";
	assert_int_equal(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
	                              1614265330, body, strlen(body), &sig),
	                 CRATIS_OK);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	free(sig);
	/* one byte of body, timestamp or id changed: another signature */
	assert_int_equal(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
	                              1614265331, body, strlen(body), &sig),
	                 CRATIS_OK);
	assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	free(sig);
}

/* Without "whsec_" the secret's own bytes are the key (Python: hmac.new(b"s3cret", ...)). */
static void test_sign_raw_secret(void **state)
{
	(void)state;
	char *sig = NULL;
	assert_int_equal(webhook_sign("s3cret", "id-1", 1700000000, "{}", 2, &sig), CRATIS_OK);
	/* base64(HMAC-SHA256(b"s3cret", b"id-1.1700000000.{}")), computed with Python's hmac module */
	assert_string_equal(sig, "v1,laOlY93PgfvXnu0y/Q4W5nm7RnNEJSPyvnczNJlQhiM=");
	free(sig);
	/* an empty body signs "id.ts." */
	assert_int_equal(webhook_sign("s3cret", "id-1", 1700000000, NULL, 0, &sig), CRATIS_OK);
	assert_string_equal(sig, "v1,gSZFpDcDRGR/P9uN+RiiILiN5uzRhjLDp4S1Iu91S0E=");
	free(sig);
}

static void test_sign_bad_secret(void **state)
{
	(void)state;
	char *sig = (char *)"untouched";
	error_clear();
	assert_int_equal(webhook_sign("whsec_not*base64!", "id", 1, "x", 1, &sig), CRATIS_EINVAL);
	assert_null(sig);
	assert_non_null(strstr(cratis_error_last()->message, "whsec_"));
	assert_null(strstr(cratis_error_last()->message, "not*base64"));   /* never the value */
	assert_int_equal(webhook_sign("whsec_", "id", 1, "x", 1, &sig), CRATIS_EINVAL);
	assert_int_equal(webhook_sign("", "id", 1, "x", 1, &sig), CRATIS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_spec_vector),
		cmocka_unit_test(test_sign_raw_secret),
		cmocka_unit_test(test_sign_bad_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
