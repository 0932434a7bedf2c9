/*
 * The simulated network each network scenario runs on (net_*.c): the fault
 * configuration that makes its planted bug show, the same for the bug and
 * its twin, and the number of seeds within which exploration from seed 1
 * finds the bug (measured by tests/lab/planted_net.c, which prints the
 * first failing seed and the failure rate; each bound leaves room above the
 * measured first failing seed).
 *
 * Every fault is drawn from the run's seed (asupersync/simnet.h), so a seed
 * names one network history as well as one schedule.
 */
#ifndef ASUP_LAB_NET_FAULTS_H
#define ASUP_LAB_NET_FAULTS_H

#include <asupersync.h>

/* Documented bounds (each scenario's preamble says what was measured). */
#define NET_NO_DEADLINE_SEEDS 10
#define NET_DUP_RETRY_SEEDS 10
#define NET_RESET_LEAK_SEEDS 10
#define NET_SHORT_READ_SEEDS 10

/* The server's host in every network scenario: 10.0.0.1. */
#define ASUP_NETFAULTS_SERVER_HOST 1

/* The server's host is cut off from every other host at a time drawn from
 * the seed, early or late in the exchange, and stays cut off. */
void asup_netfaults_partition(asup_simnet_config *net);
/* Connections reset: a stream segment resets its connection instead of
 * arriving, with a probability high enough that a few requests meet one. */
void asup_netfaults_resets(asup_simnet_config *net);
/* Small segments and seeded stalls: a message written at once may arrive
 * in pieces, some reads return part of it. */
void asup_netfaults_segments(asup_simnet_config *net);

#endif
