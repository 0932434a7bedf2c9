/*
 * A lab run stopped at its first violation (asupersync/lab.h): it reports
 * that violation and says it stopped, not the tasks, regions, finalizers
 * and obligations the stop itself left unfinished; a run that ends on its
 * own (a deadlock, a step-by-step session checked midway) still gets every
 * end-of-run verdict; finalizer counts include the runtime's own (one per
 * socket) and tell started from finished; and destroying a lab whose run
 * was cut short discards what was left, silently, freeing the runtime's
 * memory (the suite's valgrind configuration checks that) while leaving
 * the program's own malloc'd state to the program.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "corpus.h"

static struct sockaddr_in addr_of(unsigned port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(0x0a000005u);
	return sa;
}

static asup_lab *lab_new(int stop)
{
	asup_lab_config cfg;
	asup_lab *lab;

	asup_lab_config_init(&cfg);
	cfg.seed = 4;
	cfg.check_every_step = 1;
	cfg.stop_on_violation = stop;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	return lab;
}

static int count_of(asup_lab *lab, const char *oracle)
{
	asup_lab_violation v;
	int n = 0;

	for (size_t i = 0; asup_lab_violation_get(lab, i, &v) == 0; i++)
		n += strcmp(v.oracle, oracle) == 0;
	return n;
}

/* ---- a socket left open in a child region ------------------------------ */

/* The child region opens a listener and a connection to it, accepts, and
 * returns closing only the listener and the connection: the accepted
 * socket is left for the region's close (the runtime's finalizer closes
 * it, and the lab reports it). */
static int64_t leaky_body(asup_cx *cx, void *arg)
{
	struct sockaddr_in sa = addr_of(80);
	asup_socket ls, c, a;
	int rc;

	(void)arg;
	if ((rc = asup_tcp_listen(cx, (struct sockaddr *)&sa, sizeof sa, NULL, &ls)) < 0 ||
	    (rc = asup_tcp_connect(cx, (struct sockaddr *)&sa, sizeof sa, &c)) < 0 ||
	    (rc = asup_sock_accept(cx, ls, &a, NULL, NULL)) < 0)
		return rc;
	(void)asup_sock_close(cx, c);
	(void)asup_sock_close(cx, ls);
	return 0;
}

static int64_t leaky_root(asup_cx *cx, void *arg)
{
	asup_outcome o;
	int rc = asup_region(cx, leaky_body, arg, &o);

	return rc < 0 ? rc : o.kind == ASUP_OUTCOME_OK ? 0 : -EIO;
}

