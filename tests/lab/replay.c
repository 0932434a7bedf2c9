/*
 * Recording and replay: a saved run, followed, matches step for step; a
 * changed program is caught at the first step that differs; chaos and
 * violations replay exactly; misuse and bad files get clear codes.
 */
#include "harness.h"
#include <asupersync.h>

#include "rich.h"

static char path[256];

static void tmp_path(const char *tag)
{
	snprintf(path, sizeof path, "/tmp/asup-replay-%d-%s.lab", (int)getpid(), tag);
}

static asup_lab_config base_cfg(uint64_t seed, uint32_t workers)
{
	asup_lab_config cfg;
	asup_lab_config_init(&cfg);
	cfg.seed = seed;
	cfg.workers = workers;
	cfg.check_every_step = 1;
	return cfg;
}

/* Runs fn recorded, saves it, then follows the file with `fn2`; returns the
 * follow run's rc and its divergence (0/1) in *div, *at. */
static int record_and_follow(asup_lab_config cfg, asup_task_fn fn, asup_task_fn fn2, int *div,
			     uint64_t *at, char *hex1, char *hex2)
{
	asup_lab *lab;
	asup_lab_replay *r;
	asup_lab_config rc_cfg;
	asup_outcome o;
	const char *why = "?";
	int rc;

	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	rc = asup_lab_run(lab, fn, NULL, &o);
	(void)rc;
	CHECK_EQ(asup_lab_save(lab, path, "test"), 0);
	if (hex1)
		asup_lab_digest_hex(lab, hex1);
	asup_lab_destroy(lab);

	CHECK_EQ(asup_lab_replay_load(path, &r, &why), 0);
	CHECK_EQ(strcmp(asup_lab_replay_name(r), "test"), 0);
	CHECK_EQ(asup_lab_replay_config(r, &rc_cfg), 0);
	CHECK_EQ(rc_cfg.seed, cfg.seed);
	CHECK_EQ(rc_cfg.workers, cfg.workers);
	CHECK_EQ(rc_cfg.chaos.delay_ppm, cfg.chaos.delay_ppm);
	CHECK_EQ(rc_cfg.leak_response, cfg.leak_response);
	CHECK_EQ(rc_cfg.stop_on_violation, cfg.stop_on_violation);
	rc_cfg.check_every_step = 1;
	CHECK_EQ(asup_lab_create(&rc_cfg, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), 0);
	rc = asup_lab_run(lab, fn2, NULL, &o);
	*div = asup_lab_divergence(lab, at);
	if (hex2)
		asup_lab_digest_hex(lab, hex2);
	asup_lab_destroy(lab);
	asup_lab_replay_free(r);
	unlink(path);
	return rc;
}

TEST(a_followed_recording_matches_step_for_step)
{
	char h1[33], h2[33];
	uint64_t at = 0;
	int div;

	tmp_path("same");
	for (uint32_t w = 1; w <= 4; w *= 2) {
		CHECK_EQ(record_and_follow(base_cfg(21, w), rich_root, rich_root, &div, &at, h1, h2), 0);
		CHECK_EQ(div, 0);
		CHECK_EQ(strcmp(h1, h2), 0);
	}
}

TEST(chaos_and_injected_cancels_replay_exactly)
{
	asup_lab_config cfg = base_cfg(8, 2);
	char h1[33], h2[33];
	uint64_t at = 0;
	int div;

	tmp_path("chaos");
	cfg.chaos = asup_lab_chaos_heavy();
	cfg.inject_at = 40;
	record_and_follow(cfg, rich_root, rich_root, &div, &at, h1, h2);
	CHECK_EQ(div, 0);
	CHECK_EQ(strcmp(h1, h2), 0);
}

/* ---- a program that changes ------------------------------------------- */

static int changed;   /* the variant records something else at its 5th round */
static uint64_t marker_step;

static int64_t looper(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		if (i == 5)
			asup_trace_user(cx, 77, (uint64_t)changed);
		if (asup_yield(cx) < 0)
			return -1;
	}
	return 0;
}

