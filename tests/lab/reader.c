/*
 * The recording reader against hostile input: every truncation, every
 * single-byte change, thousands of seeded multi-byte mutations (bit flips,
 * byte sets, insertions, deletions, duplications), random bytes, a huge
 * step count in a short file, and mutations whose check value was fixed up
 * so that they reach the field validation and, when accepted, a followed
 * run. Every input is decoded from a heap buffer of exactly its length, so
 * ASan and valgrind see any read past its end. A valid recording
 * round-trips: the same bytes, the same steps and config, an identical
 * replay.
 */
#include <sys/stat.h>

#include "harness.h"
#include "lab/recfile.h"
#include "lab/replay.h"

#include <asupersync.h>

/* ---- a small scenario of our own: two workers' worth of choices ---------- */

static int64_t child(asup_cx *cx, void *arg)
{
	uint64_t r;
	int rc;

	(void)arg;
	if ((rc = asup_yield(cx)) < 0 || (rc = asup_sleep(cx, ASUP_MSEC(1))) < 0)
		return rc;
	if ((rc = asup_random_below(cx, 100, &r)) < 0 || (rc = asup_yield(cx)) < 0)
		return rc;
	return (int64_t)r;
}

static int64_t root(asup_cx *cx, void *arg)
{
	asup_task a, b;
	asup_outcome oa, ob;
	int rc;

	(void)arg;
	if ((rc = asup_spawn(cx, child, NULL, NULL, &a)) < 0)
		return rc;
	if ((rc = asup_spawn(cx, child, NULL, NULL, &b)) < 0)
		return rc;
	if ((rc = asup_join2(cx, &a, &b, &oa, &ob)) < 0)
		return rc;
	return oa.kind == ASUP_OUTCOME_OK && ob.kind == ASUP_OUTCOME_OK ? 0 : -1;
}

static void small_config(asup_lab_config *cfg, uint64_t seed)
{
	asup_lab_config_init(cfg);
	cfg->seed = seed;
	cfg->workers = 2;
	cfg->check_every_step = 1;
}

