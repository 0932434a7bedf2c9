/*
 * The simulated network's config: defaults, presets, and absurd configs
 * refused with -EINVAL naming the field (by the config check, by
 * asup_rt_create and by the lab's config check).
 */
#include <math.h>
#include <netinet/in.h>

#include "harness.h"

static asup_simnet_host host4(uint8_t last)
{
	asup_simnet_host h;
	memset(&h, 0, sizeof(h));
	h.family = AF_INET;
	h.addr[0] = 10;
	h.addr[3] = last;
	return h;
}

static const char *bad_field(const asup_simnet_config *c)
{
	const char *f = NULL;
	CHECK_EQ(asup_simnet_config_check(c, &f), -EINVAL);
	CHECK(f != NULL);
	return f;
}

TEST(defaults_and_presets_are_valid)
{
	asup_simnet_config c;
	const char *f = "x";

	asup_simnet_config_init(&c);
	CHECK_EQ(asup_simnet_config_check(&c, &f), 0);
	CHECK(f == NULL);
	CHECK_EQ(c.faults.latency_min_ns, 50000);
	CHECK_EQ(c.stream_buffer, 65536);
	CHECK_EQ(c.segment_size, 1460);
	c.faults = asup_simnet_faults_light();
	CHECK_EQ(asup_simnet_config_check(&c, NULL), 0);
	c.faults = asup_simnet_faults_heavy();
	CHECK_EQ(asup_simnet_config_check(&c, NULL), 0);
	CHECK(asup_simnet_faults_heavy().loss > asup_simnet_faults_light().loss);
}

TEST(negative_or_nan_probabilities_are_refused)
{
	asup_simnet_config c;

	asup_simnet_config_init(&c);
	c.faults.loss = -0.1;
	CHECK_STR_EQ(bad_field(&c), "net.faults.loss");
	c.faults.loss = NAN;
	CHECK_STR_EQ(bad_field(&c), "net.faults.loss");
	c.faults.loss = 0;
	c.faults.dup = 1.5;
	CHECK_STR_EQ(bad_field(&c), "net.faults.dup");
	c.faults.dup = 0;
	c.faults.reset = NAN;
	CHECK_STR_EQ(bad_field(&c), "net.faults.reset");
	CHECK_EQ(asup_simnet_config_check(NULL, NULL), -EINVAL);
}

TEST(latency_min_above_max_is_refused)
{
	asup_simnet_config c;

	asup_simnet_config_init(&c);
	c.faults.latency_min_ns = 10;
	c.faults.latency_max_ns = 5;
	CHECK_STR_EQ(bad_field(&c), "net.faults.latency_min_ns");
}

TEST(partition_ending_before_it_starts_is_refused)
{
	asup_simnet_config c;

	asup_simnet_config_init(&c);
	c.npartitions = 1;
	c.partitions[0].nhosts = 1;
	c.partitions[0].hosts[0] = host4(1);
	c.partitions[0].start_min_ns = c.partitions[0].start_max_ns = 1000;
	c.partitions[0].end_min_ns = c.partitions[0].end_max_ns = 500;
	CHECK(strstr(bad_field(&c), "net.partitions.end_min_ns") != NULL);
	c.partitions[0].end_min_ns = c.partitions[0].end_max_ns = 0; /* never heals: fine */
	CHECK_EQ(asup_simnet_config_check(&c, NULL), 0);
	c.partitions[0].nhosts = 0;
	CHECK_STR_EQ(bad_field(&c), "net.partitions.nhosts");
	c.partitions[0].nhosts = 1;
	c.partitions[0].hosts[0].family = 12345;
	CHECK_STR_EQ(bad_field(&c), "net.partitions.hosts");
	c.partitions[0].hosts[0] = host4(1);
	c.npartitions = ASUP_SIMNET_MAX_PARTITIONS + 1;
	CHECK_STR_EQ(bad_field(&c), "net.npartitions");
}

TEST(sizes_out_of_range_are_refused)
{
	asup_simnet_config c;

	asup_simnet_config_init(&c);
	c.stream_buffer = 10;
	CHECK_STR_EQ(bad_field(&c), "net.stream_buffer");
	asup_simnet_config_init(&c);
	c.segment_size = 0;
	CHECK_STR_EQ(bad_field(&c), "net.segment_size");
	asup_simnet_config_init(&c);
	c.dgram_queue = 0;
	CHECK_STR_EQ(bad_field(&c), "net.dgram_queue");
	asup_simnet_config_init(&c);
	c.stops[0].at_min_ns = 2;
	c.stops[0].at_max_ns = 1;
	c.stops[0].host = host4(2);
	c.nstops = 1;
	CHECK_STR_EQ(bad_field(&c), "net.stops.at_min_ns");
}

TEST(runtime_and_lab_creation_refuse_a_bad_network_config)
{
	asup_rt_config rc;
	asup_lab_config lc;
	asup_rt *rt = NULL;
	asup_lab *lab = NULL;
	const char *f = NULL;

	asup_rt_config_init(&rc);
	rc.mode = ASUP_MODE_DETERMINISTIC;
	rc.net.faults.loss = NAN;
	CHECK_EQ(asup_rt_config_check(&rc, &f), -EINVAL);
	CHECK_STR_EQ(f, "net.faults.loss");
	CHECK_EQ(asup_rt_create(&rc, &rt), -EINVAL);
	CHECK(rt == NULL);
	asup_lab_config_init(&lc);
	lc.net.faults.latency_min_ns = 9;
	lc.net.faults.latency_max_ns = 1;
	CHECK_EQ(asup_lab_config_check(&lc, &f), -EINVAL);
	CHECK_STR_EQ(f, "net.faults.latency_min_ns");
	CHECK_EQ(asup_lab_create(&lc, &lab), -EINVAL);
	CHECK(lab == NULL);
}

TEST(host_of_drops_the_port_and_refuses_unknown_families)
{
	struct sockaddr_in a, b;
	asup_simnet_host h1, h2;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0x0a000001);
	a.sin_port = htons(80);
	b = a;
	b.sin_port = htons(81);
	CHECK_EQ(asup_simnet_host_of((struct sockaddr *)&a, sizeof(a), &h1), 0);
	CHECK_EQ(asup_simnet_host_of((struct sockaddr *)&b, sizeof(b), &h2), 0);
	CHECK_EQ(memcmp(&h1, &h2, sizeof(h1)), 0);
	CHECK_EQ(h1.addr[0], 10);
	CHECK_EQ(asup_simnet_host_of((struct sockaddr *)&a, 4, &h1), -EINVAL);
	a.sin_family = AF_APPLETALK;
	CHECK_EQ(asup_simnet_host_of((struct sockaddr *)&a, sizeof(a), &h1), -EINVAL);
	CHECK_EQ(asup_simnet_host_of(NULL, 0, &h1), -EINVAL);
}
