/*
 * Lab recordings of runs with network traffic: the recording keeps the
 * network's config, and following it replays the run exactly (same steps,
 * same digest, no divergence); a corrupt network section is refused.
 */
#include "simtest.h"
#include "lab/recfile.h"

#define NCLIENT 6

static int64_t echo_conn(asup_cx *cx, void *arg)
{
	asup_socket s = *(asup_socket *)arg;
	char buf[512];
	int64_t n;

	while ((n = asup_sock_read(cx, s, buf, sizeof(buf))) > 0)
		if (asup_sock_write_all(cx, s, buf, (size_t)n, NULL) < 0)
			break;
	asup_sock_close(cx, s);
	return 0;
}

static int64_t srv(asup_cx *cx, void *arg)
{
	asup_socket *ls = arg, c[NCLIENT];
	asup_task h[NCLIENT];
	asup_outcome o;

	for (int i = 0; i < NCLIENT; i++) {
		CHECK_EQ(asup_sock_accept(cx, *ls, &c[i], NULL, NULL), 0);
		CHECK_EQ(asup_spawn(cx, echo_conn, &c[i], NULL, &h[i]), 0);
	}
	for (int i = 0; i < NCLIENT; i++)
		CHECK_EQ(asup_join(cx, &h[i], &o), 0);
	return 0;
}

static int64_t cli(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	char msg[3000], back[3000];
	size_t got = 0;
	asup_socket s;
	int64_t n;

	(void)arg;
	memset(msg, 'q', sizeof(msg));
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&a, sizeof(a), &s), 0);
	CHECK_EQ(asup_sock_write_all(cx, s, msg, sizeof(msg), NULL), 0);
	CHECK_EQ(asup_sock_shutdown(cx, s, SHUT_WR), 0);
	while ((n = asup_sock_read(cx, s, back + got, sizeof(back) - got)) > 0)
		got += (size_t)n;
	asup_sock_close(cx, s);
	return (int64_t)got;
}

static int64_t traffic(asup_cx *cx, void *arg)
{
	struct sockaddr_in a = sim_in4(10, 0, 0, 1, 80);
	asup_socket ls;
	asup_task s, c[NCLIENT];
	asup_outcome o;
	int64_t total = 0;

	(void)arg;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), NULL, &ls), 0);
	CHECK_EQ(asup_spawn(cx, srv, &ls, NULL, &s), 0);
	for (int i = 0; i < NCLIENT; i++)
		CHECK_EQ(asup_spawn(cx, cli, NULL, NULL, &c[i]), 0);
	for (int i = 0; i < NCLIENT; i++) {
		CHECK_EQ(asup_join(cx, &c[i], &o), 0);
		total += o.value;
	}
	CHECK_EQ(asup_join(cx, &s, &o), 0);
	asup_sock_close(cx, ls);
	return total;
}

TEST(a_recorded_run_with_network_faults_replays_exactly)
{
	char path[] = "/tmp/asup-simnet-replay-XXXXXX", h1[33], h2[33];
	asup_lab_config cfg, rc;
	asup_lab *lab;
	asup_lab_replay *r;
	asup_outcome o;
	uint64_t at = 0;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	asup_lab_config_init(&cfg);
	cfg.seed = 77;
	cfg.workers = 2;
	cfg.max_steps = 1000000;
	cfg.net.faults = asup_simnet_faults_heavy();
	cfg.net.faults.reset = 0;
	cfg.net.segment_size = 700;
	cfg.check_every_step = 1;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, traffic, NULL, &o), 0);
	CHECK_EQ(o.value, NCLIENT * 3000);
	CHECK_EQ(asup_lab_save(lab, path, "net"), 0);
	CHECK_EQ(asup_lab_digest_hex(lab, h1), 0);
	CHECK(sim_totals(asup_lab_rt(lab)).bytes_delivered > 0);
	asup_lab_destroy(lab);

	CHECK_EQ(asup_lab_replay_load(path, &r, NULL), 0);
	CHECK_EQ(asup_lab_replay_config(r, &rc), 0);
	CHECK_EQ(rc.net.segment_size, 700);
	CHECK(rc.net.faults.loss == cfg.net.faults.loss);
	CHECK_EQ(rc.net.faults.latency_max_ns, cfg.net.faults.latency_max_ns);
	CHECK_EQ(asup_lab_create(&rc, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), 0);
	CHECK_EQ(asup_lab_run(lab, traffic, NULL, &o), 0);
	CHECK_EQ(asup_lab_divergence(lab, &at), 0);
	CHECK_EQ(asup_lab_digest_hex(lab, h2), 0);
	CHECK_STR_EQ(h1, h2);
	asup_lab_destroy(lab);
	asup_lab_replay_free(r);

	/* The same recording followed under another network diverges. */
	CHECK_EQ(asup_lab_replay_load(path, &r, NULL), 0);
	rc.net.faults = asup_simnet_faults_light();
	CHECK_EQ(asup_lab_create(&rc, &lab), 0);
	CHECK_EQ(asup_lab_follow(lab, r), 0);
	if (asup_lab_run(lab, traffic, NULL, &o) == 0)
		CHECK(asup_lab_divergence(lab, &at) == 1);
	CHECK_EQ(asup_lab_divergence(lab, &at), 1);
	asup_lab_destroy(lab);
	asup_lab_replay_free(r);
	unlink(path);
}

TEST(a_recording_with_a_corrupt_network_section_is_refused)
{
	asup_lab_config cfg;
	asup_lab *lab;
	asup_lab_replay *r;
	asup_outcome o;
	char path[] = "/tmp/asup-simnet-bad-XXXXXX";
	const char *why = NULL;
	unsigned char *buf;
	FILE *f;
	long len;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	asup_lab_config_init(&cfg);
	cfg.net.faults.loss = 0.25;
	CHECK_EQ(asup_lab_create(&cfg, &lab), 0);
	CHECK_EQ(asup_lab_run(lab, traffic, NULL, &o), 0);
	CHECK_EQ(asup_lab_save(lab, path, "net"), 0);
	asup_lab_destroy(lab);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	CHECK_EQ(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	CHECK_EQ(buf[8], 2); /* version 2: it carries the network */
	/* loss is the fifth u64 of the network section, after the name. */
	{
		double nan_loss = -1.0;
		memcpy(buf + 108 + 32, &nan_loss, 8);
	}
	/* With the check value fixed, only the field check can refuse it. */
	recf_fix_check(buf, (size_t)len);
	CHECK_EQ(asup_lab_replay_decode(buf, (size_t)len, &r, &why), -ASUP_ECORRUPT);
	CHECK(why != NULL && strstr(why, "network") != NULL);
	free(buf);
	unlink(path);
}