static void tmp_path(char buf[64])
{
	int fd;

	snprintf(buf, 64, "/tmp/asup-reader-XXXXXX");
	fd = mkstemp(buf);
	CHECK(fd >= 0);
	close(fd);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	CHECK(f != NULL);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	CHECK(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	CHECK(buf != NULL);
	CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A recording of the small scenario under cfg, as bytes (malloc'd). */
static uint8_t *record_cfg(const asup_lab_config *cfg, size_t *len, uint64_t *steps)
{
	asup_lab *lab;
	asup_outcome out;
	char path[64];
	uint8_t *buf;

	CHECK_EQ(asup_lab_create(cfg, &lab), 0);
	(void)!asup_lab_run(lab, root, NULL, &out); /* any end: the recording is the point */
	if (steps)
		*steps = asup_lab_steps(lab);
	tmp_path(path);
	CHECK_EQ(asup_lab_save(lab, path, "reader_small"), 0);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	buf = read_all(path, len);
	unlink(path);
	return buf;
}

/* The same for a plain run at seed, which must pass. */
static uint8_t *make_recording(uint64_t seed, size_t *len, uint64_t *steps)
{
	asup_lab_config cfg;
	asup_lab_result res;
	asup_lab_scenario sc = {"reader_small", "", root, NULL};

	small_config(&cfg, seed);
	CHECK_EQ(asup_lab_run_scenario(&sc, &cfg, &res), 0);
	CHECK(!res.failed);
	return record_cfg(&cfg, len, steps);
}

/* Decodes a copy of p[0..len) in a buffer of exactly len bytes. Returns the
 * decoder's code; an accepted replay is freed (or handed out in *keep). */
static int decode_exact(const uint8_t *p, size_t len, const char **why, asup_lab_replay **keep)
{
	uint8_t *copy = malloc(len ? len : 1);
	asup_lab_replay *r = NULL;
	const char *w = NULL;
	int rc;

	CHECK(copy != NULL);
	if (len)
		memcpy(copy, p, len);
	rc = asup_lab_replay_decode(len ? copy : NULL, len, &r, &w);
	free(copy);
	if (rc < 0) {
		CHECK(r == NULL); /* nothing handed out on failure */
		CHECK(w != NULL); /* and it says why */
		CHECK(w[0] != '\0');
	} else {
		CHECK(r != NULL);
		CHECK(w == NULL);
	}
	if (why)
		*why = w;
	if (keep)
		*keep = r;
	else
		asup_lab_replay_free(r);
	return rc;
}

static void *heap_alloc(void *ud, size_t n)
{
	(void)ud;
	return malloc(n);
}

static void heap_free(void *ud, void *p, size_t n)
{
	(void)ud;
	(void)n;
	free(p);
}

static const asup__alloc heap = {heap_alloc, heap_free, NULL};

/* ---- a valid recording -------------------------------------------------- */

/* Every recorded config field comes back as it was saved. */
static void check_config_roundtrip(const asup_lab_config *want, const asup_lab_replay *r)
{
	asup_lab_config got;

	CHECK_EQ(asup_lab_replay_config(r, &got), 0);
	CHECK(got.seed == want->seed);
	CHECK_EQ(got.workers, want->workers);
	CHECK(got.max_steps == want->max_steps);
	CHECK(got.futurelock_steps == want->futurelock_steps);
	CHECK_EQ(got.auto_advance, want->auto_advance);
	CHECK_EQ(got.inject_at, want->inject_at);
	CHECK_EQ(got.inject_root, want->inject_root);
	CHECK_EQ(got.inject_kind, want->inject_kind);
	CHECK_EQ(got.stop_on_violation, want->stop_on_violation);
	CHECK_EQ(got.leak_response, want->leak_response);
	CHECK(memcmp(&got.chaos, &want->chaos, sizeof got.chaos) == 0);
}

/* Decoding then encoding gives back every byte: the same steps, the same
 * final digest. */
static void check_bytes_roundtrip(const uint8_t *buf, size_t len, uint64_t steps, uint32_t workers)
{
	asup__recording rec;
	const char *why;
	uint8_t *again;
	size_t len2;

	asup__rec_init(&rec, &heap);
	CHECK_EQ(asup__rec_decode(&rec, buf, len, &why), 0);
	CHECK_EQ(rec.n, steps);
	for (uint64_t i = 0; i < rec.n; i++) {
		CHECK(rec.steps[i].lane >= 1 && rec.steps[i].lane <= 4);
		CHECK(rec.steps[i].worker < workers);
	}
	CHECK_EQ(asup__rec_encode(&rec, &again, &len2), 0);
	CHECK_EQ(len2, len);
	CHECK(memcmp(again, buf, len) == 0);
	asup__free_mem(&heap, again, len2);
	asup__rec_destroy(&rec);
}

TEST(reader_roundtrip)
{
	asup_lab_config want;
	asup_lab_replay *r;
	const char *why;
	char path[64];
	uint8_t *buf;
	size_t len;
	uint64_t steps, at = 99;
	asup_lab *lab;
	asup_outcome out;

	buf = make_recording(7, &len, &steps);
	CHECK(steps > 4);
	CHECK_EQ(len, RECF_MIN + steps * RECF_STEP_BYTES);
	/* This file's copy of the check value agrees with the library's. */
	CHECK(recf_get(buf, len - 8, 8) == recf_check_of(buf, len - 8));
	CHECK_EQ(recf_get(buf, RECF_NSTEPS, 8), steps);
	tmp_path(path);
	{
		FILE *f = fopen(path, "wb");
		CHECK(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
	}
	CHECK_EQ(asup_lab_replay_load(path, &r, &why), 0);
	unlink(path);
	CHECK_STR_EQ(asup_lab_replay_name(r), "reader_small");
	CHECK_EQ(asup_lab_replay_steps(r), steps);
	small_config(&want, 7);
	check_config_roundtrip(&want, r);
	check_bytes_roundtrip(buf, len, steps, 2);

	/* And the run it holds replays identically. */
	CHECK_EQ(asup_lab_replay_config(r, &want), 0);
	CHECK_EQ(asup_lab_create(&want, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), 0);
	CHECK_EQ(asup_lab_run(lab, root, NULL, &out), 0);
	CHECK_EQ(asup_lab_divergence(lab, &at), 0);
	CHECK_EQ(asup_lab_steps(lab), steps);
	CHECK_EQ(asup_lab_destroy(lab), 0);
	asup_lab_replay_free(r);
	free(buf);
}

TEST(reader_roundtrip_every_field)
{
	asup_lab_config cfg;
	asup_lab_replay *r;
	uint8_t *buf;
	size_t len;
	uint64_t steps;

	/* A config where every recorded field differs from its default. */
	small_config(&cfg, 0xfeedfacecafebeefull);
	cfg.workers = 3;
	cfg.max_steps = 5000;
	cfg.futurelock_steps = 777;
	cfg.chaos = asup_lab_chaos_light();
	cfg.inject_at = 3;
	cfg.inject_kind = ASUP_CANCEL_TIMEOUT;
	cfg.inject_root = 1;
	cfg.auto_advance = 0;
	cfg.stop_on_violation = 0;
	cfg.leak_response = ASUP_LEAK_RECOVER;
	buf = record_cfg(&cfg, &len, &steps);
	CHECK_EQ(decode_exact(buf, len, NULL, &r), 0);
	CHECK_EQ(asup_lab_replay_steps(r), steps);
	check_config_roundtrip(&cfg, r);
	check_bytes_roundtrip(buf, len, steps, 3);
	asup_lab_replay_free(r);
	free(buf);
}

/* ---- truncations and single-byte changes -------------------------------- */

TEST(reader_every_truncation)
{
	size_t len;
	uint8_t *buf = make_recording(3, &len, NULL);

	for (size_t n = 0; n < len; n++) {
		int rc = decode_exact(buf, n, NULL, NULL);
		if (rc != -ASUP_ECORRUPT)
			fprintf(stderr, "prefix of %zu bytes (of %zu): rc %d\n", n, len, rc);
		CHECK_EQ(rc, -ASUP_ECORRUPT);
	}
	CHECK_EQ(decode_exact(buf, len, NULL, NULL), 0);
	free(buf);
}

TEST(reader_every_byte_change)
{
	size_t len;
	uint8_t *buf = make_recording(3, &len, NULL);
	uint64_t tried = 0;

	/* A change of one byte anywhere changes the check (each byte enters
	 * the hash through a bijection), so every one of them is rejected. */
	for (size_t i = 0; i < len; i++) {
		uint8_t orig = buf[i];
		for (int v = 0; v < 256; v++) {
			int rc;
			if (v == orig)
				continue;
			buf[i] = (uint8_t)v;
			rc = decode_exact(buf, len, NULL, NULL);
			if (rc != -ASUP_ECORRUPT)
				fprintf(stderr, "byte %zu set to 0x%02x: rc %d\n", i, v, rc);
			CHECK_EQ(rc, -ASUP_ECORRUPT);
			tried++;
		}
		buf[i] = orig;
	}
	CHECK_EQ(tried, len * 255);
	CHECK_EQ(decode_exact(buf, len, NULL, NULL), 0);
	free(buf);
}

/* ---- seeded mutations ---------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define MAX_EDITS 4
#define MAX_GROW  24

/* 1..MAX_EDITS random edits of a copy of p: bit flips, byte sets (often to
 * boundary values), insertions, deletions and duplications of a range.
 * Returns the copy (malloc'd, exactly *n bytes). */
static uint8_t *mutate(const uint8_t *p, size_t len, uint64_t *s, size_t *n)
{
	static const uint8_t edge[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x40, 0x41};
	size_t cap = len + MAX_EDITS * MAX_GROW, m = len;
	uint8_t *b = malloc(cap), *out;
	int edits = 1 + (int)(rnd(s) % MAX_EDITS);

	CHECK(b != NULL);
	memcpy(b, p, len);
	for (int e = 0; e < edits; e++) {
		size_t i = m ? (size_t)(rnd(s) % m) : 0, k;
		switch (rnd(s) % 5) {
		case 0: /* bit flip */
			if (m)
				b[i] ^= (uint8_t)(1u << (rnd(s) % 8));
			break;
		case 1: /* byte set */
			if (m)
				b[i] = rnd(s) & 1 ? edge[rnd(s) % sizeof edge] : (uint8_t)rnd(s);
			break;
		case 2: /* insertion of 1..8 random bytes */
			k = 1 + (size_t)(rnd(s) % 8);
			memmove(b + i + k, b + i, m - i);
			for (size_t j = 0; j < k; j++)
				b[i + j] = (uint8_t)rnd(s);
			m += k;
			break;
		case 3: /* deletion of 1..8 bytes */
			if (!m)
				break;
			k = 1 + (size_t)(rnd(s) % 8);
			k = k > m - i ? m - i : k;
			memmove(b + i, b + i + k, m - i - k);
			m -= k;
			break;
		default: /* duplication of a range (up to one step record) */
			if (!m)
				break;
			k = 1 + (size_t)(rnd(s) % MAX_GROW);
			k = k > m - i ? m - i : k;
			{
				size_t at = (size_t)(rnd(s) % (m + 1));
				uint8_t tmp[MAX_GROW];
				memcpy(tmp, b + i, k);
				memmove(b + at + k, b + at, m - at);
				memcpy(b + at, tmp, k);
				m += k;
			}
			break;
		}
	}
	out = malloc(m ? m : 1);
	CHECK(out != NULL);
	memcpy(out, b, m);
	free(b);
	*n = m;
	return out;
}

static uint64_t test_seed(void)
{
	const char *e = getenv("ASUP_SEED");
	return e ? strtoull(e, NULL, 10) : 20240601u;
}

TEST(reader_seeded_mutations)
{
	size_t len, n;
	uint8_t *buf = make_recording(5, &len, NULL);
	uint64_t seed = test_seed(), s = seed, same = 0;
	const int count = 20000;

	for (int i = 0; i < count; i++) {
		uint8_t *m = mutate(buf, len, &s, &n);
		int rc = decode_exact(m, n, NULL, NULL);
		if (n == len && memcmp(m, buf, len) == 0) { /* the edits cancelled out */
			CHECK_EQ(rc, 0);
			same++;
		} else if (rc != -ASUP_ECORRUPT) {
			fprintf(stderr, "mutation %d (ASUP_SEED=%" PRIu64 "): rc %d\n", i,
			        seed, rc);
			CHECK_EQ(rc, -ASUP_ECORRUPT);
		}
		free(m);
	}
	CHECK(same < (uint64_t)count / 100);
	free(buf);
}

/* Follows an accepted (crafted) recording with the small scenario: any end
 * but a crash will do; an unchanged step list must replay identically. */
static void follow_crafted(const asup_lab_replay *r)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome out;
	uint64_t at;
	int rc;

	CHECK_EQ(asup_lab_replay_config(r, &cfg), 0);
	cfg.check_every_step = 1;
	if (cfg.max_steps > 1000)
		cfg.max_steps = 1000;
	if (asup_lab_config_check(&cfg, NULL) < 0)
		return; /* a header the lab refuses: nothing to follow */
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), 0);
	rc = asup_lab_run(lab, root, NULL, &out);
	CHECK(rc <= 0);
	rc = asup_lab_divergence(lab, &at);
	CHECK(rc == 0 || rc == 1);
	CHECK_EQ(asup_lab_destroy(lab), 0);
}

TEST(reader_mutations_past_the_check)
{
	size_t len, n;
	uint8_t *buf = make_recording(5, &len, NULL);
	uint64_t seed = test_seed() ^ 0x5eed, s = seed, accepted = 0, followed = 0;
	const uint64_t follow_max = harness_under_valgrind() ? 40 : 300;

	/* With the check fixed up, the decoder's own validation is what stands:
	 * a mutant is rejected as corrupt, or accepted with every field in
	 * range (and then a followed run must not crash either). */
	for (int i = 0; i < 20000; i++) {
		uint8_t *m = mutate(buf, len, &s, &n);
		asup_lab_replay *r = NULL;
		int rc;

		recf_fix_check(m, n);
		rc = decode_exact(m, n, NULL, &r);
		if (rc != 0 && rc != -ASUP_ECORRUPT) {
			fprintf(stderr, "mutation %d (ASUP_SEED=%" PRIu64 "): rc %d\n", i,
			        test_seed(), rc);
			CHECK_EQ(rc, -ASUP_ECORRUPT);
		}
		if (rc == 0) {
			asup_lab_config cfg;
			accepted++;
			CHECK_EQ(n, RECF_MIN + asup_lab_replay_steps(r) * RECF_STEP_BYTES);
			CHECK(strlen(asup_lab_replay_name(r)) < 32);
			CHECK_EQ(asup_lab_replay_config(r, &cfg), 0);
			CHECK(cfg.workers >= 1 && cfg.workers <= 64);
			if (followed < follow_max && (accepted % 4) == 0) {
				follow_crafted(r);
				followed++;
			}
			asup_lab_replay_free(r);
		}
		free(m);
	}

	/* Edits inside fields that only carry values (seed, digests) pass. */
	CHECK(accepted > 100);
	CHECK(followed > 10);
	free(buf);
}

/* ---- the decoder's field checks, one at a time --------------------------- */

struct edit {
	const char *what;
	size_t off;
	int bytes;
	uint64_t value;
	const char *why; /* a word the reason must contain; NULL: accepted */
};

TEST(reader_field_validation)
{
	size_t len;
	uint8_t *buf = make_recording(9, &len, NULL);
	const size_t s0 = RECF_STEPS; /* the first step record */
	const struct edit edits[] = {
	    {"magic", 7, 1, 'X', "magic"},
	    {"version", RECF_VERSION, 4, 2, "version"},
	    {"header size", RECF_HDR_BYTES, 4, 109, "header size"},
	    {"no workers", RECF_WORKERS, 4, 0, "worker"},
	    {"65 workers", RECF_WORKERS, 4, 65, "worker"},
	    {"unknown flag", RECF_FLAGS, 4, 32, "flags"},
	    {"cancel ppm", RECF_CHAOS, 4, 1000001, "chaos"},
	    {"budget ppm", RECF_CHAOS + 16, 4, 0xffffffffu, "chaos"},
	    {"cancel kind", RECF_INJECT_KIND, 4, ASUP_CANCEL_KIND_COUNT, "cancel kind"},
	    {"storm of 0 tasks", RECF_CHAOS + 8, 4, 1000, "storm size"},
	    {"lane 0", s0 + 8, 1, 0, "step"},
	    {"lane 5", s0 + 8, 1, 5, "step"},
	    {"worker 2 of 2", s0 + 9, 1, 2, "step"},
	    {"reserved bytes", s0 + 12, 4, 1, "step"},
	    {"check value over 32 bits", s0 + 20, 4, 1, "step check"},
	    {"one step more", RECF_NSTEPS, 8, 0, NULL /* set below */},
	    /* values the format allows */
	    {"inject_root", RECF_FLAGS, 4, 3, NULL},
	    {"every flag", RECF_FLAGS, 4, 31, NULL},
	    {"64 workers", RECF_WORKERS, 4, 64, NULL},
	    {"cancel ppm max", RECF_CHAOS, 4, 1000000, NULL},
	    {"another seed", RECF_SEED, 8, 0xdeadbeefull, NULL},
	    {"last cancel kind", RECF_INJECT_KIND, 4, ASUP_CANCEL_KIND_COUNT - 1, NULL},
	};

	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		const struct edit *e = &edits[i];
		uint8_t *m = malloc(len);
		const char *why;
		const char *want = e->why;
		int rc;

		memcpy(m, buf, len);
		recf_put(m, e->off, e->bytes, e->value);
		if (e->off == RECF_NSTEPS) {
			recf_put(m, e->off, 8, recf_get(buf, RECF_NSTEPS, 8) + 1);
			want = "length";
		}
		recf_fix_check(m, len);
		rc = decode_exact(m, len, &why, NULL);
		if (want ? rc != -ASUP_ECORRUPT || !strstr(why, want) : rc != 0)
			fprintf(stderr, "%s: rc %d (%s)\n", e->what, rc, why ? why : "accepted");
		CHECK_EQ(rc, want ? -ASUP_ECORRUPT : 0);
		if (want)
			CHECK(strstr(why, want) != NULL);
		free(m);
	}

	/* Storms need a size in 1 .. 1000000, as the lab's config check says. */
	{
		const uint32_t sizes[] = {0, 1, 1000000, 1000001};
		for (size_t i = 0; i < 4; i++) {
			uint8_t *m = malloc(len);
			memcpy(m, buf, len);
			recf_put(m, RECF_CHAOS + 8, 4, 20000);
			recf_put(m, RECF_CHAOS + 12, 4, sizes[i]);
			recf_fix_check(m, len);
			CHECK_EQ(decode_exact(m, len, NULL, NULL),
			         sizes[i] == 1 || sizes[i] == 1000000 ? 0 : -ASUP_ECORRUPT);
			free(m);
		}
	}

	/* A name that fills all 32 bytes has no terminator. */
	{
		uint8_t *m = malloc(len);
		const char *why;
		memcpy(m, buf, len);
		memset(m + RECF_NAME, 'x', 32);
		recf_fix_check(m, len);
		CHECK_EQ(decode_exact(m, len, &why, NULL), -ASUP_ECORRUPT);
		CHECK(strstr(why, "name") != NULL);
		free(m);
	}
	free(buf);
}