static int64_t loop_root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	(void)arg;
	if (asup_spawn(cx, looper, NULL, NULL, &a) < 0 || asup_spawn(cx, looper, NULL, NULL, &b) < 0)
		return -1;
	return asup_join2(cx, &a, &b, NULL, NULL);
}

static int64_t loop_root_changed(asup_cx *cx, void *arg)
{
	changed = 1;
	return loop_root(cx, arg);
}

TEST(a_changed_program_diverges_at_the_first_step_that_differs)
{
	asup_lab_config cfg = base_cfg(4, 1);
	asup_lab *lab;
	asup_outcome o;
	asup_event ev[4096];
	size_t n;
	uint64_t at = 0;
	int div, rc;

	/* Where the change takes effect: the step of the first marker. */
	changed = 0;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, loop_root, NULL, &o), 0);
	n = asup_lab_events(lab, ev, 4096);
	marker_step = 0;
	for (size_t i = 0; i < n && !marker_step; i++)
		if (ev[i].type == ASUP_EV_USER && ev[i].a == 77)
			marker_step = ev[i].step; /* events of step k carry k + 1 */
	CHECK(marker_step > 1);
	asup_lab_destroy(lab);

	tmp_path("diverge");
	changed = 0;
	rc = record_and_follow(cfg, loop_root, loop_root_changed, &div, &at, NULL, NULL);
	CHECK_EQ(rc, -ASUP_EDIVERGED);
	CHECK_EQ(div, 1);
	CHECK_EQ(at, marker_step - 1);
}

/* ---- a failing run replays its violation ------------------------------- */

static int64_t leak_permit(asup_cx *cx, void *arg)
{
	asup_permit p;
	return asup_chan_reserve(cx, arg, &p) < 0 ? -1 : 0;
}

static int64_t leak_root(asup_cx *cx, void *arg)
{
	asup_chan *ch;
	asup_task h[3];
	(void)arg;
	if (asup_chan_open(cx, 4, 3, &ch) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (asup_spawn(cx, leak_permit, ch, NULL, &h[i]) < 0)
			return -1;
	return asup_join_all(cx, h, 3, NULL);
}

TEST(a_violation_replays_with_the_same_oracle_step_and_message)
{
	asup_lab_config cfg = base_cfg(13, 2);
	asup_lab_violation v1, v2;
	asup_lab_replay *r;
	asup_lab *lab;
	asup_outcome o;
	uint64_t at;

	tmp_path("violation");
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, leak_root, NULL, &o), -ASUP_EORACLE);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v1), 0);
	CHECK_EQ(asup_lab_save(lab, path, "leak"), 0);
	asup_lab_destroy(lab);
	CHECK_EQ(asup_lab_replay_load(path, &r, NULL), 0);
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), 0);
	CHECK_EQ(asup_lab_run(lab, leak_root, NULL, &o), -ASUP_EORACLE);
	CHECK_EQ(asup_lab_divergence(lab, &at), 0);
	CHECK_EQ(asup_lab_violation_get(lab, 0, &v2), 0);
	CHECK_EQ(strcmp(v1.oracle, v2.oracle), 0);
	CHECK_EQ(strcmp(v1.message, v2.message), 0);
	CHECK_EQ(v1.step, v2.step);
	asup_lab_destroy(lab);
	asup_lab_replay_free(r);
	unlink(path);
}

/* ---- misuse and bad files ----------------------------------------------- */

