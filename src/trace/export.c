/*
 * Exporters: JSON lines (one event per line, every field) and Chrome
 * trace-event JSON (Perfetto). Both read a plain array of events; neither
 * allocates more than a table of task names.
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

static uint64_t tid_of(uint64_t task)
{
	return task == ASUP_ID_NONE ? 0 : (uint64_t)(task & ((1ull << 53) - 1)) + 1;
}

static void emit_sep(FILE *f, int *first)
{
	if (!*first)
		fputs(",\n", f);
	*first = 0;
}

static void instant(FILE *f, int *first, const asup_event *e, double ts, const char *name)
{
	char r[32];
	asup__id_name('R', e->region, r, sizeof r);
	emit_sep(f, first);
	fprintf(f,
		"{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%" PRIu64
		",\"ts\":%.3f,\"args\":{\"step\":%" PRIu64 ",\"region\":\"%s\",\"a\":%" PRIu64
		",\"b\":%" PRIu64 "}}",
		name, tid_of(e->task), ts, e->step, r, e->a, e->b);
}

int asup__export_chrome(const asup_event *ev, size_t n, FILE *f, int virtual_time)
{
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
				tid_of(e->task));
			json_str(f, buf);
			fputs("\"}}", f);
			break;
		case ASUP_EV_RESUME:
			if (running != ASUP_ID_NONE) { /* a run whose end we did not see */
				emit_sep(f, &first);
				fprintf(f, "{\"ph\":\"E\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f}",
					tid_of(running), ts);
			}
			running = e->task;
			asup__id_name('T', e->task, buf, sizeof buf);
			emit_sep(f, &first);
			fprintf(f,
				"{\"name\":\"%s\",\"cat\":\"task\",\"ph\":\"B\",\"pid\":1,\"tid\":%" PRIu64
				",\"ts\":%.3f,\"args\":{\"step\":%" PRIu64 ",\"lane\":%" PRIu64
				",\"worker\":%" PRIu64 ",\"vtime_ns\":%" PRIu64 "}}",
				buf, tid_of(e->task), ts, e->step, e->a, e->b, e->time);
			break;
		case ASUP_EV_YIELD:
		case ASUP_EV_PARK:
		case ASUP_EV_COMPLETE:
			if (type == ASUP_EV_COMPLETE)
				instant(f, &first, e, ts, "complete");
			if (running == e->task) {
				emit_sep(f, &first);
				fprintf(f, "{\"ph\":\"E\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f}",
					tid_of(e->task), ts);
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
		default:
			instant(f, &first, e, ts, asup_event_type_name(type));
			break;
		}
	}
	if (running != ASUP_ID_NONE) {
		emit_sep(f, &first);
		fprintf(f, "{\"ph\":\"E\",\"pid\":1,\"tid\":%" PRIu64 ",\"ts\":%.3f}",
			tid_of(running), last_ts);
	}
	fputs("\n]}\n", f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