TEST(a_run_stopped_at_a_socket_leak_reports_only_the_leak_and_says_it_stopped)
{
	asup_lab *lab = lab_new(1);
	asup_lab_violation v;
	asup_lab_result res;
	asup_outcome o;
	int rc = asup_lab_run(lab, leaky_root, NULL, &o);

	asup_lab_violations_print(lab, stdout);
	CHECK_RC(rc, -ASUP_EORACLE);
	/* Without the rule the root and the finalizer task never completing,
	 * the region never closing and its unstarted finalizers came too. */
	CHECK_EQ(asup_lab_violation_count(lab), 1);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_STR_EQ(v.oracle, "socket_leak");
	CHECK(strstr(v.message, "connection S") != NULL);
	CHECK_EQ(asup_lab_stopped(lab), 1);
	CHECK_EQ(asup_lab_result_get(lab, rc, &o, &res), 0);
	CHECK_EQ(res.stopped, 1);
	CHECK_EQ(res.failed, 1);
	CHECK_EQ(res.violations, 1);
	CHECK_STR_EQ(res.first.oracle, "socket_leak");
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(the_same_run_not_stopped_reports_the_same_leak_and_is_not_stopped)
{
	asup_lab *lab = lab_new(0);
	asup_lab_violation v;
	asup_lab_result res;
	asup_outcome o;
	int rc = asup_lab_run(lab, leaky_root, NULL, &o);

	CHECK_RC(rc, -ASUP_EORACLE);
	CHECK_EQ(asup_lab_violation_count(lab), 1);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_STR_EQ(v.oracle, "socket_leak");
	CHECK_EQ(asup_lab_stopped(lab), 0);
	CHECK_EQ(asup_lab_result_get(lab, rc, &o, &res), 0);
	CHECK_EQ(res.stopped, 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK); /* the run went on to its end */
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

/* The violation's step is the step whose events show the region closing
 * (the trace's numbering), in a stopped run and in one that goes on. */
TEST(a_socket_leak_names_the_step_of_the_close_in_the_trace)
{
	for (int stop = 0; stop < 2; stop++) {
		asup_lab *lab = lab_new(stop);
		asup_lab_violation v;
		asup_outcome o;
		asup_event ev[512];
		size_t n;
		int seen = 0;

		CHECK_RC(asup_lab_run(lab, leaky_root, NULL, &o), -ASUP_EORACLE);
		CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
		n = asup_lab_events(lab, ev, 512);
		CHECK(n < 512);
		for (size_t i = 0; i < n; i++)
			if (ev[i].type == ASUP_EV_FINALIZER_RUN && ev[i].step == v.step)
				seen = 1;
		CHECK(seen);
		CHECK_EQ(asup_lab_destroy(lab), 0);
	}
}

/* ---- an obligation leaked while another task still runs ---------------- */

static int64_t leak_permit(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_permit p;

	(void)arg;
	if (asup_chan_open(cx, 4, 1, &ch) < 0 || asup_chan_reserve(cx, ch, &p) < 0)
		return -1;
	return 0; /* returns holding p: the runtime leaks it */
}

static int64_t spin(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		if (asup_yield(cx) < 0)
			return -ECANCELED;
	return 0;
}

static int64_t permit_root(asup_cx *cx, void *arg)
{
	asup_task a, b;

	(void)arg;
	if (asup_spawn(cx, leak_permit, NULL, NULL, &a) < 0 ||
	    asup_spawn(cx, spin, NULL, NULL, &b) < 0)
		return -1;
	return asup_join2(cx, &a, &b, NULL, NULL);
}

TEST(a_run_stopped_at_an_obligation_leak_reports_no_unfinished_task)
{
	asup_lab *lab = lab_new(1);
	asup_lab_violation v;
	asup_outcome o;

	CHECK_RC(asup_lab_run(lab, permit_root, NULL, &o), -ASUP_EORACLE);
	asup_lab_violations_print(lab, stdout);
	CHECK_EQ(asup_lab_violation_count(lab), 1);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_STR_EQ(v.oracle, "obligation_leak");
	CHECK_EQ(count_of(lab, "task_leak"), 0);
	CHECK_EQ(asup_lab_stopped(lab), 1);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(a_stepped_session_stopped_by_a_violation_checks_no_unfinished_task)
{
	asup_lab *lab = lab_new(1);
	asup_task t;

	CHECK_EQ(asup_lab_spawn(lab, permit_root, NULL, NULL, &t), 0);
	CHECK(asup_lab_run_until_idle(lab) > 0); /* the steps up to the stop */
	CHECK_EQ(asup_lab_stopped(lab), 1);
	CHECK_RC(asup_lab_step(lab), -ASUP_EORACLE);
	CHECK_EQ(asup_lab_check(lab), 1); /* the leak, nothing the stop left */
	CHECK_EQ(count_of(lab, "obligation_leak"), 1);
	asup_task_release(&t);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

/* ---- runs that end on their own keep every end-of-run verdict ---------- */

static int64_t block_forever(asup_cx *cx, void *arg)
{
	asup_chan *ch = arg;
	int v;

	return asup_chan_recv(cx, ch, &v);
}

static int fin_ran;
static void note_fin(void *arg)
{
	(void)arg;
	fin_ran++;
}

/* Holds a permit of one channel and waits on another nobody sends to; its
 * region has a finalizer of the program and a socket (the runtime's). */
static int64_t holder(asup_cx *cx, void *arg)
{
	asup_chan *a, *b;
	asup_permit p;
	int v;

	(void)arg;
	if (asup_chan_open(cx, sizeof(int), 1, &a) < 0 || asup_chan_open(cx, sizeof(int), 1, &b) < 0 ||
	    asup_chan_reserve(cx, a, &p) < 0)
		return -1;
	return asup_chan_recv(cx, b, &v);
}

static int64_t deadlock_body(asup_cx *cx, void *arg)
{
	struct sockaddr_in sa = addr_of(81);
	asup_socket ls;
	asup_task h;

	(void)arg;
	if (asup_tcp_listen(cx, (struct sockaddr *)&sa, sizeof sa, NULL, &ls) < 0 ||
	    asup_defer(cx, note_fin, NULL) < 0 || asup_spawn(cx, holder, NULL, NULL, &h) < 0)
		return -1;
	return asup_join(cx, &h, NULL);
}

static int64_t deadlock_root(asup_cx *cx, void *arg)
{
	asup_outcome o;

	return asup_region(cx, deadlock_body, arg, &o);
}

TEST(a_deadlocked_run_still_reports_its_end_of_run_verdicts)
{
	asup_lab *lab = lab_new(1);
	asup_lab_violation v;
	asup_lab_result res;
	asup_outcome o;
	int rc = asup_lab_run(lab, deadlock_root, NULL, &o);

	asup_lab_violations_print(lab, stdout);
	CHECK_RC(rc, -EDEADLK);
	CHECK_EQ(asup_lab_stopped(lab), 0);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v), 0);
	CHECK_STR_EQ(v.oracle, "deadlock");
	CHECK_EQ(count_of(lab, "task_leak"), 2);        /* the root and the holder */
	CHECK_EQ(count_of(lab, "quiescence"), 1);       /* the body's region */
	CHECK_EQ(count_of(lab, "obligation_leak"), 1);  /* the permit still pending */
	CHECK_EQ(count_of(lab, "finalizer"), 1);
	/* The program registered one finalizer; the listener brought the other. */
	for (size_t i = 0; asup_lab_violation_get(lab, i, &v) == 0; i++)
		if (!strcmp(v.oracle, "finalizer"))
			CHECK(strstr(v.message, "2 of 2 finalizers never finished (2 never started)"));
	CHECK_EQ(asup_lab_result_get(lab, rc, &o, &res), 0);
	CHECK_EQ(res.stopped, 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	CHECK_EQ(fin_ran, 0); /* a region that never closed runs no finalizer */
}

/* The async finalizer runs first (last registered) and blocks forever: one
 * finalizer started and did not finish, the other never started. */
static int64_t fin_block(asup_cx *cx, void *arg)
{
	return block_forever(cx, arg);
}

static int64_t fin_body(asup_cx *cx, void *arg)
{
	asup_chan *ch;

	(void)arg;
	if (asup_chan_open(cx, sizeof(int), 1, &ch) < 0 || asup_defer(cx, note_fin, NULL) < 0 ||
	    asup_defer_async(cx, fin_block, ch) < 0)
		return -1;
	return 0;
}

static int64_t fin_root(asup_cx *cx, void *arg)
{
	asup_outcome o;

	return asup_region(cx, fin_body, arg, &o);
}

TEST(finalizer_verdicts_tell_a_finalizer_started_from_one_finished)
{
	asup_lab *lab = lab_new(1);
	asup_lab_violation v;
	asup_outcome o;
	int found = 0;

	CHECK_RC(asup_lab_run(lab, fin_root, NULL, &o), -EDEADLK);
	asup_lab_violations_print(lab, stdout);
	for (size_t i = 0; asup_lab_violation_get(lab, i, &v) == 0; i++)
		if (!strcmp(v.oracle, "finalizer")) {
			CHECK(strstr(v.message, "2 of 2 finalizers never finished (1 never started)"));
			found++;
		}
	CHECK_EQ(found, 1);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(a_stepped_session_checked_midway_reports_its_unfinished_tasks)
{
	asup_lab *lab = lab_new(1);
	asup_task t;

	CHECK_EQ(asup_lab_spawn(lab, spin, NULL, NULL, &t), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(asup_lab_step(lab), 1);
	CHECK_EQ(asup_lab_stopped(lab), 0);
	CHECK_EQ(asup_lab_check(lab), 1);
	CHECK_EQ(count_of(lab, "task_leak"), 1);
	asup_task_release(&t);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

/* ---- a replay that diverges is cut short too ---------------------------- */

static int64_t spin_root(asup_cx *cx, void *arg)
{
	asup_task a, b;

	if (asup_spawn(cx, spin, NULL, NULL, &a) < 0)
		return -1;
	if (arg && asup_spawn(cx, spin, NULL, NULL, &b) < 0) /* the changed program */
		return -1;
	return asup_join(cx, &a, NULL);
}

TEST(a_diverged_replay_reports_nothing_its_cut_left_unfinished)
{
	char path[64];
	asup_lab *lab = lab_new(1);
	asup_lab_replay *rep;
	asup_outcome o;
	uint64_t at;
	int fd;

	snprintf(path, sizeof path, "/tmp/asup-stop-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(asup_lab_run(lab, spin_root, NULL, &o), 0);
	CHECK_EQ(asup_lab_save(lab, path, "spin"), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	CHECK_EQ(asup_lab_replay_load(path, &rep, NULL), 0);
	unlink(path);
	lab = lab_new(1);
	CHECK_EQ(asup_lab_follow(lab, rep), 0);
	CHECK_RC(asup_lab_run(lab, spin_root, (void *)1, &o), -ASUP_EDIVERGED);
	CHECK_EQ(asup_lab_divergence(lab, &at), 1);
	CHECK(asup_lab_steps(lab) < 100); /* cut well before the spinners ended */
	asup_lab_violations_print(lab, stdout);
	CHECK_EQ(asup_lab_violation_count(lab), 0);
	CHECK_EQ(asup_lab_stopped(lab), 0); /* not a violation's stop */
	CHECK_EQ(asup_lab_destroy(lab), 0);
	asup_lab_replay_free(rep);
}

/* ---- destroying what a stopped run left --------------------------------- */

struct busy {
	int ready;          /* the waiter holds everything and waits */
	int cleanup_ran;    /* C cleanup past the waiter's suspension point */
	char *user_state;   /* the program's own malloc'd state */
};

static int64_t failing(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return -EIO; /* fails, and nobody joins it */
}

static int64_t sleeper(asup_cx *cx, void *arg)
{
	struct busy *b = arg;

	if (asup_sleep(cx, ASUP_SEC(3600)) == 0)
		b->cleanup_ran = 1;
	return 0;
}

/* Everything a runtime can own on a task's behalf, then a wait forever in
 * a region of its own (a child of the root's). */
static int64_t waiter_body(asup_cx *cx, void *arg)
{
	struct busy *b = arg;
	struct sockaddr_in sa = addr_of(90);
	asup_socket ls;
	asup_chan *a, *w;
	asup_permit p;
	asup_rref ref;
	asup_task t;
	int v;

	b->user_state = malloc(64);
	if (!b->user_state || asup_region_alloc(cx, 4096, &ref) < 0 ||
	    asup_tcp_listen(cx, (struct sockaddr *)&sa, sizeof sa, NULL, &ls) < 0 ||
	    asup_chan_open(cx, sizeof(int), 2, &a) < 0 || asup_chan_open(cx, sizeof(int), 1, &w) < 0 ||
	    asup_chan_reserve(cx, a, &p) < 0 || asup_defer(cx, note_fin, NULL) < 0 ||
	    asup_spawn(cx, sleeper, b, NULL, &t) < 0 || asup_spawn(cx, failing, NULL, NULL, &t) < 0)
		return -1;
	b->ready = 1;
	if (asup_chan_recv(cx, w, &v) == 0)
		b->cleanup_ran = 1;
	return 0;
}

static int64_t waiter(asup_cx *cx, void *arg)
{
	asup_outcome o;

	return asup_region(cx, waiter_body, arg, &o);
}

static int64_t busy_root(asup_cx *cx, void *arg)
{
	struct busy *b = arg;
	asup_task t;
	asup_outcome o;

	if (asup_spawn(cx, waiter, b, NULL, &t) < 0)
		return -1;
	while (!b->ready)
		if (asup_yield(cx) < 0)
			return -ECANCELED;
	return asup_region(cx, leaky_body, NULL, &o); /* stops the run */
}

TEST(destroying_a_stopped_run_discards_its_tasks_silently_and_frees_the_runtime)
{
	struct busy b = {0};
	asup_lab *lab = lab_new(1);
	asup_outcome o;
	char buf[256];
	int saved, tmp;
	ssize_t n;

	fin_ran = 0;
	CHECK_RC(asup_lab_run(lab, busy_root, &b, &o), -ASUP_EORACLE);
	asup_lab_violations_print(lab, stdout);
	CHECK_EQ(asup_lab_stopped(lab), 1);
	CHECK_EQ(asup_lab_violation_count(lab), 1);
	CHECK_EQ(b.ready, 1);
	/* Teardown reports nothing: not the listener still open, not the
	 * failed task nobody joined (stderr is caught around the call). */
	fflush(stderr);
	saved = dup(2);
	tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	CHECK(saved >= 0 && tmp >= 0);
	CHECK(dup2(tmp, 2) == 2);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	fflush(stderr);
	CHECK(dup2(saved, 2) == 2);
	close(saved);
	n = pread(tmp, buf, sizeof buf - 1, 0);
	close(tmp);
	CHECK(n >= 0);
	buf[n] = '\0';
	if (n)
		fprintf(stderr, "teardown printed: %s\n", buf);
	CHECK_EQ(n, 0);
	/* Discarded: no cleanup past a suspension point, no finalizer. The
	 * program's malloc'd state is the program's to free. */
	CHECK_EQ(b.cleanup_ran, 0);
	CHECK_EQ(fin_ran, 0);
	CHECK(b.user_state != NULL);
	free(b.user_state);
}

/* ---- the corpus and the CLI --------------------------------------------- */

TEST(a_stopped_corpus_run_says_so_and_keeps_its_first_violation)
{
	const asup_corpus_entry *e = asup_corpus_find("net_reset_leak");
	asup_lab_config cfg;
	asup_lab_result res;
	char cmd[512], line[512];
	FILE *p;
	int said = 0;

	CHECK(e != NULL);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_run_scenario(&e->sc, &cfg, &res), 0);
	CHECK_EQ(res.failed, 1);
	CHECK_EQ(res.stopped, 1);
	CHECK_EQ(res.violations, 1);
	CHECK_STR_EQ(res.first.oracle, e->oracle);
	snprintf(cmd, sizeof cmd, "'%s' run net_reset_leak --seed 1 2>/dev/null", ASUP_LAB_CLI);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (fgets(line, sizeof line, p))
		said += strstr(line, "stopped: at the first violation") != NULL ||
			strstr(line, "violations: 1\n") != NULL;
	CHECK_EQ(WEXITSTATUS(pclose(p)), 1);
	CHECK_EQ(said, 2);
}

/* ---- destroy's bad input ------------------------------------------------- */

static int destroy_rc;
static int64_t destroy_from_inside(asup_cx *cx, void *arg)
{
	destroy_rc = asup_lab_destroy(arg);
	return asup_yield(cx); /* the lab still runs, traced */
}

TEST(destroying_a_lab_from_its_own_task_is_refused_and_changes_nothing)
{
	asup_lab *lab = lab_new(1);
	asup_outcome o;

	CHECK_RC(asup_lab_destroy(NULL), -EINVAL);
	CHECK_EQ(asup_lab_stopped(NULL), 0);
	CHECK_EQ(asup_lab_run(lab, destroy_from_inside, lab, &o), 0);
	CHECK_RC(destroy_rc, -ASUP_ERUNNING);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK(asup_lab_event_count(lab) > 4);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}
