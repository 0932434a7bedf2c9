/*
 * The simulated network's configuration and fault draws (see
 * asupersync/simnet.h and simnet.h here).
 *
 * Owns: config defaults, validation and presets; the schedule of a run's
 * partitions and stops (drawn once, when the network is created); the
 * per-packet draws (latency, loss, duplication, reordering, stalls,
 * resets). Must not touch: sockets or the event queue (simnet.c).
 *
 * Every draw comes from the network's own random stream, seeded from the
 * runtime's seed mixed with a constant, so the scheduler's stream is never
 * consumed by the network. Draws happen in the order the network handles
 * packets, which the schedule fixes: same seed, same draws.
 */
#define _GNU_SOURCE
#include "simnet.h"

#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

ASUP_API void asup_simnet_config_init(asup_simnet_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->faults.latency_min_ns = 50000;
	cfg->faults.latency_max_ns = 50000;
	cfg->stream_buffer = 64 * 1024;
	cfg->segment_size = 1460;
	cfg->backlog_max = 4096;
	cfg->dgram_queue = 256;
}

ASUP_API asup_simnet_faults asup_simnet_faults_light(void)
{
	asup_simnet_faults f = {
	    .latency_min_ns = 20000, .latency_max_ns = 200000, .tail_p = 0.01,
	    .tail_ns = 5000000, .loss = 0.01, .dup = 0.005, .reorder = 0.01,
	    .reorder_ns = 1000000, .stall = 0.005, .stall_ns = 10000000, .reset = 0.0001,
	};
	return f;
}

ASUP_API asup_simnet_faults asup_simnet_faults_heavy(void)
{
	asup_simnet_faults f = {
	    .latency_min_ns = 50000, .latency_max_ns = 2000000, .tail_p = 0.05,
	    .tail_ns = 50000000, .loss = 0.1, .dup = 0.05, .reorder = 0.1,
	    .reorder_ns = 5000000, .stall = 0.05, .stall_ns = 100000000, .reset = 0.001,
	};
	return f;
}

