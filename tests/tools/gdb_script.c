/* tools/asup-gdb.py: list the tasks of a runtime stopped in gdb and print the
 * backtrace of a parked one. The test binary runs itself under gdb. */
#include "harness.h"
#include <asupersync.h>

#define SCRIPT_REL "/../../tools/asup-gdb.py"

__attribute__((noinline)) void asup_test_breakpoint_here(void)
{
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static int parked_in_helper(asup_cx *cx)
{
	int rc = asup_sleep(cx, ASUP_SEC(3600));
	__asm__ volatile("" ::: "memory");
	return rc;
}

static int64_t sleepy(asup_cx *cx, void *arg)
{
	return parked_in_helper(cx);
}

static int64_t target_root(asup_cx *cx, void *arg)
{
	asup_spawn_opts o;
	asup_task h;
	asup_spawn_opts_init(&o);
	o.name = "sleepy_task";
	if (asup_spawn(cx, sleepy, NULL, &o, &h) < 0)
		return -1;
	(void)!asup_yield(cx); /* let it park */
	asup_test_breakpoint_here();
	(void)!asup_task_abort(&h);
	return asup_join(cx, &h, NULL);
}

/* The program gdb runs: this binary with --gdb-target. */
static void run_target(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome out;
	asup_rt_config_init(&cfg);
	if (asup_rt_create(&cfg, &rt) == 0 && asup_rt_run(rt, target_root, NULL, &out) == 0)
		asup_rt_destroy(rt);
	exit(0);
}

__attribute__((constructor)) static void maybe_target(void)
{
	static char buf[8192];
	FILE *f = fopen("/proc/self/cmdline", "r");
	size_t n;
	if (!f)
		return;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	for (size_t i = 0; i + 1 < n; i++)
		if (buf[i] == 0 && strcmp(buf + i + 1, "--gdb-target") == 0)
			run_target();
}

static int have_gdb(void)
{
	return system("command -v gdb >/dev/null 2>&1") == 0;
}

static char *gdb_output(const char *commands)
{
	char exe[512], cmd[4096], script[1024];
	static char out[65536];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t len = 0;
	FILE *p;

	CHECK(n > 0);
	exe[n] = 0;
	snprintf(script, sizeof script, "%.*s%s", (int)(strrchr(__FILE__, '/') - __FILE__),
		 __FILE__, SCRIPT_REL);
	snprintf(cmd, sizeof cmd,
		 "timeout 120 gdb -nx -batch -ex 'set pagination off' -ex 'source %s' "
		 "-ex 'set environment ASAN_OPTIONS=detect_leaks=0' "
		 "-ex 'break asup_test_breakpoint_here' -ex run %s -ex kill --args %s "
		 "--gdb-target 2>&1",
		 script, commands, exe);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (len < sizeof out - 1 && (n = (ssize_t)fread(out + len, 1, sizeof out - 1 - len, p)) > 0)
		len += (size_t)n;
	out[len] = 0;
	pclose(p);
	return out;
}

/* Ends the case as skipped where it cannot run: no gdb, or under valgrind. */
static void skip_unless_gdb(void)
{
	if (harness_under_valgrind())
		SKIP("gdb cannot attach under valgrind");
	if (!have_gdb())
		SKIP("needs gdb");
}

TEST(gdb_lists_tasks_with_their_state)
{
	char *out;
	skip_unless_gdb();
	out = gdb_output("-ex 'asup tasks'");
	if (!strstr(out, "sleepy_task"))
		fprintf(stderr, "gdb said:\n%s\n", out);
	CHECK(strstr(out, "sleepy_task") != NULL);
	CHECK(strstr(out, "PARKED") != NULL);
	CHECK(strstr(out, "RUNNING") != NULL); /* the root, at the breakpoint */
}

TEST(gdb_prints_backtrace_of_parked_task)
{
	char *out;
	skip_unless_gdb();
	out = gdb_output("-ex 'asup bt sleepy_task' -ex 'bt 1'");
	if (!strstr(out, "parked_in_helper"))
		fprintf(stderr, "gdb said:\n%s\n", out);
	CHECK(strstr(out, "parked_in_helper") != NULL);
	CHECK(strstr(out, "sleepy") != NULL);
	/* and the real registers are back: the current frame is the breakpoint */
	CHECK(strstr(strstr(out, "parked_in_helper"), "asup_test_breakpoint_here") != NULL);
}
