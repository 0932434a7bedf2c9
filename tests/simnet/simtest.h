/*
 * Helpers of the simulated-network tests: deterministic runtimes and labs
 * with a network config, addresses, running a root task to an Ok outcome.
 */
#ifndef ASUP_SIMNET_TEST_H
#define ASUP_SIMNET_TEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "testrt.h"
#include "io/simnet.h"

/* A deterministic runtime whose network is *net (NULL: the defaults). */
static inline asup_rt *sim_rt(uint64_t seed, const asup_simnet_config *net)
{
	asup_rt_config cfg;

	asup_rt_config_init(&cfg);
	cfg.mode = ASUP_MODE_DETERMINISTIC;
	cfg.seed = seed;
	if (net)
		cfg.net = *net;
	return test_rt_cfg(&cfg);
}

/* Runs fn as the root task; its outcome must be Ok; returns its value. */
static inline int64_t sim_run(asup_rt *rt, asup_task_fn fn, void *arg)
{
	asup_outcome o;
	int rc = asup_rt_run(rt, fn, arg, &o);

	if (rc != 0)
		fprintf(stderr, "run: %s\n", asup_err_name(rc));
	CHECK_EQ(rc, 0);
	if (o.kind != ASUP_OUTCOME_OK)
		fprintf(stderr, "outcome %d value %" PRId64 " (%s)\n", (int)o.kind, o.value,
			asup_err_name((int)o.value));
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return o.value;
}

static inline struct sockaddr_in sim_in4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
					 uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	s.sin_addr.s_addr = htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
	return s;
}

static inline asup_simnet_host sim_host4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct sockaddr_in s = sim_in4(a, b, c, d, 0);
	asup_simnet_host h;
	CHECK_EQ(asup_simnet_host_of((struct sockaddr *)&s, sizeof(s), &h), 0);
	return h;
}

/* The network totals of a runtime (zeros if it made no network). */
static inline asup__simnet_totals sim_totals(asup_rt *rt)
{
	asup__simnet_totals t;
	asup__simnet_totals_get(asup__simnet_of(rt), &t);
	return t;
}

/* A lab run of fn with net and seed: returns asup_lab_run's code, the
 * digest in hex and the root's value. */
static inline int sim_lab(uint64_t seed, const asup_simnet_config *net, asup_task_fn fn,
			  void *arg, char hex[33], int64_t *value)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_outcome o;
	int rc;

	asup_lab_config_init(&cfg);
	cfg.seed = seed;
	cfg.max_steps = 10000000;
	cfg.check_every_step = 1; /* the network's invariants after every step */
	if (net)
		cfg.net = *net;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	rc = asup_lab_run(lab, fn, arg, &o);
	CHECK_EQ(asup_lab_digest_hex(lab, hex), 0);
	if (value)
		*value = rc == 0 && o.kind == ASUP_OUTCOME_OK ? o.value : -999999;
	asup_lab_destroy(lab);
	return rc;
}

#endif
