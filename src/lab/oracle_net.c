/*
 * The lab's network oracles: what the runtime and the simulated network
 * (src/io/simnet.h) say about sockets, turned into violations.
 *
 *   socket_leak    a region closed with a socket of it still open (the
 *                  runtime closed it and reported it through the report
 *                  hook, which a lab owns): the violation names the socket
 *                  (its id and addresses, asked of the network while it is
 *                  still open) and the region.
 *   net_data_lost  at the end of a run, bytes or datagrams that were sent
 *                  but neither delivered nor reported dropped by a network
 *                  event, and that the network does not hold in flight.
 *
 * The data oracle compares, per socket, what the network's delivery and
 * drop events account for with what was sent and what is still in flight:
 * a packet the network let go without a delivery or a drop event shows as
 * a difference. It runs when the network's event count (its totals, which
 * count every event the trace gets) moved since the last check.
 *
 * Owns: the lab's report hook and the network counters in asup_lab. Must
 * not touch: the network's state (it reads through the query surface only).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "lab_internal.h"

/* "a.b.c.d:port", "[v6]:port", "unix:path" or "-". */
static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		snprintf(buf, n, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *a = (const void *)ss;
		snprintf(buf, n, "unix:%.40s", a->sun_path[0] ? a->sun_path : "(unnamed)");
	} else {
		snprintf(buf, n, "-");
	}
}

struct find {
	uint64_t region, id;  /* what is looked for: id 0 means the region's last */
	int found;
	asup__simnet_sock_info info;
};

static int find_sock(void *ud, const asup__simnet_sock_info *in)
{
	struct find *f = ud;

	if (f->id ? in->id != f->id : in->region != f->region)
		return 0;
	f->info = *in;
	f->found = 1;
	return f->id != 0; /* by region: go on, the last one wins */
}

/*
 * The leaked socket of a report, asked of the network while it is still
 * open: by its id when the report carries one (value >= 1), else the
 * region's most recently opened socket that is still open. Finalizers run
 * last registered first and each closes its socket after its report, so
 * that is the socket being closed.
 */
static void leak_violation(asup_lab *lab, const asup_report *r)
{
	asup__simnet *sn = asup__simnet_of(lab->rt);
	struct find f = {.region = r->region_id, .id = r->value > 0 ? (uint64_t)r->value : 0};
	char local[80], peer[80];
	const char *kind;
	uint64_t step;
	uint32_t worker;
	asup_time now;

	/* The step the trace gives the close's events (the lab's own count
	 * only moves once the step is over). */
	asup__drive_where(lab->rt, &step, &worker, &now);
	if (sn)
		asup__simnet_walk(sn, find_sock, &f);
	if (!f.found) {
		asup__oracle_report(&lab->oracle, "socket_leak", step, ASUP_ID_NONE,
				    r->region_id, "region R%" PRIu32 " closed with a socket open",
				    (uint32_t)r->region_id);
		return;
	}
	addr_text(&f.info.local, local, sizeof local);
	addr_text(&f.info.peer, peer, sizeof peer);
	kind = f.info.kind == ASUP__SIM_LISTENER ? "listener"
	       : f.info.kind == ASUP__SIM_DGRAM  ? "datagram socket"
						 : "connection";
	asup__oracle_report(&lab->oracle, "socket_leak", step, ASUP_ID_NONE, r->region_id,
			    "%s S%" PRIu64 " (%s, peer %s) left open when region R%" PRIu32
			    " closed",
			    kind, f.info.id, local, peer, (uint32_t)r->region_id);
}

void asup__lab_report(void *ud, const asup_report *r)
{
	asup_lab *lab = ud;

	if (lab->destroying)
		return;
	if (r->kind == ASUP_REPORT_RESOURCE_LEAK && r->why &&
	    (strcmp(r->why, "socket") == 0 || strcmp(r->why, "simulated socket") == 0)) {
		leak_violation(lab, r);
		return;
	}
	asup_report_stderr(NULL, r);
}

/* ---- data sent, delivered, dropped ------------------------------------ */

/* The network's events are counted by the network itself (its totals):
 * the lab reads the count when it checks instead of taking a call per
 * event through the network's hook, which cost a call and a clock read for
 * every packet of a run. */
void asup__lab_net_attach(asup_lab *lab)
{
	if (!lab->net_seen && asup__simnet_of(lab->rt))
		lab->net_seen = 1;
}

/* Per open socket: every byte (or datagram) it sent is delivered, dropped
 * (and then reported by a DROP event) or still in flight. */
static int account(void *ud, const asup__simnet_sock_info *in)
{
	asup_lab *lab = ud;
	char local[80];

	if (in->delivered + in->dropped + in->in_flight == in->sent)
		return 0;
	addr_text(&in->local, local, sizeof local);
	asup__oracle_report(&lab->oracle, "net_data_lost", lab->steps, ASUP_ID_NONE, in->region,
			    "socket S%" PRIu64 " (%s) sent %" PRIu64 ": %" PRIu64
			    " delivered, %" PRIu64 " dropped, %" PRIu64 " in flight",
			    in->id, local, in->sent, in->delivered, in->dropped, in->in_flight);
	return 0;
}

void asup__lab_net_check(asup_lab *lab)
{
	asup__simnet_totals t;
	asup__simnet *sn;

	if (!lab->net_seen || !(sn = asup__simnet_of(lab->rt)))
		return;
	asup__simnet_totals_get(sn, &t);
	if (t.events == lab->net_checked)
		return;
	lab->net_checked = t.events;
	asup__simnet_walk(sn, account, lab);
}
