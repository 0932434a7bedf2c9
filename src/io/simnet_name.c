/*
 * Name resolution on the simulated network: numeric addresses and
 * "localhost" only, answered at once and the same on every machine.
 *
 * A real lookup would ask the machine's resolver, whose answers (and
 * whether it answers) differ between machines and runs: a lab run must not
 * depend on them. So numeric hosts and services are parsed as
 * getaddrinfo(3) with AI_NUMERICHOST | AI_NUMERICSERV does it (no system
 * file or server is consulted), "localhost" is 127.0.0.1 (::1 when the
 * hints ask for IPv6), and any other name is -ENOENT, a service name
 * -ESRCH. Must not touch: the blocking pool (nothing here blocks).
 */
#define _GNU_SOURCE
#include "simnet_int.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

static int eai(int e)
{
	switch (e) {
	case 0: return 0;
	case EAI_SERVICE: return -ESRCH;
	case EAI_MEMORY: return -ENOMEM;
	case EAI_BADFLAGS:
	case EAI_FAMILY:
	case EAI_SOCKTYPE: return -EINVAL;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -ENOENT;
	default: return -EIO;
	}
}

int asup__sim_resolve(asup_cx *cx, const char *host, const char *service,
		      const struct addrinfo *hints, struct addrinfo **out)
{
	struct addrinfo h;
	asup__simnet *sn;
	int rc = asup__sim_get(cx, &sn);

	if (rc < 0)
		return rc;
	if ((!host && !service) || !out)
		return -EINVAL;
	if ((rc = asup__cx_checkpoint(cx)) < 0)
		return rc;
	memset(&h, 0, sizeof(h));
	if (hints) {
		h.ai_flags = hints->ai_flags;
		h.ai_family = hints->ai_family;
		h.ai_socktype = hints->ai_socktype;
		h.ai_protocol = hints->ai_protocol;
	}
	/* No address configuration of this machine may change the answer. */
	h.ai_flags = (h.ai_flags & ~AI_ADDRCONFIG) | AI_NUMERICHOST | AI_NUMERICSERV;
	/* A service name would need the machine's services file. */
	if (service && (!service[0] || strspn(service, "0123456789") != strlen(service)))
		return -ESRCH;
	if (host && strcmp(host, "localhost") == 0)
		host = h.ai_family == AF_INET6 ? "::1" : "127.0.0.1";
	return eai(getaddrinfo(host, service, &h, out));
}
