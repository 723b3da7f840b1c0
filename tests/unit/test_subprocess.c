/* Unit tests: running commands (src/util/subprocess.c). */
#include "helpers.h"

#include <signal.h>
#include <stdatomic.h>

#include "util/subprocess.h"

/* A command that exits 0 but leaves a background child holding its output: the result is the
 * command's exit status and what it wrote, not a timeout (issue 9, item 16). */
static void test_subprocess_background_child_does_not_hold_the_result(void **state)
{
	(void)state;
	const char *argv[] = { "sh", "-c", "sleep 29.123 & echo done; echo warn >&2; exit 3", NULL };
	struct proc_spec spec = { .argv = argv, .timeout_ms = 60000 };
	struct proc_result r;
	assert_int_equal(proc_run(&spec, &r), CRATIS_OK);
	assert_int_equal(r.exit_code, 3);
	assert_false(r.timed_out);
	assert_string_equal(r.out.ptr, "done\n");
	assert_string_equal(r.err.ptr, "warn\n");
	proc_result_release(&r);
	assert_int_equal(system("pkill -f '^sleep 29[.]123'"), 0); /* it was left running, as documented */
}

/* Output written just before the exit is all collected. */
static void test_subprocess_collects_everything(void **state)
{
	(void)state;
	const char *argv[] = { "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done", NULL };
	struct proc_spec spec = { .argv = argv };
	struct proc_result r;
	assert_int_equal(proc_run(&spec, &r), CRATIS_OK);
	assert_int_equal(r.exit_code, 0);
	assert_non_null(strstr(r.out.ptr, "line 0\n"));
	assert_non_null(strstr(r.out.ptr, "line 1999\n"));
	proc_result_release(&r);
}

/* Cancel hard once the command says it ignores SIGTERM. */
static int cancel_when_ready(void *payload, int stream, const char *line, size_t len)
{
	(void)stream;
	(void)len;
	if (!strcmp(line, "ready"))
		atomic_store((atomic_int *)payload, SIGINT | CANCEL_HARD);
	return 0;
}

/* A cancelled run: the command gets SIGTERM (exit 143), or SIGKILL at once with CANCEL_HARD. */
static void test_subprocess_cancelled(void **state)
{
	(void)state;
	atomic_int cancel = SIGINT;
	const char *argv[] = { "sleep", "30", NULL };
	struct proc_spec spec = { .argv = argv, .cancel = &cancel, .grace_ms = 5000 };
	struct proc_result r;
	assert_int_equal(proc_run(&spec, &r), CRATIS_OK);
	assert_true(r.cancelled);
	assert_int_equal(r.exit_code, 128 + SIGTERM);
	proc_result_release(&r);
	const char *stubborn[] = { "sh", "-c", "trap '' TERM; echo ready; sleep 30", NULL };
	cancel = 0;
	spec.argv = stubborn;
	spec.grace_ms = 60000; /* CANCEL_HARD does not wait for it */
	spec.on_line = cancel_when_ready;
	spec.payload = &cancel;
	assert_int_equal(proc_run(&spec, &r), CRATIS_OK);
	assert_true(r.cancelled);
	assert_int_equal(r.exit_code, 128 + SIGKILL);
	proc_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subprocess_background_child_does_not_hold_the_result),
		cmocka_unit_test(test_subprocess_collects_everything),
		cmocka_unit_test(test_subprocess_cancelled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
