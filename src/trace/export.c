/*
 * Exporters: JSON lines (one event per line, every field) and Chrome
 * trace-event JSON (Perfetto). Both read a plain array of events; the
 * Chrome exporter allocates one table, from task ids to track ids.
 */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Writes s as a JSON string body (without quotes). */
static void json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

/* The 16 name bytes of a TASK_NAME event, NUL-terminated into buf[17]. */
static void unpack_name(const asup_event *e, char buf[17])
{
	for (int i = 0; i < 16; i++)
		buf[i] = (char)((i < 8 ? e->a : e->b) >> (8 * (i % 8)));
	buf[16] = '\0';
}

int asup__export_jsonl(const asup_event *ev, size_t n, FILE *f)
{
	char t[32], r[32], name[17];

	for (size_t i = 0; i < n; i++) {
		const asup_event *e = &ev[i];
		asup__id_name('T', e->task, t, sizeof t);
		asup__id_name('R', e->region, r, sizeof r);
		fprintf(f,
			"{\"seq\":%" PRIu64 ",\"step\":%" PRIu64 ",\"time\":%" PRIu64
			",\"type\":\"%s\",\"worker\":%" PRIu32 ",\"task\":\"%s\",\"region\":\"%s\","
			"\"a\":%" PRIu64 ",\"b\":%" PRIu64,
			e->seq, e->step, e->time, asup_event_type_name(e->type), e->worker, t, r, e->a,
			e->b);
		if (e->type == ASUP_EV_TASK_NAME) {
			unpack_name(e, name);
			fputs(",\"name\":\"", f);
			json_str(f, name);
			fputc('"', f);
		}
		fputs("}\n", f);
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* ---- Chrome trace-event JSON ------------------------------------------- */

static double ts_of(const asup_event *e, int virtual_time)
{
	return virtual_time ? (double)e->time / 1000.0 : (double)e->seq;
}

/*
 * Track ids. Perfetto's JSON importer folds thread ids at or above 2^32
 * onto one track, and a task id carries its generation in its high half, so
 * a task id cannot be a tid. A task's track is its arena index + 1 (the
 * number in its name, plus one; tid 0 is the regions' track), given to the
 * first task seen at that index; a later task reusing the index (a newer
 * generation) gets a fresh id past the largest index, so that every task
 * keeps a track of its own. The generation stays in the thread's name
 * ("T3.1"). The alternative, numbering tasks in order of appearance, would
 * break the match between a track and the task's name.
 */
typedef struct tid_map {
	uint64_t *key; /* a task id or an index; ASUP_ID_NONE marks a free slot */
	uint64_t *val;
	size_t cap, len; /* cap a power of two; len < cap / 2 */
} tid_map;

static size_t slot_of(const tid_map *m, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h ^ (h >> 29)) & (m->cap - 1);

	while (m->key[i] != ASUP_ID_NONE && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void map_free(tid_map *m)
{
	free(m->key);
	free(m->val);
	m->key = m->val = NULL;
	m->cap = m->len = 0;
}

/* Doubles the table (or makes the first one). 0 or -ENOMEM. */
static int map_grow(tid_map *m)
{
	tid_map n = {NULL, NULL, m->cap ? m->cap * 2 : 64, 0};

	n.key = malloc(n.cap * sizeof(uint64_t));
	n.val = malloc(n.cap * sizeof(uint64_t));
	if (!n.key || !n.val) {
		map_free(&n);
		return -ENOMEM;
	}
	memset(n.key, 0xff, n.cap * sizeof(uint64_t)); /* every slot ASUP_ID_NONE */
	for (size_t i = 0; i < m->cap; i++) {
		if (m->key[i] != ASUP_ID_NONE) {
			size_t j = slot_of(&n, m->key[i]);
			n.key[j] = m->key[i];
			n.val[j] = m->val[i];
			n.len++;
		}
	}
	map_free(m);
	*m = n;
	return 0;
}

/* The value of key, or ASUP_ID_NONE when absent. */
static uint64_t map_get(const tid_map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return ASUP_ID_NONE;
	i = slot_of(m, key);
	return m->key[i] == ASUP_ID_NONE ? ASUP_ID_NONE : m->val[i];
}

static int map_put(tid_map *m, uint64_t key, uint64_t val)
{
	size_t i;
	int rc;

	if ((m->len + 1) * 2 > m->cap && (rc = map_grow(m)) < 0)
		return rc;
	i = slot_of(m, key);
	if (m->key[i] == ASUP_ID_NONE)
		m->len++;
	m->key[i] = key;
	m->val[i] = val;
	return 0;
}

typedef struct tracks {
	tid_map task_tid;  /* task id -> tid */
	tid_map index_use; /* arena index -> 1 once a task holds its track */
} tracks;

/* Gives every task in ev[0..n) its track (see above). 0 or -ENOMEM. */
static int tracks_build(tracks *t, const asup_event *ev, size_t n)
{
	uint64_t max_index = 0, fresh;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++)
		if (ev[i].task != ASUP_ID_NONE && (uint32_t)ev[i].task > max_index)
			max_index = (uint32_t)ev[i].task;
	fresh = max_index + 2;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint64_t task = ev[i].task, index = (uint32_t)task;

		if (task == ASUP_ID_NONE || map_get(&t->task_tid, task) != ASUP_ID_NONE)
			continue;
		if (map_get(&t->index_use, index) == ASUP_ID_NONE) {
			rc = map_put(&t->index_use, index, 1);
			if (rc == 0)
				rc = map_put(&t->task_tid, task, index + 1);
		} else {
			rc = map_put(&t->task_tid, task, fresh++);
		}
	}
	return rc;
}

static void tracks_free(tracks *t)
{
	map_free(&t->task_tid);
	map_free(&t->index_use);
}

/* The track of task (0, the regions' track, for none). */
static uint64_t tid_of(const tracks *t, uint64_t task)
{
	uint64_t tid;

	if (task == ASUP_ID_NONE)
		return 0;
	tid = map_get(&t->task_tid, task);
	return tid == ASUP_ID_NONE ? 0 : tid;
}

static void emit_sep(FILE *f, int *first)
{
	if (!*first)
		fputs(",\n", f);
	*first = 0;
}

static void instant(FILE *f, int *first, const tracks *t, const asup_event *e, double ts,
		    const char *name)
{
	char r[32];
	asup__id_name('R', e->region, r, sizeof r);
	emit_sep(f, first);
	fprintf(f,
		"{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%" PRIu64
		",\"ts\":%.3f,\"args\":{\"step\":%" PRIu64 ",\"region\":\"%s\",\"a\":%" PRIu64
		",\"b\":%" PRIu64 "}}",
		name, tid_of(t, e->task), ts, e->step, r, e->a, e->b);
}

/* Names of the simulated network's event kinds (ASUP_EV_NET's low byte;
 * the numbering is the trace format's, enum asup__net_ev in src/io). */
static const char *const net_kind[] = {
    "net", "listen", "bind", "connect", "accept", "established", "refused", "send",
    "deliver", "drop", "dup", "fin", "reset", "close", "partition", "stop",
};

/*
 * Network events go to a second process ("network") with a track per
 * connection (tid = the connection id, the connecting socket's) and one for
 * partitions and stops (tid 0), named at first sight. seen may fail to grow:
 * the track then goes unnamed, the event is still written.
 */
static void emit_net(FILE *f, int *first, const asup_event *e, double ts, tid_map *seen)
{
	uint32_t kind = (uint32_t)(e->a & 0xff);
	uint64_t conn = e->a >> 8, tid;
	const char *name = kind < sizeof net_kind / sizeof net_kind[0] ? net_kind[kind] : "net";

	tid = (kind == 14 || kind == 15) ? 0 : (conn & ((1ull << 31) - 1)) + 1;
	if (map_get(seen, tid) == ASUP_ID_NONE && map_put(seen, tid, 1) == 0) {
		emit_sep(f, first);
		if (tid == 0)
			fputs("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":0,"
			      "\"args\":{\"name\":\"partitions and stops\"}}",
			      f);
		else
			fprintf(f,
				"{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":%" PRIu64
				",\"args\":{\"name\":\"connection %" PRIu64 "\"}}",
				tid, conn);
	}
	emit_sep(f, first);
	fprintf(f,
		"{\"name\":\"%s\",\"cat\":\"net\",\"ph\":\"i\",\"s\":\"t\",\"pid\":2,\"tid\":%" PRIu64
		",\"ts\":%.3f,\"args\":{\"step\":%" PRIu64 ",\"value\":%" PRId64 "}}",
		name, tid, ts, e->step, (int64_t)e->b);
}

static void emit_chrome(const asup_event *ev, size_t n, FILE *f, int virtual_time,
			const tracks *t)
{
	tid_map seen = {NULL, NULL, 0, 0};
	int first = 1;
	uint64_t running = ASUP_ID_NONE; /* the task with an open slice */
	double last_ts = 0;
	char name[17], buf[48];

	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", f);
	emit_sep(f, &first);
	fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"asupersync\"}}",
	      f);
	emit_sep(f, &first);
	fputs("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":"
	      "\"regions\"}}",
	      f);
	for (size_t i = 0; i < n; i++)
		if (ev[i].type == ASUP_EV_NET) {
			emit_sep(f, &first);
			fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,\"args\":"
			      "{\"name\":\"network\"}}",
			      f);
			break;
		}
	for (size_t i = 0; i < n; i++) {
		const asup_event *e = &ev[i];
		double ts = ts_of(e, virtual_time);
		uint32_t type = e->type;

		last_ts = ts;
		switch (type) {
		case ASUP_EV_SPAWN:
		case ASUP_EV_TASK_NAME:
			asup__id_name('T', e->task, buf, sizeof buf);
			if (type == ASUP_EV_TASK_NAME) {
				unpack_name(e, name);
				size_t l = strlen(buf);
				snprintf(buf + l, sizeof buf - l, " %s", name);
			}
			emit_sep(f, &first);
			fprintf(f,
				"{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%" PRIu64
				",\"args\":{\"name\":\"",
				tid_of(t, e->task));
			json_str(f, buf);
			fputs("\"}}", f);
			break;
		case ASUP_EV_RESUME:
			if (running != ASUP_ID_NONE) { /* a run whose end we did not see */
				emit_sep(f, &first);
				fprintf(f, "{\"ph\":\"E\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f}",
					tid_of(t, running), ts);
			}
			running = e->task;
			asup__id_name('T', e->task, buf, sizeof buf);
			emit_sep(f, &first);
			fprintf(f,
				"{\"name\":\"%s\",\"cat\":\"task\",\"ph\":\"B\",\"pid\":1,\"tid\":%" PRIu64
				",\"ts\":%.3f,\"args\":{\"step\":%" PRIu64 ",\"lane\":%" PRIu64
				",\"worker\":%" PRIu64 ",\"vtime_ns\":%" PRIu64 "}}",
				buf, tid_of(t, e->task), ts, e->step, e->a, e->b, e->time);
			break;
		case ASUP_EV_YIELD:
		case ASUP_EV_PARK:
		case ASUP_EV_COMPLETE:
			if (type == ASUP_EV_COMPLETE)
				instant(f, &first, t, e, ts, "complete");
			if (running == e->task) {
				emit_sep(f, &first);
				fprintf(f, "{\"ph\":\"E\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f}",
					tid_of(t, e->task), ts);
				running = ASUP_ID_NONE;
			}
			break;
		case ASUP_EV_REGION_CREATE:
		case ASUP_EV_REGION_CLOSE_COMPLETE:
			asup__id_name('R', e->region, buf, sizeof buf);
			emit_sep(f, &first);
			fprintf(f,
				"{\"name\":\"%s\",\"cat\":\"region\",\"ph\":\"%s\",\"id\":%" PRIu64
				",\"pid\":1,\"tid\":0,\"ts\":%.3f}",
				buf, type == ASUP_EV_REGION_CREATE ? "b" : "e",
				(uint64_t)(e->region & ((1ull << 53) - 1)), ts);
			break;
		case ASUP_EV_SCHEDULE:
		case ASUP_EV_CHECKPOINT:
		case ASUP_EV_EFFECT:
		case ASUP_EV_TIMER_SCHEDULED:
			break; /* too frequent to be useful on a timeline */
		case ASUP_EV_NET:
			emit_net(f, &first, e, ts, &seen);
			break;
		default:
			instant(f, &first, t, e, ts, asup_event_type_name(type));
			break;
		}
	}
	if (running != ASUP_ID_NONE) {
		emit_sep(f, &first);
		fprintf(f, "{\"ph\":\"E\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f}",
			tid_of(t, running), last_ts);
	}
	fputs("\n]}\n", f);
	map_free(&seen);
}

int asup__export_chrome(const asup_event *ev, size_t n, FILE *f, int virtual_time)
{
	tracks t;
	int rc = tracks_build(&t, ev, n);

	if (rc == 0) {
		emit_chrome(ev, n, f, virtual_time, &t);
		fflush(f);
		rc = ferror(f) ? -EIO : 0;
	}
	tracks_free(&t);
	return rc;
}
