/* Deep region trees: every walk of the tree (cancel, close, dump, the
 * invariant check) is iterative, so a 100,000-deep chain of regions is
 * cancelled, closed and dumped from a task on the default 64 KiB stack. */
#include "testrt.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LINK_STACK (32 * 1024) /* instrumented frames are larger */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LINK_STACK (32 * 1024)
#endif
#endif
#ifndef LINK_STACK
#define LINK_STACK (16 * 1024)
#endif

/* Shared with every level: lives in the test's frame, outside every region. */
typedef struct chain {
	int depth;          /* tasks in the chain: depth - 1 links, each with its
	                       region (at tree depths 2 .. depth), then the bottom */
	int levels;         /* tasks spawned so far */
	int bottom_parked;
	int bottom_rc;
	char *dump;
	size_t dump_len;
} chain;

/* Under valgrind each task costs far more, and TSan tracks each fiber like a
 * thread (about 8,000 at most); those trees are still several times deeper
 * than the depth (about 580) at which recursive walks overflowed. */
static int chain_depth(void)
{
#if defined(__SANITIZE_THREAD__)
	return 5000;
#else
	return harness_under_valgrind() ? 10000 : 100000;
#endif
}

static int64_t bottom(asup_cx *cx, void *arg)
{
	chain *c = arg;

	c->bottom_parked = 1;
	c->bottom_rc = asup_park(cx); /* until the cancel reaches it */
	return c->bottom_rc;
}

static int64_t link_task(asup_cx *cx, void *arg);

/* Spawns the next level into the current scope: a link, or at the end the
 * bottom task. */
static void spawn_next(asup_cx *cx, chain *c, asup_task *h)
{
	asup_spawn_opts o;
	int last = ++c->levels == c->depth;

	asup_spawn_opts_init(&o);
	o.stack_size = LINK_STACK;
	o.name = last ? "bottom" : "link";
	CHECK_EQ(asup_spawn(cx, last ? bottom : link_task, c, &o, h), 0);
}

/* The body of one level's region: starts the next level inside it and joins
 * it, so the region stays open (a region whose body returned admits no new
 * child region). */
static int64_t link_body(asup_cx *cx, void *arg)
{
	asup_task h;
	asup_outcome o;

	spawn_next(cx, arg, &h);
	return asup_join(cx, &h, &o); /* -ECANCELED once the cancel comes */
}

static int64_t link_task(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_region(cx, link_body, arg, &o);
	return rc < 0 ? rc : 0;
}

static void wait_for_bottom(asup_cx *cx, chain *c)
{
	asup_task h;

	spawn_next(cx, c, &h);
	CHECK_EQ(asup_task_release(&h), 0);
	while (!c->bottom_parked)
		CHECK_EQ(asup_yield(cx), 0);
	CHECK_EQ(asup_yield(cx), 0); /* the bottom task is parked now */
	CHECK_EQ(c->levels, c->depth);
}

static int64_t top_body(asup_cx *cx, void *arg)
{
	chain *c = arg;
	FILE *f;

	wait_for_bottom(cx, c);
	f = open_memstream(&c->dump, &c->dump_len);
	CHECK(f != NULL);
	CHECK_EQ(asup_cx_dump(cx, f), 0);
	CHECK_EQ(fclose(f), 0);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_USER, "deep"), 0);
	return 0;
}

static int64_t deep_root(asup_cx *cx, void *arg)
{
	asup_outcome o;

	CHECK_EQ(asup_region(cx, top_body, arg, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return 0;
}

/* Lines of text that contain what; one line at a time, so that a sanitizer's
 * strstr (which measures its whole haystack) stays linear. */
static int count_lines_with(char *text, const char *what)
{
	int n = 0;

	for (char *line = text, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			return n + (strstr(line, what) != NULL);
		*end = '\0';
		n += strstr(line, what) != NULL;
		*end = '\n';
	}
	return n;
}

TEST(chain_of_100000_regions_is_cancelled_closed_and_dumped_from_a_default_stack)
{
	asup_rt *rt = test_rt(ASUP_MODE_REAL, 0);
	asup_rt_stats st;
	asup_outcome o;
	chain c;
	char want[96];

	memset(&c, 0, sizeof c);
	c.depth = chain_depth();
	CHECK_EQ(asup_rt_run(rt, deep_root, &c, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(c.bottom_rc, -ECANCELED);
	CHECK_EQ(asup_rt_stats_get(rt, &st), 0);
	CHECK_EQ(st.tasks_live, 0);
	CHECK_EQ(st.tasks_spawned, (uint64_t)c.depth + 1);
	/* The dump: the root region, the top one, then a region per link, each
	 * once, indentation capped and the real depth written out. */
	CHECK(c.dump != NULL);
	snprintf(want, sizeof want, "asupersync dump end: %d regions\n", c.depth + 1);
	CHECK(strstr(c.dump, want) != NULL);
	CHECK_EQ(count_lines_with(c.dump, "'link' parked/running cancel=none waits on join of task T"),
		 c.depth - 1);
	CHECK_EQ(count_lines_with(c.dump, "'bottom' parked/running cancel=none waits on park"), 1);
	snprintf(want, sizeof want, " depth=%d\n", c.depth);
	CHECK(strstr(c.dump, want) != NULL);
	free(c.dump);
	test_rt_done(rt);
}

static int64_t cancel_while_deep(asup_cx *cx, void *arg)
{
	wait_for_bottom(cx, arg);
	CHECK_EQ(asup_scope_cancel(cx, ASUP_CANCEL_SHUTDOWN, NULL), 0);
	return 0;
}

static int64_t cancel_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	CHECK_EQ(asup_region(cx, cancel_while_deep, arg, &o), 0);
	return 0;
}

TEST(deep_chain_left_by_a_deadlock_is_cancelled_from_outside)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome o;
	chain c;

	asup_rt_config_init(&cfg);
	cfg.report = NULL; /* the deadlock below is the point */
	rt = test_rt_cfg(&cfg);
	memset(&c, 0, sizeof c);
	c.depth = chain_depth() / 10;
	CHECK_EQ(asup_rt_run(rt, cancel_root, &c, &o), 0);
	CHECK_EQ(c.bottom_rc, -ECANCELED);
	/* Now with nobody to cancel it: the chain deadlocks (its bottom parks),
	 * stands through the invariant walk, and is cancelled from outside. */
	memset(&c, 0, sizeof c);
	c.depth = chain_depth() / 10;
	CHECK_EQ(asup_rt_run(rt, link_body, &c, &o), -EDEADLK);
	CHECK_EQ(c.levels, c.depth);
	CHECK_EQ(c.bottom_parked, 1);
	CHECK_EQ(asup__rt_check(rt), 0);
	CHECK_EQ(asup_rt_cancel(rt, ASUP_CANCEL_SHUTDOWN, "deep"), 0);
	CHECK_EQ(c.bottom_rc, -ECANCELED);
	test_rt_done(rt);
}