ASUP_API int asup_simnet_host_of(const struct sockaddr *sa, socklen_t len, asup_simnet_host *out)
{
	if (!sa || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	switch (sa->sa_family) {
	case AF_INET:
		if (len < (socklen_t)sizeof(struct sockaddr_in))
			return -EINVAL;
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		break;
	case AF_INET6:
		if (len < (socklen_t)sizeof(struct sockaddr_in6))
			return -EINVAL;
		memcpy(out->addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		break;
	case AF_UNIX:
		if (len < (socklen_t)offsetof(struct sockaddr_un, sun_path))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	out->family = sa->sa_family;
	return 0;
}

static int prob_bad(double p)
{
	return !(p >= 0.0 && p <= 1.0); /* also NaN */
}

static const char *faults_bad(const asup_simnet_faults *f)
{
	if (f->latency_min_ns > f->latency_max_ns)
		return "net.faults.latency_min_ns";
	if (prob_bad(f->tail_p))
		return "net.faults.tail_p";
	if (prob_bad(f->loss))
		return "net.faults.loss";
	if (prob_bad(f->dup))
		return "net.faults.dup";
	if (prob_bad(f->reorder))
		return "net.faults.reorder";
	if (prob_bad(f->stall))
		return "net.faults.stall";
	if (prob_bad(f->reset))
		return "net.faults.reset";
	/* Delays add up per packet; keep every sum far from overflowing. */
	if (f->latency_max_ns > ASUP_SIMNET_DELAY_MAX || f->tail_ns > ASUP_SIMNET_DELAY_MAX ||
	    f->reorder_ns > ASUP_SIMNET_DELAY_MAX || f->stall_ns > ASUP_SIMNET_DELAY_MAX)
		return "net.faults (a delay above one year)";
	return NULL;
}

static int host_bad(const asup_simnet_host *h)
{
	static const uint8_t zero[16];

	if (h->family == AF_INET)
		return memcmp(h->addr + 4, zero, 12) != 0;
	if (h->family == AF_INET6)
		return 0;
	if (h->family == AF_UNIX)
		return memcmp(h->addr, zero, 16) != 0;
	return 1;
}

static const char *partition_bad(const asup_simnet_partition *p)
{
	if (p->start_min_ns > p->start_max_ns)
		return "net.partitions.start_min_ns";
	if (p->end_min_ns > p->end_max_ns)
		return "net.partitions.end_min_ns";
	if (p->end_max_ns && p->end_min_ns <= p->start_max_ns)
		return "net.partitions.end_min_ns (ends before it starts)";
	if (p->start_max_ns > ASUP_SIMNET_DELAY_MAX * 100 || p->end_max_ns > ASUP_SIMNET_DELAY_MAX * 100)
		return "net.partitions (a time above a century)";
	if (p->nhosts < 1 || p->nhosts > ASUP_SIMNET_MAX_PARTITION_HOSTS)
		return "net.partitions.nhosts";
	for (uint32_t i = 0; i < p->nhosts; i++)
		if (host_bad(&p->hosts[i]))
			return "net.partitions.hosts";
	return NULL;
}

static const char *config_bad(const asup_simnet_config *c)
{
	const char *bad = faults_bad(&c->faults);

	if (bad)
		return bad;
	if (c->stream_buffer < 1024 || c->stream_buffer > (16u << 20))
		return "net.stream_buffer";
	if (c->segment_size < 1 || c->segment_size > c->stream_buffer)
		return "net.segment_size";
	if (c->backlog_max < 1 || c->backlog_max > 65536)
		return "net.backlog_max";
	if (c->dgram_queue < 1 || c->dgram_queue > 65536)
		return "net.dgram_queue";
	if (c->npartitions > ASUP_SIMNET_MAX_PARTITIONS)
		return "net.npartitions";
	for (uint32_t i = 0; i < c->npartitions; i++)
		if ((bad = partition_bad(&c->partitions[i])) != NULL)
			return bad;
	if (c->nstops > ASUP_SIMNET_MAX_STOPS)
		return "net.nstops";
	for (uint32_t i = 0; i < c->nstops; i++) {
		if (host_bad(&c->stops[i].host))
			return "net.stops.host";
		if (c->stops[i].at_min_ns > c->stops[i].at_max_ns)
			return "net.stops.at_min_ns";
	}
	if (c->nlinks > ASUP_SIMNET_MAX_LINKS)
		return "net.nlinks";
	for (uint32_t i = 0; i < c->nlinks; i++) {
		if (host_bad(&c->links[i].a) || host_bad(&c->links[i].b))
			return "net.links.host";
		if ((bad = faults_bad(&c->links[i].faults)) != NULL)
			return bad;
	}
	return NULL;
}

ASUP_API int asup_simnet_config_check(const asup_simnet_config *cfg, const char **field)
{
	const char *bad = cfg ? config_bad(cfg) : "net";

	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

/* ---- draws ----------------------------------------------------------------- */

static uint64_t draw_between(asup__rng *r, uint64_t lo, uint64_t hi)
{
	return hi > lo ? lo + asup__rng_below(r, hi - lo + 1) : lo;
}

/* True with probability p (53 bits of the stream against p). */
int asup__simnet_chance(asup__rng *r, double p)
{
	if (p <= 0.0)
		return 0;
	if (p >= 1.0)
		return 1;
	return (double)(asup__rng_next(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}

uint64_t asup__simnet_latency(asup__rng *r, const asup_simnet_faults *f)
{
	uint64_t d = draw_between(r, f->latency_min_ns, f->latency_max_ns);

	if (f->tail_p > 0.0 && asup__simnet_chance(r, f->tail_p))
		d += f->tail_ns;
	return d;
}

int asup__simnet_host_eq(const asup_simnet_host *a, const asup_simnet_host *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

void asup__simnet_schedule_faults(const asup_simnet_config *c, asup__rng *r,
				  asup__simnet_window *parts, asup_time *stops)
{
	for (uint32_t i = 0; i < c->npartitions; i++) {
		const asup_simnet_partition *p = &c->partitions[i];
		parts[i].start = draw_between(r, p->start_min_ns, p->start_max_ns);
		parts[i].end = p->end_max_ns ? draw_between(r, p->end_min_ns, p->end_max_ns)
					     : ASUP_TIME_MAX;
	}
	for (uint32_t i = 0; i < c->nstops; i++)
		stops[i] = draw_between(r, c->stops[i].at_min_ns, c->stops[i].at_max_ns);
}

static int in_side(const asup_simnet_partition *p, const asup_simnet_host *h)
{
	for (uint32_t i = 0; i < p->nhosts; i++)
		if (asup__simnet_host_eq(&p->hosts[i], h))
			return 1;
	return 0;
}

asup_time asup__simnet_blocked_until(const asup_simnet_config *c, const asup__simnet_window *parts,
				     const asup_simnet_host *a, const asup_simnet_host *b,
				     asup_time now)
{
	asup_time until = 0;

	for (uint32_t i = 0; i < c->npartitions; i++) {
		if (now < parts[i].start || now >= parts[i].end)
			continue;
		if (in_side(&c->partitions[i], a) != in_side(&c->partitions[i], b) &&
		    parts[i].end > until)
			until = parts[i].end;
	}
	return until;
}

int asup__simnet_stopped(const asup_simnet_config *c, const asup_time *stops,
			 const asup_simnet_host *h, asup_time now)
{
	for (uint32_t i = 0; i < c->nstops; i++)
		if (now >= stops[i] && asup__simnet_host_eq(&c->stops[i].host, h))
			return 1;
	return 0;
}

const asup_simnet_faults *asup__simnet_link_faults(const asup_simnet_config *c,
						   const asup_simnet_host *a,
						   const asup_simnet_host *b)
{
	for (uint32_t i = 0; i < c->nlinks; i++) {
		const asup_simnet_link *l = &c->links[i];
		if ((asup__simnet_host_eq(&l->a, a) && asup__simnet_host_eq(&l->b, b)) ||
		    (asup__simnet_host_eq(&l->a, b) && asup__simnet_host_eq(&l->b, a)))
			return &l->faults;
	}
	return &c->faults;
}
