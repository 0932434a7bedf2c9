/*
 * The recording's file format (see replay.h). The decoder treats its input
 * as hostile: every length is checked before it is used, nothing is read
 * past the end, and a file is accepted only if its check value matches.
 */
#define _GNU_SOURCE /* mremap */
#include "replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "asupersync/core.h"

#define MAGIC "ASUPLAB"
#define VERSION 1u
#define VERSION_NET 2u
#define HDR_BYTES 108u
#define NET_BYTES 1236u
#define STEP_BYTES 24u
#define TRAILER_BYTES 24u

void asup__rec_init(asup__recording *r, const asup__alloc *a)
{
	memset(r, 0, sizeof(*r));
	r->alloc = a;
}

void asup__rec_destroy(asup__recording *r)
{
	if (r->mapped)
		munmap(r->steps, (size_t)r->cap * sizeof(*r->steps));
	else
		asup__free_mem(r->alloc, r->steps, (size_t)r->cap * sizeof(*r->steps));
	r->steps = NULL;
	r->n = r->cap = 0;
	r->mapped = 0;
}

/*
 * The recording of a long run grows to tens of megabytes, one step record
 * per step: in memory mapped for the purpose, moved by mremap rather than
 * copied, and offered huge pages, first-touch page faults were a fifth of a
 * lab step. Without mmap (or when it fails) it grows through the allocator.
 */
#define REC_MAP_FIRST ((size_t)2 << 20) /* bytes: one huge page */

static int grow_mapped(asup__recording *r, uint64_t cap)
{
	size_t old = (size_t)r->cap * sizeof(*r->steps), len = (size_t)cap * sizeof(*r->steps);
	void *p;

	if (!r->mapped) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		if (r->n)
			memcpy(p, r->steps, (size_t)r->n * sizeof(*r->steps));
		asup__free_mem(r->alloc, r->steps, old);
		r->mapped = 1;
	} else {
		p = mremap(r->steps, old, len, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return -ENOMEM;
	}
#ifdef MADV_HUGEPAGE
	madvise(p, len, MADV_HUGEPAGE);
#endif
	r->steps = p;
	r->cap = cap;
	return 0;
}

void asup__rec_push(asup__recording *r, const asup__step_rec *s)
{
	if (r->n == r->cap) {
		uint64_t cap = r->cap ? r->cap * 2 : 1024;
		if (cap > SIZE_MAX / sizeof(*r->steps)) {
			r->oom = 1;
			return;
		}
		if (cap * sizeof(*r->steps) >= REC_MAP_FIRST && grow_mapped(r, cap) == 0) {
			/* grown in place */
		} else if (r->mapped ||
			   asup__grow(r->alloc, (void **)&r->steps, sizeof(*r->steps), r->cap, cap) < 0) {
			r->oom = 1;
			return;
		} else {
			r->cap = cap;
		}
	}
	r->steps[r->n++] = *s;
}

/* A check value over bytes (FNV-1a widened with a final mix). */
static uint64_t check_of(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

static void put_u8(uint8_t **p, uint8_t v)
{
	*(*p)++ = v;
}

static void put_u16(uint8_t **p, uint16_t v)
{
	put_u8(p, (uint8_t)v);
	put_u8(p, (uint8_t)(v >> 8));
}

static void put_u32(uint8_t **p, uint32_t v)
{
	put_u16(p, (uint16_t)v);
	put_u16(p, (uint16_t)(v >> 16));
}

static void put_u64(uint8_t **p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p, (uint32_t)(v >> 32));
}

static uint64_t get_n(const uint8_t **p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += bytes;
	return v;
}

/* ---- the network config (version 2) ---- */

static void put_f64(uint8_t **p, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	put_u64(p, v);
}

