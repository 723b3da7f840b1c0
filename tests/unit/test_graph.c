/* Unit tests: dependency ordering and cycle detection. */
#include "helpers.h"

#include "engine/graph.h"

struct fake_calls fake_calls;

static size_t position(const size_t *order, size_t n, size_t node)
{
	for (size_t i = 0; i < n; i++)
		if (order[i] == node)
			return i;
	fail_msg("node %zu missing from order", node);
	return 0;
}

static void test_graph_orders_dependencies_first(void **state)
{
	(void)state;
	struct graph g;
	graph_init(&g, 5);
	graph_add_edge(&g, 0, 1); /* 0 needs 1 */
	graph_add_edge(&g, 1, 2);
	graph_add_edge(&g, 3, 2);
	graph_add_edge(&g, 0, 3);
	graph_add_edge(&g, 0, 3); /* duplicate ignored */
	assert_int_equal(g.ndeps[0], 2);
	size_t *order, *cycle, nc;
	assert_int_equal(graph_order(&g, &order, &cycle, &nc), 0);
	assert_true(position(order, 5, 2) < position(order, 5, 1));
	assert_true(position(order, 5, 1) < position(order, 5, 0));
	assert_true(position(order, 5, 3) < position(order, 5, 0));
	assert_true(position(order, 5, 2) < position(order, 5, 3));
	/* independent nodes keep index order among themselves */
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 4);
	free(order);
	graph_release(&g);
}

static void test_graph_reports_cycle(void **state)
{
	(void)state;
	struct graph g;
	graph_init(&g, 4);
	graph_add_edge(&g, 0, 1);
	graph_add_edge(&g, 1, 2);
	graph_add_edge(&g, 2, 0);
	graph_add_edge(&g, 3, 0);
	size_t *order, *cycle = NULL, nc = 0;
	assert_int_equal(graph_order(&g, &order, &cycle, &nc), CRATIS_ECYCLE);
	assert_null(order);
	assert_int_equal(nc, 4);
	assert_int_equal(cycle[0], cycle[3]);
	/* consecutive nodes follow edges */
	for (size_t i = 0; i + 1 < nc; i++) {
		bool edge = false;
		for (size_t k = 0; k < g.ndeps[cycle[i]]; k++)
			edge |= g.deps[cycle[i]][k] == cycle[i + 1];
		assert_true(edge);
	}
	free(cycle);
	graph_release(&g);
}

static void test_graph_self_loop(void **state)
{
	(void)state;
	struct graph g;
	graph_init(&g, 1);
	graph_add_edge(&g, 0, 0);
	size_t *order, *cycle = NULL, nc = 0;
	assert_int_equal(graph_order(&g, &order, &cycle, &nc), CRATIS_ECYCLE);
	assert_int_equal(nc, 2);
	free(cycle);
	graph_release(&g);
}

static void test_graph_large_chain(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct graph g;
	graph_init(&g, N);
	for (size_t i = 1; i < N; i++)
		graph_add_edge(&g, i - 1, i);
	size_t *order, *cycle, nc;
	assert_int_equal(graph_order(&g, &order, &cycle, &nc), 0);
	assert_int_equal(order[0], N - 1);
	assert_int_equal(order[N - 1], 0);
	free(order);
	graph_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_graph_orders_dependencies_first),
		cmocka_unit_test(test_graph_reports_cycle),
		cmocka_unit_test(test_graph_self_loop),
		cmocka_unit_test(test_graph_large_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
