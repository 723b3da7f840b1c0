/* Unit tests: SQLite state store transactions, locks and history. */
#include "helpers.h"

#include <signal.h>
#include <sys/wait.h>

#include "state/store.h"

struct fake_calls fake_calls;

static struct store *open_store(const char *dir)
{
	char *db = xasprintf("%s/state.db", dir);
	struct store *s;
	assert_int_equal(store_open_sqlite(&s, db), 0);
	free(db);
	return s;
}

static void test_store_pending_keeps_recorded_spec(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	struct store *s = open_store(dir);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{\"v\":1}",
	                       .outputs = "{\"o\":1}", .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok" };
	assert_int_equal(store_record(s, "dev", &r, &st, 1), 0);
	struct state_row pend = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .pending_spec = "{\"v\":2}", .deps = "[]" };
	assert_int_equal(store_mark_pending(s, "dev", &pend), 0);
	/* a run killed here: the row is pending with the old spec and the new one beside it */
	store_close(s);
	s = open_store(dir);
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.v[0].status, "pending");
	assert_string_equal(rows.v[0].spec, "{\"v\":1}");
	assert_string_equal(rows.v[0].pending_spec, "{\"v\":2}");
	assert_string_equal(rows.v[0].outputs, "{\"o\":1}");
	store_rows_release(&rows);
	/* a failure keeps the recorded spec and the message */
	struct state_row f = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .pending_spec = "{\"v\":2}",
	                       .deps = "[]", .status = "failed", .message = "boom" };
	assert_int_equal(store_record(s, "dev", &f, &st, 2), 0);
	store_list(s, "dev", &rows);
	assert_string_equal(rows.v[0].status, "failed");
	assert_string_equal(rows.v[0].spec, "{\"v\":1}");
	assert_string_equal(rows.v[0].message, "boom");
	store_rows_release(&rows);
	/* other environments are separate */
	store_list(s, "prod", &rows);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	assert_int_equal(store_remove(s, "dev", "p", "Task/a", &st, 3), 0);
	store_list(s, "dev", &rows);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	store_close(s);
	tmp_cleanup(dir);
}

static void fill(struct lock_info *l, long pid, const char *cmd)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->environment, sizeof(l->environment), "dev");
	snprintf(l->host, sizeof(l->host), "%s", host_name());
	snprintf(l->user, sizeof(l->user), "tester");
	snprintf(l->command, sizeof(l->command), "%s", cmd);
	l->pid = pid;
}

static void test_store_lock_contention_and_stale_takeover(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	struct store *s = open_store(dir);
	/* a live holder: a child process that sleeps */
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	struct lock_info a, b, holder;
	fill(&a, child, "cratis apply (first)");
	assert_int_equal(store_lock(s, &a, 0, &holder), 0);
	fill(&b, getpid(), "cratis apply (second)");
	assert_int_equal(store_lock(s, &b, 300, &holder), CRATIS_ELOCKED);
	assert_int_equal(holder.pid, child);
	assert_string_equal(holder.command, "cratis apply (first)");
	assert_contains(cratis_error_last()->message, "environment 'dev' is locked by tester@");
	assert_contains(cratis_error_last()->message, a.id);
	/* the holder dies without unlocking: the next run takes over */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(store_lock(s, &b, 0, &holder), 0);
	struct lock_info *locks;
	size_t n;
	store_locks(s, &locks, &n);
	assert_int_equal(n, 1);
	assert_string_equal(locks[0].id, b.id);
	free(locks);
	assert_int_equal(store_unlock(s, b.id), 0);
	assert_int_equal(store_unlock(s, b.id), CRATIS_ENOTFOUND);
	store_close(s);
	tmp_cleanup(dir);
}

static void test_store_history_and_steps(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	struct store *s = open_store(dir);
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis apply", .user = "u", .host = "h",
	                        .started = "2026-01-01T00:00:00Z" };
	assert_int_equal(store_deployment_begin(s, &d), 0);
	assert_true(d.id > 0);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok", .started = "s", .finished = "f" };
	store_record(s, "dev", &r, &st, d.id);
	d.finished = "2026-01-01T00:00:01Z";
	d.result = "succeeded";
	d.summary = "1 succeeded";
	assert_int_equal(store_deployment_finish(s, &d), 0);
	struct deployments h;
	store_history(s, "dev", 0, &h);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0].result, "succeeded");
	assert_string_equal(h.v[0].command, "cratis apply");
	store_deployments_release(&h);
	struct steps steps;
	store_steps(s, d.id, &steps);
	assert_int_equal(steps.n, 1);
	assert_string_equal(steps.v[0].resource, "Task/a");
	assert_string_equal(steps.v[0].result, "ok");
	store_steps_release(&steps);
	store_close(s);
	tmp_cleanup(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_pending_keeps_recorded_spec),
		cmocka_unit_test(test_store_lock_contention_and_stale_takeover),
		cmocka_unit_test(test_store_history_and_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
