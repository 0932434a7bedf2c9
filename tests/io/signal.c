/* Signals: watches that tasks wait on (signals sent with kill to the
 * process, from a task or another thread), the restored disposition, bad
 * input, and asup_rt_run_main's graceful shutdown (in process for the first
 * signal; in a child process for the second signal and the grace period,
 * which end the process). */
#include "iotest.h"

#include <asupersync/io.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static int disposition_is_default(int sig)
{
	struct sigaction sa;

	CHECK_EQ(sigaction(sig, NULL, &sa), 0);
	return sa.sa_handler == SIG_DFL;
}

static void *kill_later(void *arg)
{
	struct timespec ts = {0, 20000000};

	nanosleep(&ts, NULL);
	kill(getpid(), *(int *)arg);
	return NULL;
}

static int64_t watch_basic(asup_cx *cx, void *arg)
{
	int sigs[] = {SIGUSR1, SIGUSR2};
	static int usr2 = SIGUSR2;
	asup_sigwatch w;
	pthread_t th;

	(void)arg;
	CHECK_EQ(asup_signal_open(cx, sigs, 2, &w), 0);
	CHECK(!disposition_is_default(SIGUSR1));
	/* Sent before the wait: counted, returned at once. */
	CHECK_EQ(kill(getpid(), SIGUSR1), 0);
	CHECK_EQ(asup_signal_wait(cx, w), SIGUSR1);
	/* Sent by another thread while the task waits in the reactor. */
	CHECK_EQ(pthread_create(&th, NULL, kill_later, &usr2), 0);
	CHECK_EQ(asup_signal_wait(cx, w), SIGUSR2);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(asup_signal_close(cx, w), 0);
	CHECK(disposition_is_default(SIGUSR1));
	CHECK(disposition_is_default(SIGUSR2));
	CHECK_EQ(asup_signal_close(cx, w), -EBADF);
	CHECK_EQ(asup_signal_wait(cx, w), -EBADF);
	return 0;
}

TEST(signal_watch_returns_signals_sent_to_the_process_and_restores_on_close)
{
	io_skip_uring_threads_under_valgrind();
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, watch_basic, NULL), 0);
	test_rt_done(rt);
}

static int64_t timed_wait(asup_cx *cx, void *arg)
{
	return asup_signal_wait(cx, *(asup_sigwatch *)arg);
}

static int64_t watch_bad(asup_cx *cx, void *arg)
{
	int ok[] = {SIGUSR1}, kill9[] = {SIGKILL}, segv[] = {SIGSEGV}, zero[] = {0}, big[] = {99};
	int nine[9] = {SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1};
	asup_sigwatch w, none = {0, NULL};

	(void)arg;
	CHECK_EQ(asup_signal_open(cx, NULL, 1, &w), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, ok, 0, &w), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, ok, 1, NULL), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, kill9, 1, &w), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, segv, 1, &w), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, zero, 1, &w), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, big, 1, &w), -EINVAL);
	CHECK_EQ(asup_signal_open(cx, nine, 9, &w), -EINVAL);
	CHECK_EQ(asup_signal_wait(cx, none), -EBADF);
	/* Nothing was caught by the refused calls. */
	CHECK(disposition_is_default(SIGUSR1));
	/* A wait is a checkpoint: a deadline ends it. */
	CHECK_EQ(asup_signal_open(cx, ok, 1, &w), 0);
	CHECK_EQ(asup_timeout(cx, 2000000, timed_wait, &w), -ETIMEDOUT);
	return asup_signal_close(cx, w);
}

TEST(signal_watch_bad_input_gets_clear_codes)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, watch_bad, NULL), 0);
	test_rt_done(rt);
	CHECK_EQ(asup_signal_wait(NULL, (asup_sigwatch){0, NULL}), -ASUP_ENOTASK);
}

static int64_t open_in_region(asup_cx *cx, void *arg)
{
	int sigs[] = {SIGUSR1};
	return asup_signal_open(cx, sigs, 1, arg);
}

static int64_t no_cap(asup_cx *cx, void *arg)
{
	int sigs[] = {SIGUSR1};
	asup_sigwatch w;

	(void)arg;
	return asup_signal_open(cx, sigs, 1, &w);
}

