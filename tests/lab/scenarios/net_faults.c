/*
 * The network scenarios' fault configurations (see net_faults.h).
 */
#include "net_faults.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

void asup_netfaults_partition(asup_simnet_config *net)
{
	asup_simnet_partition *p = &net->partitions[0];
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0x0a000000u | ASUP_NETFAULTS_SERVER_HOST);
	memset(p, 0, sizeof(*p));
	/* The exchange takes about 80 ms of virtual time: a start drawn in
	 * 0..160 ms falls inside it on about half the seeds. */
	p->start_min_ns = 0;
	p->start_max_ns = 160000000ull;
	p->end_min_ns = p->end_max_ns = 0; /* never heals */
	p->nhosts = 1;
	(void)asup_simnet_host_of((const struct sockaddr *)&sa, sizeof sa, &p->hosts[0]);
	net->npartitions = 1;
	/* Latency drawn per packet, so that seeds give different histories
	 * besides the partition's start. */
	net->faults.latency_min_ns = 20000;
	net->faults.latency_max_ns = 2000000;
}

void asup_netfaults_resets(asup_simnet_config *net)
{
	net->faults.reset = 0.1;
}

void asup_netfaults_segments(asup_simnet_config *net)
{
	net->segment_size = 24;
	net->faults.stall = 0.05;
	net->faults.stall_ns = 1000000; /* 1 ms */
}
