/*
 * Name resolution (asup_resolve, asupersync/io.h): getaddrinfo on the
 * blocking pool, as a blocking task the caller joins.
 *
 * Cancel: the caller's join is interrupted, which aborts the blocking task;
 * the task completes Cancelled at once while getaddrinfo keeps its pool
 * thread (the region stays open until it returned). Who frees the lookup's
 * state is settled by one atomic exchange on `state`: whichever side comes
 * second (the pool thread finishing, or the caller leaving) frees it, so a
 * late result is freed on the pool thread and nothing leaks.
 */
#define _GNU_SOURCE
#include "asupersync/io.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "asupersync/task.h"
#include "io_rt.h"
#include "pool_op.h"
#include "simnet.h"

enum { DNS_RUNNING = 0, DNS_DONE = 1, DNS_LEFT = 2 };

struct dns {
	_Atomic int state;
	char *host, *service;
	struct addrinfo hints;
	int has_hints;
	struct addrinfo *res;
	int rc;
};

/* Lookups in flight or results not yet taken (tests: nothing leaks). */
_Atomic long asup__dns_live;

static void dns_free(struct dns *d)
{
	if (d->res)
		freeaddrinfo(d->res);
	free(d->host);
	free(d->service);
	free(d);
	atomic_fetch_sub(&asup__dns_live, 1);
}

static int eai_code(int e, int err)
{
	switch (e) {
	case 0: return 0;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -ENOENT;
	case EAI_SERVICE: return -ESRCH;
	case EAI_AGAIN: return -EAGAIN;
	case EAI_MEMORY: return -ENOMEM;
	case EAI_BADFLAGS:
	case EAI_FAMILY:
	case EAI_SOCKTYPE: return -EINVAL;
	case EAI_SYSTEM: return err ? -err : -EIO;
	default: return -EIO;
	}
}

static int64_t dns_job(asup_blocking *b, void *arg)
{
	struct dns *d = arg;
	int e;

	(void)b;
	asup__pool_hook_call(ASUP__POOL_DNS);
	e = getaddrinfo(d->host, d->service, d->has_hints ? &d->hints : NULL, &d->res);
	d->rc = eai_code(e, errno);
	if (e != 0)
		d->res = NULL;
	/* The caller left while we ran: the state is ours to free. */
	if (atomic_exchange(&d->state, DNS_DONE) == DNS_LEFT)
		dns_free(d);
	return 0;
}

static struct dns *dns_new(const char *host, const char *service, const struct addrinfo *hints)
{
	struct dns *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	atomic_fetch_add(&asup__dns_live, 1);
	d->host = host ? strdup(host) : NULL;
	d->service = service ? strdup(service) : NULL;
	if ((host && !d->host) || (service && !d->service)) {
		dns_free(d);
		return NULL;
	}
	if (hints) {
		/* Only the fields getaddrinfo reads from hints. */
		d->hints.ai_flags = hints->ai_flags;
		d->hints.ai_family = hints->ai_family;
		d->hints.ai_socktype = hints->ai_socktype;
		d->hints.ai_protocol = hints->ai_protocol;
		d->has_hints = 1;
	}
	return d;
}

ASUP_API int asup_resolve(asup_cx *cx, const char *host, const char *service,
			  const struct addrinfo *hints, struct addrinfo **out)
{
	asup__reactor *r;
	struct dns *d;
	asup_outcome o;
	asup_task h;
	int rc;

	if (asup__io_is_sim(cx))
		return asup__sim_resolve(cx, host, service, hints, out);
	if ((rc = asup__io_reactor(cx, &r)) < 0)
		return rc;
	if ((!host && !service) || !out)
		return -EINVAL;
	rc = asup_checkpoint(cx);
	if (rc < 0)
		return rc;
	d = dns_new(host, service, hints);
	if (!d)
		return -ENOMEM;
	rc = asup_spawn_blocking(cx, dns_job, d, NULL, &h);
	if (rc < 0) {
		dns_free(d);
		return rc;
	}
	rc = asup_join(cx, &h, &o);
	if (rc == 0 && o.kind == ASUP_OUTCOME_OK) {
		/* The job returned: it no longer touches d. */
		rc = d->rc;
		*out = d->res;
		d->res = NULL;
		dns_free(d);
		return rc;
	}
	/* Interrupted (the join aborted the task) or the task was cancelled
	 * with its region: leave the lookup to finish on its own. */
	if (atomic_exchange(&d->state, DNS_LEFT) == DNS_DONE)
		dns_free(d);
	if (rc < 0)
		return rc;
	rc = asup_checkpoint(cx);
	return rc < 0 ? rc : -ECANCELED;
}

ASUP_API void asup_resolve_free(struct addrinfo *res)
{
	if (res)
		freeaddrinfo(res);
}
