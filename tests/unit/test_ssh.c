/* Unit tests of the SSH transport (plugins/common/ssh.h): quoting for the remote shell, the
 * checks of a System's fields, the ssh command line built from them. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../plugins/common/ssh.h"

static char last_error[1024];

static void fake_error(void *call, const char *field, const char *fmt, ...)
{
	(void)call;
	(void)field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

static void *fake_alloc(size_t n)
{
	return malloc(n);
}

static const struct cratis_host fake_host = {
	.size = offsetof(struct cratis_host, run), /* no run: the tests below never start ssh */
	.alloc = fake_alloc,
	.free = free,
	.error = fake_error,
};

/* What /bin/sh makes of "printf '%s\n' QUOTED": the word back, byte for byte. */
static void test_ssh_quote_survives_the_shell(void **state)
{
	(void)state;
	static const char *const words[] = { "plain", "it's", "a b  c", "$HOME *", "`id`", "\\n\"'\"'", "'", "", "; rm -rf /", NULL };
	for (size_t i = 0; words[i]; i++) {
		struct ssh_str cmd = { 0 };
		ssh_str_add(&cmd, "printf '%s|' ");
		ssh_str_quote(&cmd, words[i]);
		FILE *f = popen(cmd.p, "r");
		assert_non_null(f);
		char out[256] = "";
		size_t n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		assert_int_equal(pclose(f), 0);
		char want[256];
		snprintf(want, sizeof(want), "%s|", words[i]);
		assert_string_equal(out, want);
		free(cmd.p);
	}
}

static void test_ssh_quote_argv_keeps_words(void **state)
{
	(void)state;
	const char *argv[] = { "printf", "<%s>", "a b", "c'd", NULL };
	struct ssh_str cmd = { 0 };
	ssh_str_quote_argv(&cmd, argv);
	FILE *f = popen(cmd.p, "r");
	char out[128] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	assert_string_equal(out, "<a b><c'd>");
	free(cmd.p);
}

static void test_ssh_words_and_keys(void **state)
{
	(void)state;
	assert_true(ssh_word_ok("web1.example.com"));
	assert_true(ssh_word_ok("127.0.0.1"));
	assert_false(ssh_word_ok("-oProxyCommand=touch /tmp/x"));
	assert_false(ssh_word_ok("host;rm"));
	assert_false(ssh_word_ok("a b"));
	assert_false(ssh_word_ok(""));
	assert_true(ssh_key_ok("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz0abcdef"));
	assert_true(ssh_key_ok("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= comment"));
	assert_false(ssh_key_ok("AAAAC3NzaC1lZDI1NTE5AAAAIFz0abcdef"));
	assert_false(ssh_key_ok("ssh-ed25519 not*base64"));
	assert_false(ssh_key_ok("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz0abcdef\nssh-rsa AAAA"));
}

/* ssh_target_open on a System spec: its status; last_error holds the message. */
static int open_spec(struct ssh_target *t, const char *spec)
{
	struct cratis_request req = { .size = sizeof(req), .system = "box", .system_type = "ssh", .system_spec = spec,
	                              .workdir = "/proj" };
	last_error[0] = '\0';
	return ssh_target_open(t, &fake_host, &req);
}

static void test_ssh_target_refuses_bad_systems(void **state)
{
	(void)state;
	struct ssh_target t;
	assert_int_equal(open_spec(&t, "{}"), CRATIS_EINVAL);
	assert_non_null(strstr(last_error, "System/box: spec.host"));
	assert_int_equal(open_spec(&t, "{\"host\":\"h\",\"port\":70000}"), CRATIS_EINVAL);
	assert_non_null(strstr(last_error, "spec.port"));
	assert_int_equal(open_spec(&t, "{\"host\":\"h\",\"knownHosts\":\"k\",\"hostKey\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\"}"), CRATIS_EINVAL);
	assert_non_null(strstr(last_error, "not both"));
	assert_int_equal(open_spec(&t, "{\"host\":\"h\",\"hostKey\":\"hunter2\"}"), CRATIS_EINVAL);
	assert_non_null(strstr(last_error, "spec.hostKey"));
	assert_int_equal(open_spec(&t, "{\"host\":\"h\",\"auth\":{\"identityFile\":{\"fromEnv\":\"KEY\"}}}"), CRATIS_EINVAL);
	assert_non_null(strstr(last_error, "spec.auth.identityFile"));
	assert_int_equal(open_spec(&t, "{\"host\":\"h\",\"jump\":\"-oProxyCommand=x\"}"), CRATIS_EINVAL);
	assert_non_null(strstr(last_error, "spec.jump"));
}

static void test_ssh_target_command_line(void **state)
{
	(void)state;
	struct ssh_target t;
	assert_int_equal(open_spec(&t, "{\"host\":\"web1\",\"port\":2222,\"user\":\"deploy\",\"auth\":{\"identityFile\":{\"fromFile\":\"keys/id\"}},"
	                               "\"hostKey\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz0abcdef\"}"),
	                 CRATIS_OK);
	char **owned;
	const char **argv = ssh_argv(&t, NULL, "true", &owned);
	struct ssh_str all = { 0 };
	for (size_t i = 0; argv[i]; i++) {
		ssh_str_add(&all, argv[i]);
		ssh_str_add(&all, "\n");
	}
	assert_non_null(strstr(all.p, "StrictHostKeyChecking=yes\n"));
	assert_non_null(strstr(all.p, "BatchMode=yes\n"));
	assert_non_null(strstr(all.p, "Port=2222\n"));
	assert_non_null(strstr(all.p, "User=deploy\n"));
	assert_non_null(strstr(all.p, "IdentityFile=/proj/keys/id\n"));
	assert_non_null(strstr(all.p, "IdentityAgent=none\n"));
	assert_non_null(strstr(all.p, "\nweb1\ntrue\n")); /* the host, then the command, last */
	/* the pinned key is the only line of the known_hosts file ssh is given */
	const char *kh = strstr(all.p, "UserKnownHostsFile=");
	assert_non_null(kh);
	char path[256];
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(kh + 19, "\n"), kh + 19);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[512] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "[web1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz0abcdef\n");
	free(all.p);
	ssh_free_owned(argv, owned);
	ssh_target_release(&t);
	ssh_close_all(); /* removes the control directory */
	char dir[256];
	memcpy(dir, path, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	struct stat st;
	assert_int_equal(stat(dir, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_quote_survives_the_shell),
		cmocka_unit_test(test_ssh_quote_argv_keeps_words),
		cmocka_unit_test(test_ssh_words_and_keys),
		cmocka_unit_test(test_ssh_target_refuses_bad_systems),
		cmocka_unit_test(test_ssh_target_command_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