TEST(replay_misuse_and_bad_files_get_clear_codes)
{
	asup_lab_config cfg = base_cfg(1, 1);
	asup_lab_replay *r = NULL;
	asup_lab *lab;
	asup_outcome o;
	const char *why = NULL;
	unsigned char junk[300];
	FILE *f;

	CHECK_EQ(asup_lab_replay_load("/nonexistent/dir/x.lab", &r, &why), -EIO);
	CHECK(why != NULL);
	CHECK_EQ(asup_lab_replay_load(NULL, &r, &why), -EINVAL);
	CHECK_EQ(asup_lab_replay_decode(NULL, 0, &r, &why), -ASUP_ECORRUPT);
	memset(junk, 0xa5, sizeof junk);
	CHECK_EQ(asup_lab_replay_decode(junk, sizeof junk, &r, &why), -ASUP_ECORRUPT);
	CHECK(why != NULL && strlen(why) > 0);

	/* A recording of a run, then refused uses of it. */
	tmp_path("misuse");
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, loop_root, NULL, &o), 0);
	CHECK_EQ(asup_lab_save(lab, path, "a name longer than thirty-one bytes is cut"), 0);
	CHECK_EQ(asup_lab_follow(lab, (asup_lab_replay *)NULL), -EINVAL);
	CHECK_EQ(asup_lab_save(lab, NULL, "x"), -EINVAL);
	CHECK_EQ(asup_lab_save(lab, "/nonexistent/dir/x.lab", "x"), -EIO);
	CHECK_EQ(asup_lab_replay_load(path, &r, &why), 0);
	CHECK_EQ(strlen(asup_lab_replay_name(r)), 31);
	CHECK_EQ(asup_lab_follow(lab, r), -EALREADY); /* this lab already ran */
	asup_lab_destroy(lab);
	cfg.workers = 3;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), -EINVAL); /* recorded with one worker */
	asup_lab_destroy(lab);
	asup_lab_replay_free(r);

	/* Truncated on disk. */
	f = fopen(path, "r+b");
	CHECK(f != NULL);
	CHECK_EQ(ftruncate(fileno(f), 100), 0);
	fclose(f);
	CHECK_EQ(asup_lab_replay_load(path, &r, &why), -ASUP_ECORRUPT);
	unlink(path);
	asup_lab_replay_free(NULL);
}

/* ---- batch steals -------------------------------------------------------- */

static int64_t burst_yielder(asup_cx *cx, void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		if (asup_yield(cx) < 0)
			return -1;
	return 0;
}

static int64_t burst_root(asup_cx *cx, void *arg)
{
	asup_task hs[16];
	int rc;
	(void)arg;
	for (int i = 0; i < 16; i++)
		if ((rc = asup_spawn(cx, burst_yielder, NULL, NULL, &hs[i])) < 0)
			return rc;
	return asup_join_all(cx, hs, 16, NULL);
}

static void batch_steals_replay(uint64_t seed)
{
	char h1[33], h2[33];
	uint64_t at = 0;
	int div;

	CHECK_EQ(record_and_follow(base_cfg(seed, 2 + seed % 3), burst_root, burst_root, &div, &at,
				   h1, h2),
		 0);
	if (div)
		printf("diverged at step %" PRIu64 "\n", at);
	CHECK_EQ(div, 0);
	CHECK_EQ(strcmp(h1, h2), 0);
}

TEST(recordings_with_batch_steals_replay_exactly)
{
	tmp_path("steal");
	SWEEP(12, batch_steals_replay);
}

static int64_t timer_left_armed(asup_cx *cx, void *arg)
{
	(void)arg;
	return asup_sleep(cx, ASUP_MSEC(5)); /* never wakes: time does not move */
}

TEST(a_run_without_auto_advance_that_ends_on_a_timer_replays_exactly)
{
	asup_lab_config cfg = base_cfg(3, 1);
	uint64_t at = 0;
	int div, rc;

	tmp_path("noadvance");
	cfg.auto_advance = 0;
	rc = record_and_follow(cfg, timer_left_armed, timer_left_armed, &div, &at, NULL, NULL);
	CHECK_EQ(rc, -EDEADLK);
	CHECK_EQ(div, 0);
}

TEST(the_recording_keeps_the_leak_response_and_the_stop_rule)
{
	asup_lab_config cfg = base_cfg(13, 2);
	uint64_t at = 0;
	int div;

	tmp_path("leakcfg");
	cfg.leak_response = ASUP_LEAK_RECOVER;
	cfg.stop_on_violation = 0;
	record_and_follow(cfg, leak_root, leak_root, &div, &at, NULL, NULL);
	CHECK_EQ(div, 0);
}
