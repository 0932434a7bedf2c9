/*
 * A worker pool, written only from the public headers.
 *
 * A producer feeds job numbers 1..J into a bounded channel; W workers take
 * jobs from it and "work" on each (a sleep of --work-ms). The whole job runs
 * in one region whose budget carries a deadline: when it passes, every task
 * of the region is cancelled. The first job that fails cancels the region
 * too, so the other workers stop at their next checkpoint instead of
 * finishing their jobs. Nothing is left running when the region returns.
 *
 *   worker_pool [--workers W] [--jobs J] [--work-ms M] [--deadline-ms D]
 *               [--fail-at K] [--virtual]
 *
 * --fail-at K makes job K fail; --virtual runs on the deterministic runtime
 * (virtual time: the sleeps cost nothing and the run is the same every time).
 * Exit status: 0 every job done, 1 a job failed, 2 the deadline passed,
 * 3 bad arguments or a runtime error.
 */
#include <asupersync.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 64

/* State shared by the region's tasks. It lives in main's frame, outside every
 * region, so no cancel can end it while a task still reads it. */
struct pool {
	int workers, jobs, fail_at;
	uint64_t work_ns, deadline_ns;
	asup_chan *queue;           /* opened by the job body, in the job region */
	int done;                   /* jobs finished */
	int64_t sum;                /* sum of the finished jobs' results */
	int first_failed;           /* the first job that failed, 0 if none */
	int per_worker[MAX_WORKERS];
	int ids[MAX_WORKERS];       /* the workers' arguments */
	asup_task handles[MAX_WORKERS + 1];
	int started;                /* handles in use */
};

static struct pool *the_pool;

static int64_t worker(asup_cx *cx, void *arg)
{
	struct pool *p = the_pool;
	int id = *(const int *)arg, job, rc;

	for (;;) {
		rc = asup_chan_recv(cx, p->queue, &job);
		if (rc == -EPIPE)
			return 0; /* closed and drained: all jobs handed out */
		if (rc < 0)
			return rc; /* cancelled: the deadline or another job's failure */
		rc = asup_sleep(cx, p->work_ns);
		if (rc < 0)
			return rc;
		if (job == p->fail_at) {
			/* Tasks take turns on a runtime: no other task runs between
			 * this check and the cancel, so the first failure wins. */
			if (!p->first_failed)
				p->first_failed = job;
			rc = asup_scope_cancel(cx, ASUP_CANCEL_USER, "a job failed");
			return rc < 0 ? rc : -EIO;
		}
		p->done++;
		p->sum += (int64_t)job * job;
		p->per_worker[id]++;
	}
}

static int64_t producer(asup_cx *cx, void *arg)
{
	struct pool *p = the_pool;
	int rc = 0;

	for (int job = 1; job <= p->jobs && rc == 0; job++)
		rc = asup_chan_send(cx, p->queue, &job);
	/* Closing lets the workers see the end once the queue is drained. */
	asup_chan_close(p->queue);
	return rc;
}