static int64_t watch_owned(asup_cx *cx, void *arg)
{
	asup_sigwatch w;
	asup_outcome o;

	(void)arg;
	CHECK_EQ(asup_region(cx, open_in_region, &w, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	/* The region closed the watch and gave the signal back. */
	CHECK(disposition_is_default(SIGUSR1));
	CHECK_EQ(asup_signal_wait(cx, w), -ASUP_ECLOSED);
	CHECK_EQ(asup_cx_restricted(cx, asup_cx_caps(cx) & ~(uint32_t)ASUP_CAP_IO, no_cap, NULL),
		 -EPERM);
	return 0;
}

TEST(region_closing_with_a_signal_watch_closes_it_and_eperm_without_io)
{
	asup_rt *rt = io_rt();
	CHECK_EQ(io_run(rt, watch_owned, NULL), 0);
	test_rt_done(rt);
}

/* ---- asup_rt_run_main ---- */

struct app {
	int cleaned;
	int sleep_rc;
	asup_cancel_reason why;
};

static int64_t app_term_once(asup_cx *cx, void *arg)
{
	struct app *a = arg;

	CHECK_EQ(kill(getpid(), SIGTERM), 0);
	a->sleep_rc = asup_sleep(cx, 10ull * 1000000000ull);
	CHECK_EQ(asup_cx_cancel_reason(cx, &a->why), 0);
	a->cleaned = 1;
	return 0;
}

TEST(run_main_cancels_the_app_with_shutdown_on_sigterm_and_lets_it_clean_up)
{
	struct app a;
	asup_outcome o;
	asup_rt *rt = io_rt();

	memset(&a, 0, sizeof(a));
	CHECK_EQ(asup_rt_run_main(rt, app_term_once, &a, 5ull * 1000000000ull, &o), 0);
	CHECK_EQ(a.sleep_rc, -ECANCELED);
	CHECK_EQ(a.cleaned, 1);
	CHECK_EQ(a.why.kind, ASUP_CANCEL_SHUTDOWN);
	CHECK(strstr(a.why.message, "SIGTERM") != NULL);
	/* The app returned a value after its cleanup: that value is the
	 * outcome (the reason was its to see). */
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 0);
	/* SIGTERM is the process's own again. */
	CHECK(disposition_is_default(SIGTERM));
	test_rt_done(rt);
}

static int64_t app_done(asup_cx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return 42;
}

TEST(run_main_without_a_signal_returns_the_apps_outcome)
{
	asup_outcome o;
	asup_rt *rt = io_rt();

	CHECK_EQ(asup_rt_run_main(rt, app_done, NULL, 1000000, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	CHECK_EQ(o.value, 42);
	CHECK(disposition_is_default(SIGINT));
	CHECK_EQ(asup_rt_run_main(NULL, app_done, NULL, 0, &o), -EINVAL);
	CHECK_EQ(asup_rt_run_main(rt, NULL, NULL, 0, &o), -EINVAL);
	test_rt_done(rt);
}

static int64_t stubborn(asup_cx *cx, void *arg)
{
	/* Ignores the cancel: sleeps masked, for far longer than the grace. */
	(void)arg;
	for (int i = 0; i < 1000; i++)
		(void)!asup_sleep(cx, 10000000);
	return 0;
}

static int64_t app_second_signal(asup_cx *cx, void *arg)
{
	(void)arg;
	kill(getpid(), SIGINT);
	(void)!asup_sleep(cx, 10ull * 1000000000ull); /* cancelled by the first */
	kill(getpid(), SIGINT);               /* ends the process at once */
	return asup_cx_masked(cx, stubborn, NULL);
}

static int64_t app_past_grace(asup_cx *cx, void *arg)
{
	(void)arg;
	kill(getpid(), SIGTERM);
	return asup_cx_masked(cx, stubborn, NULL);
}

/* Runs app under run_main in a child process; returns its wait status. */
static int child_status(asup_task_fn app, uint64_t grace)
{
	struct timespec ts = {0, 10000000};
	int status = -1;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		asup_rt *rt = io_rt();
		asup_outcome o;
		asup_rt_run_main(rt, app, NULL, grace, &o);
		_exit(0);
	}
	for (int i = 0; i < 3000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

TEST(run_main_ends_the_process_at_once_on_the_second_signal)
{
	int st = child_status(app_second_signal, 30ull * 1000000000ull);

	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 128 + SIGINT);
}

TEST(run_main_ends_the_process_when_the_grace_period_passes)
{
	int st = child_status(app_past_grace, 50000000);

	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 128 + SIGTERM);
}