static double get_f64(const uint8_t **p)
{
	uint64_t v = get_n(p, 8);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static void put_host(uint8_t **p, const asup_simnet_host *h)
{
	put_u16(p, h->family);
	memcpy(*p, h->addr, 16);
	*p += 16;
	put_u16(p, 0);
}

static void get_host(const uint8_t **p, asup_simnet_host *h)
{
	h->family = (uint16_t)get_n(p, 2);
	memcpy(h->addr, *p, 16);
	*p += 16;
	(void)get_n(p, 2);
}

static void put_faults(uint8_t **p, const asup_simnet_faults *f)
{
	put_u64(p, f->latency_min_ns);
	put_u64(p, f->latency_max_ns);
	put_f64(p, f->tail_p);
	put_u64(p, f->tail_ns);
	put_f64(p, f->loss);
	put_f64(p, f->dup);
	put_f64(p, f->reorder);
	put_u64(p, f->reorder_ns);
	put_f64(p, f->stall);
	put_u64(p, f->stall_ns);
	put_f64(p, f->reset);
}

static void get_faults(const uint8_t **p, asup_simnet_faults *f)
{
	f->latency_min_ns = get_n(p, 8);
	f->latency_max_ns = get_n(p, 8);
	f->tail_p = get_f64(p);
	f->tail_ns = get_n(p, 8);
	f->loss = get_f64(p);
	f->dup = get_f64(p);
	f->reorder = get_f64(p);
	f->reorder_ns = get_n(p, 8);
	f->stall = get_f64(p);
	f->stall_ns = get_n(p, 8);
	f->reset = get_f64(p);
}

/* Writes NET_BYTES: every array entry, used or not. */
static void put_net(uint8_t **p, const asup_simnet_config *c)
{
	put_faults(p, &c->faults);
	put_u32(p, c->stream_buffer);
	put_u32(p, c->segment_size);
	put_u32(p, c->backlog_max);
	put_u32(p, c->dgram_queue);
	put_u32(p, c->npartitions);
	for (int i = 0; i < ASUP_SIMNET_MAX_PARTITIONS; i++) {
		const asup_simnet_partition *q = &c->partitions[i];
		put_u64(p, q->start_min_ns);
		put_u64(p, q->start_max_ns);
		put_u64(p, q->end_min_ns);
		put_u64(p, q->end_max_ns);
		put_u32(p, q->nhosts);
		for (int j = 0; j < ASUP_SIMNET_MAX_PARTITION_HOSTS; j++)
			put_host(p, &q->hosts[j]);
	}
	put_u32(p, c->nstops);
	for (int i = 0; i < ASUP_SIMNET_MAX_STOPS; i++) {
		put_host(p, &c->stops[i].host);
		put_u64(p, c->stops[i].at_min_ns);
		put_u64(p, c->stops[i].at_max_ns);
	}
	put_u32(p, c->nlinks);
	for (int i = 0; i < ASUP_SIMNET_MAX_LINKS; i++) {
		put_host(p, &c->links[i].a);
		put_host(p, &c->links[i].b);
		put_faults(p, &c->links[i].faults);
	}
}

static void get_net(const uint8_t **p, asup_simnet_config *c)
{
	memset(c, 0, sizeof(*c));
	get_faults(p, &c->faults);
	c->stream_buffer = (uint32_t)get_n(p, 4);
	c->segment_size = (uint32_t)get_n(p, 4);
	c->backlog_max = (uint32_t)get_n(p, 4);
	c->dgram_queue = (uint32_t)get_n(p, 4);
	c->npartitions = (uint32_t)get_n(p, 4);
	for (int i = 0; i < ASUP_SIMNET_MAX_PARTITIONS; i++) {
		asup_simnet_partition *q = &c->partitions[i];
		q->start_min_ns = get_n(p, 8);
		q->start_max_ns = get_n(p, 8);
		q->end_min_ns = get_n(p, 8);
		q->end_max_ns = get_n(p, 8);
		q->nhosts = (uint32_t)get_n(p, 4);
		for (int j = 0; j < ASUP_SIMNET_MAX_PARTITION_HOSTS; j++)
			get_host(p, &q->hosts[j]);
	}
	c->nstops = (uint32_t)get_n(p, 4);
	for (int i = 0; i < ASUP_SIMNET_MAX_STOPS; i++) {
		get_host(p, &c->stops[i].host);
		c->stops[i].at_min_ns = get_n(p, 8);
		c->stops[i].at_max_ns = get_n(p, 8);
	}
	c->nlinks = (uint32_t)get_n(p, 4);
	for (int i = 0; i < ASUP_SIMNET_MAX_LINKS; i++) {
		get_host(p, &c->links[i].a);
		get_host(p, &c->links[i].b);
		get_faults(p, &c->links[i].faults);
	}
}

/* Whether c encodes as the default config (then the file is version 1). */
static int net_is_default(const asup_simnet_config *c)
{
	uint8_t a[NET_BYTES], b[NET_BYTES], *pa = a, *pb = b;
	asup_simnet_config d;

	asup_simnet_config_init(&d);
	put_net(&pa, c);
	put_net(&pb, &d);
	return memcmp(a, b, NET_BYTES) == 0;
}

int asup__rec_encode(const asup__recording *r, uint8_t **out, size_t *len)
{
	const asup__replay_hdr *h = &r->hdr;
	int with_net = !net_is_default(&h->net);
	size_t n, hdr = HDR_BYTES + (with_net ? NET_BYTES : 0);
	uint8_t *buf, *p;

	if (r->n > (SIZE_MAX - hdr - TRAILER_BYTES - 8) / STEP_BYTES)
		return -ENOMEM;
	n = hdr + 8 + (size_t)r->n * STEP_BYTES + TRAILER_BYTES;
	buf = asup__alloc_mem(r->alloc, n);
	if (!buf)
		return -ENOMEM;
	p = buf;
	memcpy(p, MAGIC, 8);
	p += 8;
	put_u32(&p, with_net ? VERSION_NET : VERSION);
	put_u32(&p, (uint32_t)hdr);
	put_u64(&p, h->seed);
	put_u32(&p, h->workers);
	put_u32(&p, h->flags);
	put_u64(&p, h->max_steps);
	put_u64(&p, h->futurelock_steps);
	for (int i = 0; i < 5; i++)
		put_u32(&p, h->chaos[i]);
	put_u32(&p, h->inject_at);
	put_u32(&p, h->inject_kind);
	memset(p, 0, ASUP__REPLAY_NAME_MAX);
	memcpy(p, h->name, strnlen(h->name, ASUP__REPLAY_NAME_MAX - 1));
	p += ASUP__REPLAY_NAME_MAX;
	if (with_net)
		put_net(&p, &h->net);
	put_u64(&p, r->n);
	for (uint64_t i = 0; i < r->n; i++) {
		const asup__step_rec *s = &r->steps[i];
		put_u64(&p, s->task);
		put_u8(&p, s->lane);
		put_u8(&p, s->worker);
		put_u16(&p, s->chaos);
		put_u32(&p, 0);
		put_u64(&p, s->check);
	}
	memcpy(p, r->digest, 16);
	p += 16;
	{
		uint64_t check = check_of(buf, (size_t)(p - buf));
		put_u64(&p, check);
	}
	if ((size_t)(p - buf) != n) { /* the layout and HDR_BYTES disagree */
		asup__free_mem(r->alloc, buf, n);
		return -EINVAL;
	}
	*out = buf;
	*len = n;
	return 0;
}

#define BAD(msg)                                                                                   \
	do {                                                                                       \
		*why = (msg);                                                                      \
		return -ASUP_ECORRUPT;                                                             \
	} while (0)

int asup__rec_decode(asup__recording *r, const uint8_t *buf, size_t len, const char **why)
{
	asup__replay_hdr *h = &r->hdr;
	const uint8_t *p = buf;
	uint64_t n, check, version, hdr;

	*why = NULL;
	if (!buf || len < HDR_BYTES + 8 + TRAILER_BYTES)
		BAD("file too short for a lab recording");
	if (memcmp(p, MAGIC, 8) != 0)
		BAD("not a lab recording (bad magic)");
	p += 8;
	version = get_n(&p, 4);
	if (version != VERSION && version != VERSION_NET)
		BAD("unsupported recording version");
	hdr = get_n(&p, 4);
	if (hdr != HDR_BYTES + (version == VERSION_NET ? NET_BYTES : 0))
		BAD("bad header size for the recording version");
	if (len < hdr + 8 + TRAILER_BYTES)
		BAD("file too short for a lab recording");
	h->seed = get_n(&p, 8);
	h->workers = (uint32_t)get_n(&p, 4);
	h->flags = (uint32_t)get_n(&p, 4);
	h->max_steps = get_n(&p, 8);
	h->futurelock_steps = get_n(&p, 8);
	for (int i = 0; i < 5; i++)
		h->chaos[i] = (uint32_t)get_n(&p, 4);
	h->inject_at = (uint32_t)get_n(&p, 4);
	h->inject_kind = (uint32_t)get_n(&p, 4);
	memcpy(h->name, p, ASUP__REPLAY_NAME_MAX);
	p += ASUP__REPLAY_NAME_MAX;
	if (memchr(h->name, '\0', ASUP__REPLAY_NAME_MAX) == NULL)
		BAD("scenario name not terminated");
	if (version == VERSION_NET)
		get_net(&p, &h->net);
	else
		asup_simnet_config_init(&h->net);
	if (asup_simnet_config_check(&h->net, NULL) < 0)
		BAD("network config out of range");
	n = get_n(&p, 8);
	if (h->workers < 1 || h->workers > 64)
		BAD("worker count out of range");
	if (h->flags & ~0x1fu)
		BAD("unknown flags");
	for (int i = 0; i < 5; i++)
		if (i != 3 && h->chaos[i] > 1000000)
			BAD("chaos probability out of range");
	/* The lab refuses storms without a size (asup_lab_config_check): a
	 * recording that holds one could not be replayed. */
	if (h->chaos[2] && (h->chaos[3] < 1 || h->chaos[3] > 1000000))
		BAD("chaos storm size out of range");
	if (h->inject_kind > 10)
		BAD("cancel kind out of range");
	if (n > (len - hdr - 8 - TRAILER_BYTES) / STEP_BYTES ||
	    hdr + 8 + n * STEP_BYTES + TRAILER_BYTES != len)
		BAD("length does not match the step count (truncated?)");
	check = check_of(buf, len - 8);
	{
		const uint8_t *c = buf + len - 8;
		if (get_n(&c, 8) != check)
			BAD("check value mismatch (corrupt)");
	}
	asup__rec_destroy(r);
	if (n) {
		r->steps = asup__alloc_mem(r->alloc, (size_t)n * sizeof(*r->steps));
		if (!r->steps)
			return -ENOMEM;
		r->cap = n;
	}
	for (uint64_t i = 0; i < n; i++) {
		asup__step_rec *s = &r->steps[i];
		s->task = get_n(&p, 8);
		s->lane = (uint8_t)get_n(&p, 1);
		s->worker = (uint8_t)get_n(&p, 1);
		s->chaos = (uint16_t)get_n(&p, 2);
		if (get_n(&p, 4) != 0 || s->lane < 1 || s->lane > 4 || s->worker >= h->workers) {
			asup__rec_destroy(r);
			BAD("step record out of range");
		}
		{
			uint64_t check = get_n(&p, 8);
			if (check >> 32) {
				asup__rec_destroy(r);
				BAD("step check value out of range");
			}
			s->check = (uint32_t)check;
		}
	}
	r->n = n;
	memcpy(r->digest, p, 16);
	return 0;
}

int asup__rec_save(const asup__recording *r, const char *path)
{
	uint8_t *buf;
	size_t len;
	FILE *f;
	int rc = asup__rec_encode(r, &buf, &len);

	if (rc < 0)
		return rc;
	f = fopen(path, "wb");
	if (!f) {
		asup__free_mem(r->alloc, buf, len);
		return -EIO;
	}
	if (fwrite(buf, 1, len, f) != len)
		rc = -EIO;
	if (fclose(f) != 0)
		rc = -EIO;
	asup__free_mem(r->alloc, buf, len);
	return rc;
}

int asup__rec_load(asup__recording *r, const char *path, const char **why)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "rb");
	int rc;

	*why = NULL;
	if (!f) {
		*why = "cannot open the file";
		return -EIO;
	}
	for (;;) {
		size_t got;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			if (ncap > ((size_t)1 << 32) ||
			    asup__grow(r->alloc, (void **)&buf, 1, cap, ncap) < 0) {
				asup__free_mem(r->alloc, buf, cap);
				fclose(f);
				*why = "file too large";
				return -ENOMEM;
			}
			cap = ncap;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		asup__free_mem(r->alloc, buf, cap);
		fclose(f);
		*why = "read error";
		return -EIO;
	}
	fclose(f);
	rc = asup__rec_decode(r, buf, len, why);
	asup__free_mem(r->alloc, buf, cap);
	return rc;
}