/* Joins every started task; the outcomes are read from the pool. */
static int64_t join_all_tasks(asup_cx *cx, void *arg)
{
	struct pool *p = the_pool;
	int64_t rc = 0;
	for (int i = 0; i < p->started; i++) {
		int r = asup_join(cx, &p->handles[i], NULL);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

/* The region's body: opens the queue, starts the tasks, waits for them. */
static int64_t job_body(asup_cx *cx, void *arg)
{
	struct pool *p = the_pool;
	asup_spawn_opts o;
	char name[16];
	int rc, n = 0;
	int64_t rc2;

	rc = asup_chan_open(cx, sizeof(int), 2 * (size_t)p->workers, &p->queue);
	if (rc < 0)
		return rc;
	asup_spawn_opts_init(&o);
	o.name = "producer";
	rc = asup_spawn(cx, producer, NULL, &o, &p->handles[n]);
	if (rc == 0)
		n++;
	for (int i = 0; i < p->workers && rc == 0; i++) {
		p->ids[i] = i;
		snprintf(name, sizeof name, "worker-%d", i);
		o.name = name; /* copied by asup_spawn */
		rc = asup_spawn(cx, worker, &p->ids[i], &o, &p->handles[n]);
		if (rc == 0)
			n++;
	}
	if (rc < 0) /* could not start them all: stop the ones that run */
		(void)!asup_scope_cancel(cx, ASUP_CANCEL_USER, "spawn failed");
	/* The body runs in the region's cancel scope: after the deadline or a
	 * failure its own joins would return -ECANCELED at once. Masked, they
	 * wait until every task has ended (each is being cancelled too), so no
	 * handle is left unjoined. */
	p->started = n;
	rc2 = asup_cx_masked(cx, join_all_tasks, NULL);
	return rc < 0 ? rc : rc2;
}

static int64_t root(asup_cx *cx, void *arg)
{
	struct pool *p = the_pool;
	asup_time start = asup_now(cx), deadline = asup_time_add(start, p->deadline_ns);
	asup_budget b = asup_budget_with_deadline(asup_budget_default(), deadline);
	asup_outcome out;
	int rc;

	rc = asup_region_with_budget(cx, b, job_body, NULL, &out);
	if (rc < 0)
		return rc;
	printf("done %d of %d jobs in %.1f ms (sum %lld); per worker:", p->done, p->jobs,
	       (double)asup_time_since(asup_now(cx), start) / 1e6, (long long)p->sum);
	for (int i = 0; i < p->workers; i++)
		printf(" %d", p->per_worker[i]);
	printf("\n");
	if (p->first_failed) {
		printf("job %d failed: the other workers were cancelled\n", p->first_failed);
		return 1;
	}
	if (p->done < p->jobs) {
		printf("deadline of %.1f ms passed: the job was cancelled\n",
		       (double)p->deadline_ns / 1e6);
		return 2;
	}
	printf("all %d jobs done\n", p->jobs);
	return 0;
}

static int parse(int argc, char **argv, struct pool *p, int *virtual_time)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long v;
		if (strcmp(a, "--virtual") == 0) {
			*virtual_time = 1;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		v = strtol(argv[++i], NULL, 10);
		if (v < 0 || v > 1000000)
			return -1;
		if (strcmp(a, "--workers") == 0 && v >= 1 && v <= MAX_WORKERS)
			p->workers = (int)v;
		else if (strcmp(a, "--jobs") == 0)
			p->jobs = (int)v;
		else if (strcmp(a, "--work-ms") == 0)
			p->work_ns = ASUP_MSEC(v);
		else if (strcmp(a, "--deadline-ms") == 0)
			p->deadline_ns = ASUP_MSEC(v);
		else if (strcmp(a, "--fail-at") == 0)
			p->fail_at = (int)v;
		else
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct pool pool;
	asup_rt_config cfg;
	asup_rt *rt;
	asup_outcome out;
	int rc, virtual_time = 0;

	pool.workers = 4;
	pool.jobs = 20;
	pool.work_ns = ASUP_MSEC(1);
	pool.deadline_ns = ASUP_SEC(10);
	if (parse(argc, argv, &pool, &virtual_time) < 0) {
		fprintf(stderr, "usage: %s [--workers 1..%d] [--jobs J] [--work-ms M] "
				"[--deadline-ms D] [--fail-at K] [--virtual]\n",
			argv[0], MAX_WORKERS);
		return 3;
	}
	the_pool = &pool;
	memset(&out, 0, sizeof out);
	asup_rt_config_init(&cfg);
	if (virtual_time)
		cfg.mode = ASUP_MODE_DETERMINISTIC;
	rc = asup_rt_create(&cfg, &rt);
	if (rc < 0) {
		fprintf(stderr, "worker_pool: %s\n", asup_strerror(rc));
		return 3;
	}
	rc = asup_rt_run(rt, root, NULL, &out);
	if (rc < 0 || out.kind != ASUP_OUTCOME_OK) {
		fprintf(stderr, "worker_pool: %s (root ended %s)\n", asup_strerror(rc),
			asup_outcome_kind_name(out.kind));
		(void)asup_rt_destroy(rt);
		return 3;
	}
	if (asup_rt_destroy(rt) < 0)
		return 3;
	return (int)out.value;
}
