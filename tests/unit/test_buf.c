/* Unit tests: the growable buffer's empty state (util/buf.h). */
#include "helpers.h"

#include <inttypes.h>

struct fake_calls fake_calls;

/* Whether addr lies in a mapping of this process that is readable but not writable
 * (/proc/self/maps: "start-end perms ..."). */
static bool read_only_mapping(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	uintptr_t a = (uintptr_t)addr;
	char line[512];
	bool found = false, ro = false;
	while (!found && fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		char perms[5];
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi, perms) != 3)
			continue;
		if (a >= lo && a < hi) {
			found = true;
			ro = perms[0] == 'r' && perms[1] == '-';
		}
	}
	fclose(f);
	assert_true(found);
	return ro;
}

/* Every empty buffer shares one "", and it sits in read-only memory: a stray write through an
 * empty buffer faults instead of changing what every other empty buffer reads. */
static void test_buf_empty_is_shared_and_read_only(void **state)
{
	(void)state;
	struct buf a = BUF_INIT, b;
	buf_init(&b);
	assert_ptr_equal(a.ptr, buf_empty);
	assert_ptr_equal(b.ptr, buf_empty);
	assert_string_equal(a.ptr, "");
	assert_true(read_only_mapping(buf_empty));
	/* the empty-buffer operations never write through ptr (they would fault) */
	buf_clear(&a);
	buf_add(&a, "x", 0);
	buf_addf(&a, "%s", "");
	assert_int_equal(a.len, 0);
	buf_release(&b);
	assert_ptr_equal(b.ptr, buf_empty);
	char *s = buf_detach(&b);
	assert_string_equal(s, "");
	assert_ptr_not_equal(s, buf_empty);
	free(s);
	/* with memory, the buffer is its own */
	buf_adds(&a, "hi");
	assert_ptr_not_equal(a.ptr, buf_empty);
	a.ptr[0] = 'H';
	assert_string_equal(a.ptr, "Hi");
	buf_clear(&a);
	assert_string_equal(a.ptr, "");
	assert_ptr_not_equal(a.ptr, buf_empty);
	buf_release(&a);
	assert_ptr_equal(a.ptr, buf_empty);
	assert_string_equal(buf_empty, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty_is_shared_and_read_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
