/* Built by cmake/InstallTest.cmake against an installed copy of the library:
 * a task that sleeps and returns a value, through the public header only. */
#include <asupersync.h>

#include <stdio.h>

static int64_t nap(asup_cx *cx, void *arg)
{
	int rc = asup_sleep(cx, ASUP_MSEC(1));
	return rc < 0 ? rc : 42;
}

int main(void)
{
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome out;
	int rc;

	asup_rt_config_init(&cfg);
	rc = asup_rt_create(&cfg, &rt);
	if (rc < 0)
		return 1;
	rc = asup_rt_run(rt, nap, NULL, &out);
	if (rc < 0 || out.kind != ASUP_OUTCOME_OK || out.value != 42)
		return 2;
	if (asup_rt_destroy(rt) < 0)
		return 3;
	printf("asupersync from the installed prefix: ok\n");
	return 0;
}