/* A header claiming more steps than the file holds, from just past the
 * real count to the largest u64: rejected on the length, before any
 * allocation sized by the count. */
TEST(reader_huge_step_count)
{
	size_t len;
	uint64_t steps;
	uint8_t *buf = make_recording(11, &len, &steps);
	const uint64_t counts[] = {
	    steps + 1,  steps * 2,  1ull << 32,      (SIZE_MAX / 24) + 1, 1ull << 60,
	    1ull << 63, UINT64_MAX, UINT64_MAX / 24, UINT64_MAX / 24 + 1,
	};

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		const char *why;
		recf_put(buf, RECF_NSTEPS, 8, counts[i]);
		recf_fix_check(buf, len);
		CHECK_EQ(decode_exact(buf, len, &why, NULL), -ASUP_ECORRUPT);
		CHECK(strstr(why, "length") != NULL);
		/* The same header alone: a file with no room for any step. */
		recf_fix_check(buf, RECF_MIN);
		CHECK_EQ(decode_exact(buf, RECF_MIN, &why, NULL), -ASUP_ECORRUPT);
	}
	/* Zero steps in a file that still holds them: the length is wrong. */
	recf_put(buf, RECF_NSTEPS, 8, 0);
	recf_fix_check(buf, len);
	CHECK_EQ(decode_exact(buf, len, NULL, NULL), -ASUP_ECORRUPT);
	/* Zero steps in the smallest file: a valid (empty) recording. */
	{
		uint8_t *m = malloc(RECF_MIN);
		asup_lab_replay *r;
		memcpy(m, buf, RECF_STEPS);
		memcpy(m + RECF_STEPS, buf + len - RECF_TRAILER, RECF_TRAILER);
		recf_fix_check(m, RECF_MIN);
		CHECK_EQ(decode_exact(m, RECF_MIN, NULL, &r), 0);
		CHECK_EQ(asup_lab_replay_steps(r), 0);
		asup_lab_replay_free(r);
		free(m);
	}
	free(buf);
}

