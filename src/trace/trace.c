/*
 * The event ring and the digest (see trace.h).
 */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int asup__ring_init(asup__ring *r, const asup__alloc *a, uint32_t cap)
{
	uint32_t c = 1;

	memset(r, 0, sizeof(*r));
	if (cap == 0 || cap > (1u << 26))
		return -EINVAL;
	while (c < cap)
		c <<= 1;
	r->ev = asup__alloc_mem(a, (size_t)c * sizeof(*r->ev));
	if (!r->ev)
		return -ENOMEM;
	r->cap = c;
	r->mask = c - 1;
	return 0;
}

void asup__ring_destroy(asup__ring *r, const asup__alloc *a)
{
	asup__free_mem(a, r->ev, (size_t)r->cap * sizeof(*r->ev));
	r->ev = NULL;
}

size_t asup__ring_copy(const asup__ring *r, uint64_t skip, asup_event *out, size_t n)
{
	uint64_t kept = asup__ring_kept(r), first = r->total - kept;
	size_t i = 0;

	for (uint64_t k = skip; k < kept && i < n; k++, i++)
		out[i] = r->ev[(first + k) & r->mask];
	return i;
}

/* ---- digest ------------------------------------------------------------ */

#define C1 0x87c37b91114253d5ull
#define C2 0x4cf5ad432745937full

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

void asup__digest_init(asup__digest *d)
{
	d->h1 = 0x6173757073796e63ull; /* "asupsync" */
	d->h2 = 0x6c61622074726163ull; /* "lab trac" */
	d->n = 0;
}

void asup__digest_absorb(asup__digest *d, const asup_event *ev)
{
	/* Field by field, not the raw bytes, so the digest does not depend on
	 * the host's byte order. */
	asup__digest_words(d, ev->type, ev->worker, ev->task, ev->region, ev->a, ev->b, ev->step);
}

void asup__digest_final(const asup__digest *d, uint8_t out[16])
{
	uint64_t h1 = d->h1 ^ d->n, h2 = d->h2 ^ (d->n * C1);

	h1 += h2;
	h2 += h1;
	h1 = fmix(h1);
	h2 = fmix(h2);
	h1 += h2;
	h2 += h1;
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(h1 >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
	}
}

void asup__digest_hex(const uint8_t in[16], char buf[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		buf[2 * i] = hex[in[i] >> 4];
		buf[2 * i + 1] = hex[in[i] & 15];
	}
	buf[32] = '\0';
}

void asup__id_name(char prefix, uint64_t id, char *buf, size_t n)
{
	if (id == ASUP_ID_NONE)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%c%" PRIu32 ".%" PRIu32, prefix, (uint32_t)id,
			 (uint32_t)(id >> 32));
}
