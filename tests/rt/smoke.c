#include "harness.h"
#include <asupersync.h>

static int64_t child(asup_cx *cx, void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++)
		CHECK_EQ(asup_yield(cx), 0);
	return n * 10;
}

static int64_t root(asup_cx *cx, void *arg)
{
	asup_task h[4];
	int ns[4] = {1, 2, 3, 4};
	int64_t sum = 0;
	for (int i = 0; i < 4; i++)
		CHECK_EQ(asup_spawn(cx, child, &ns[i], NULL, &h[i]), 0);
	for (int i = 0; i < 4; i++) {
		asup_outcome o;
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
		CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
		sum += o.value;
	}
	CHECK_EQ(asup_sleep(cx, ASUP_MSEC(1)), 0);
	return sum;
}

TEST(spawn_join_sum)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	asup_rt_config_init(&cfg);
	CHECK_EQ(asup_rt_create(&cfg, &rt), 0);
	CHECK_EQ(asup_rt_run(rt, root, NULL, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 100);
	CHECK_EQ(asup_rt_destroy(rt), 0);
}
