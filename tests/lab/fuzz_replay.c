/*
 * The replay fuzzer's own logic (tools/fuzz_replay.c, the libFuzzer target
 * built with ASUP_BUILD_FUZZ) run in the normal suite: this file compiles
 * the target in and feeds it a corpus of recordings made from the scenario
 * corpus (every scenario, several seeds, with chaos and injected cancels,
 * under each leak response) and of seeded mutations of them (header fields,
 * step records, lengths, bytes). The target aborts on anything but
 * "rejected with a reason" or "accepted, consistent, and followed to an
 * end"; under ASan every case ends with a leak check, so a replay that
 * diverges or stops early must give back everything it took.
 */
#include "harness.h"

#include "../../tools/fuzz_replay.c"

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif

#ifdef FUZZ_ASAN
#include <sanitizer/lsan_interface.h>
/* Leak detection on in this executable, whatever the environment says. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=1";
}
#endif

/* The leak check at the end of a case (a no-op without ASan). */
static void check_no_leak(void)
{
#ifdef FUZZ_ASAN
	CHECK_EQ(__lsan_do_recoverable_leak_check(), 0);
#endif
}

static int under_valgrind(void)
{
	return getenv("ASUP_UNDER_VALGRIND") != NULL;
}

/* ---- making recordings ------------------------------------------------- */

struct blob {
	uint8_t *p;
	size_t n;
};

static struct blob read_all(const char *path)
{
	struct blob b = {NULL, 0};
	FILE *f = fopen(path, "rb");
	long len;

	CHECK(f != NULL);
	CHECK_EQ(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	CHECK(len > 0);
	rewind(f);
	b.n = (size_t)len;
	b.p = malloc(b.n);
	CHECK(b.p != NULL);
	CHECK_EQ(fread(b.p, 1, b.n, f), b.n);
	fclose(f);
	return b;
}

/* Runs entry e with cfg, saves the run and returns the file's bytes. */
static struct blob record(const asup_corpus_entry *e, const asup_lab_config *cfg)
{
	char path[96];
	asup_lab *lab;
	asup_outcome o;
	struct blob b;

	snprintf(path, sizeof path, "/tmp/asup-fuzz-replay-%d.lab", (int)getpid());
	CHECK_EQ(asup_lab_create(cfg, &lab), 0);
	(void)!asup_lab_run(lab, e->sc.root, e->sc.arg, &o); /* any end: the recording is the point */
	CHECK_EQ(asup_lab_save(lab, path, e->sc.name), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	b = read_all(path);
	unlink(path);
	return b;
}

/* Recordings of every scenario: seeds, chaos and an injected cancel vary
 * with i, and so does the leak response (PANIC included). */
static struct blob *make_corpus(size_t *count)
{
	size_t n;
	const asup_corpus_entry *e = asup_corpus_list(&n);
	size_t per = under_valgrind() ? 1 : 4, k = 0;
	struct blob *all = calloc(n * per, sizeof(*all));

	CHECK(all != NULL);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < per; j++) {
			asup_lab_config cfg;

			asup_corpus_config(&e[i], 1 + j, &cfg);
			if (j & 1)
				cfg.chaos = asup_lab_chaos_heavy();
			if (j == 2)
				cfg.inject_at = 3;
			cfg.leak_response = (asup_leak_response)((i + j) % 4);
			all[k++] = record(&e[i], &cfg);
		}
	}
	*count = k;
	return all;
}

static void free_corpus(struct blob *all, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(all[i].p);
	free(all);
}

/* ---- mutations ----------------------------------------------------------- */

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const names[] = {"cancel_drop", "permit_leak_fixed", "lock_order",
				    "no_such_scenario", ""};

/* One mutation of b into a new exact-size buffer (*n its length). The
 * header fields and step records are targeted, so that most mutants get
 * past the decoder and are followed. */