TEST(reader_random_bytes)
{
	uint64_t s = test_seed() ^ 0xb17e5;
	size_t len;
	uint8_t *valid = make_recording(13, &len, NULL);

	for (int i = 0; i < 4000; i++) {
		size_t n = (size_t)(rnd(&s) % 1200);
		uint8_t *m = malloc(n ? n : 1);
		for (size_t j = 0; j < n; j++)
			m[j] = (uint8_t)rnd(&s);
		/* Half keep the magic, version and header size, and a fixed
		 * check, so the bytes reach the field checks. */
		if ((i & 1) && n >= 16) {
			memcpy(m, valid, 16);
			recf_fix_check(m, n);
		}
		CHECK_EQ(decode_exact(m, n, NULL, NULL), -ASUP_ECORRUPT);
		free(m);
	}
	free(valid);
}

/* ---- files and arguments ------------------------------------------------- */

TEST(reader_files_and_arguments)
{
	asup_lab_replay *r = NULL;
	const char *why = "unset";
	char path[64];
	uint8_t byte = 0;

	/* An empty file is a truncated recording. */
	tmp_path(path);
	CHECK_EQ(asup_lab_replay_load(path, &r, &why), -ASUP_ECORRUPT);
	CHECK(r == NULL && why != NULL);
	unlink(path);
	/* A path that does not exist, and a directory. */
	why = NULL;
	CHECK_EQ(asup_lab_replay_load("/nonexistent/dir/run.lab", &r, &why), -EIO);
	CHECK(r == NULL && why != NULL);
	CHECK_EQ(asup_lab_replay_load("/tmp", &r, &why), -EIO);
	CHECK(r == NULL);
	/* why may be NULL. */
	CHECK_EQ(asup_lab_replay_load("/nonexistent", &r, NULL), -EIO);
	CHECK_EQ(asup_lab_replay_decode(&byte, 1, &r, NULL), -ASUP_ECORRUPT);
	/* Nothing, decoded, is a truncated recording; NULL with a length is misuse. */
	CHECK_EQ(asup_lab_replay_decode(NULL, 0, &r, &why), -ASUP_ECORRUPT);
	CHECK_EQ(asup_lab_replay_decode(NULL, 5, &r, &why), -EINVAL);
	CHECK_EQ(asup_lab_replay_decode(&byte, 1, NULL, &why), -EINVAL);
	CHECK_EQ(asup_lab_replay_load(NULL, &r, &why), -EINVAL);
	CHECK_EQ(asup_lab_replay_load(path, NULL, &why), -EINVAL);
	CHECK(r == NULL);
	/* The readers of a replay take NULL. */
	asup_lab_replay_free(NULL);
	CHECK(asup_lab_replay_name(NULL) == NULL);
	CHECK_EQ(asup_lab_replay_steps(NULL), 0);
	CHECK_EQ(asup_lab_replay_config(NULL, NULL), -EINVAL);
}