static uint8_t *mutate(const struct blob *b, uint64_t *s, size_t *n)
{
	uint64_t r = next(s), v = next(s);
	size_t len = b->n, steps = (len - RECF_MIN) / RECF_STEP_BYTES;
	uint8_t *m = malloc(len + RECF_STEP_BYTES);

	CHECK(m != NULL);
	memcpy(m, b->p, len);
	switch (r % 12) {
	case 0: /* the leak response, the stop rule, inject_root, auto_advance */
		recf_put(m, RECF_FLAGS, 4, v & 31);
		break;
	case 1:
		recf_put(m, RECF_SEED, 8, v % 8);
		break;
	case 2:
		recf_put(m, RECF_WORKERS, 4, 1 + v % 4);
		break;
	case 3:
		recf_put(m, RECF_INJECT_AT, 4, v % 40);
		break;
	case 4:
		recf_put(m, RECF_CHAOS + 4 * (v % 5), 4, (v >> 8) % 300000);
		break;
	case 5:
		recf_put(m, RECF_MAX_STEPS, 8, v % 50);
		break;
	case 6:
		memset(m + RECF_NAME, 0, 32);
		memcpy(m + RECF_NAME, names[v % 5], strlen(names[v % 5]));
		break;
	case 7: /* a step's task, lane, worker or check */
		if (steps)
			m[RECF_STEPS + (v % steps) * RECF_STEP_BYTES + (v >> 32) % 16] ^=
			    (uint8_t)(1u << ((v >> 40) % 8));
		break;
	case 8: /* one step fewer (the count follows) */
		if (steps) {
			memmove(m + RECF_STEPS + (steps - 1) * RECF_STEP_BYTES,
				m + RECF_STEPS + steps * RECF_STEP_BYTES, RECF_TRAILER);
			recf_put(m, RECF_NSTEPS, 8, steps - 1);
			len -= RECF_STEP_BYTES;
		}
		break;
	case 9: /* one step more: a copy of the first */
		if (steps) {
			memmove(m + RECF_STEPS + (steps + 1) * RECF_STEP_BYTES,
				m + RECF_STEPS + steps * RECF_STEP_BYTES, RECF_TRAILER);
			memcpy(m + RECF_STEPS + steps * RECF_STEP_BYTES, m + RECF_STEPS,
			       RECF_STEP_BYTES);
			recf_put(m, RECF_NSTEPS, 8, steps + 1);
			len += RECF_STEP_BYTES;
		}
		break;
	case 10: /* any byte */
		m[v % len] ^= (uint8_t)(1u << ((v >> 32) % 8));
		break;
	default: /* cut short */
		len = v % len;
		break;
	}
	*n = len;
	return m;
}

/* Feeds m to the target as libFuzzer would: an exact-size buffer. */
static void feed(const uint8_t *m, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);

	CHECK(copy != NULL);
	memcpy(copy, m, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
}

/* Whether m, with its check fixed, decodes: the target then follows it. */
static int accepted(const uint8_t *m, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	asup_lab_replay *r = NULL;
	int ok;

	CHECK(copy != NULL);
	memcpy(copy, m, n);
	recf_fix_check(copy, n);
	ok = n >= 8 && asup_lab_replay_decode(copy, n, &r, NULL) == 0;
	asup_lab_replay_free(r);
	free(copy);
	return ok;
}

/* ---- cases --------------------------------------------------------------- */

TEST(the_fuzz_target_follows_every_recording_of_the_corpus)
{
	size_t n;
	struct blob *all = make_corpus(&n);

	CHECK(n >= 16);
	for (size_t i = 0; i < n; i++) {
		CHECK(accepted(all[i].p, all[i].n));
		feed(all[i].p, all[i].n);
	}
	free_corpus(all, n);
	check_no_leak();
}

TEST(the_fuzz_target_survives_mutated_recordings_without_leaks)
{
	size_t n, len;
	struct blob *all = make_corpus(&n);
	const char *env = getenv("ASUP_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 20261202u, s = seed;
	int count = under_valgrind() ? 200 : 4000, followed = 0;

	for (int i = 0; i < count; i++) {
		uint8_t *m = mutate(&all[(size_t)i % n], &s, &len);
		followed += accepted(m, len);
		feed(m, len);
		free(m);
	}
	printf("%d mutated recordings (ASUP_SEED=%" PRIu64 "), %d decoded and followed\n",
	       count, seed, followed);
	/* Most mutants must reach the follow, or the test proves little. */
	CHECK(followed > count / 2);
	CHECK(followed < count);
	free_corpus(all, n);
	check_no_leak();
}

TEST(the_fuzz_target_replays_a_panic_leak_response_recording)
{
	/* A leaking run recorded under the panic response: followed, it ends
	 * at the leak with a report; the process goes on. */
	const asup_corpus_entry *e = asup_corpus_find("permit_leak");
	asup_lab_config cfg;
	asup_lab_sweep sw;
	struct blob b;

	CHECK(e != NULL);
	asup_corpus_config(e, 1, &cfg);
	CHECK_EQ(asup_lab_explore(&e->sc, &cfg, 1, e->seeds, 1, &sw), 0);
	CHECK(sw.failures > 0);
	asup_corpus_config(e, sw.first_failing_seed, &cfg);
	cfg.leak_response = ASUP_LEAK_PANIC;
	b = record(e, &cfg);
	CHECK(accepted(b.p, b.n));
	feed(b.p, b.n);
	free(b.p);
	check_no_leak();
}
