/* Load and faults on loopback: 10,000 connections held open at once and
 * echoed (the clients in a child process, so that each side fits the fd
 * limit), 100,000 short connections with no fd left behind, accept at the
 * fd limit (a prompt -EMFILE, then recovery with the connection still
 * queued; a retrying loop backs off instead of spinning), and a slow-loris client cut by the server's deadline. Counts
 * shrink under Valgrind and TSan. */
#include "iotest.h"

#include <netinet/tcp.h>
#include <poll.h>

static int slow_tools(void)
{
#if defined(__SANITIZE_THREAD__)
	return 1;
#else
	return getenv("ASUP_UNDER_VALGRIND") != NULL;
#endif
}

/* Raises the soft fd limit to at least want; skips (77) if the hard limit
 * does not allow it. */
static void need_fds(rlim_t want)
{
	struct rlimit rl;

	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		fprintf(stderr, "fd hard limit %llu < %llu needed: skipped\n",
			(unsigned long long)rl.rlim_max, (unsigned long long)want);
		exit(77);
	}
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
}

/* ---- many connections held at once ---- */

struct many {
	asup_socket ls;
	int n;
	int echoed;
};

static int64_t echo_once(asup_cx *cx, void *arg)
{
	struct many *m = ((void **)arg)[0];
	asup_socket s = *(asup_socket *)((void **)arg)[1];
	char buf[64];
	int64_t n;

	free(((void **)arg)[1]);
	free(arg);
	while ((n = asup_sock_read(cx, s, buf, sizeof(buf))) > 0) {
		if (asup_sock_write_all(cx, s, buf, (size_t)n, NULL) < 0)
			break;
		m->echoed++;
	}
	asup_sock_close(cx, s);
	return 0;
}

static int64_t many_server(asup_cx *cx, void *arg)
{
	struct many *m = arg;
	asup_task *hs = calloc((size_t)m->n, sizeof(*hs));
	asup_outcome o;

	for (int i = 0; i < m->n; i++) {
		void **pair = malloc(2 * sizeof(void *));
		asup_socket *s = malloc(sizeof(*s));
		CHECK_EQ(asup_sock_accept(cx, m->ls, s, NULL, NULL), 0);
		pair[0] = m;
		pair[1] = s;
		CHECK_EQ(asup_spawn(cx, echo_once, pair, NULL, &hs[i]), 0);
	}
	for (int i = 0; i < m->n; i++)
		CHECK_EQ(asup_join(cx, &hs[i], &o), 0);
	free(hs);
	return asup_sock_close(cx, m->ls);
}

/* The child: opens n connections, holds them all, then sends 8 bytes on
 * each and reads the echo back; exits 0 if every echo came back. */
static void many_clients(uint16_t port, int n)
{
	struct sockaddr_in a = io_lo4(port);
	int *fds = calloc((size_t)n, sizeof(int));

	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(10);
	}
	for (int i = 0; i < n; i++)
		if (write(fds[i], "12345678", 8) != 8)
			_exit(11);
	for (int i = 0; i < n; i++) {
		char b[8];
		size_t got = 0;
		while (got < 8) {
			ssize_t r = read(fds[i], b + got, 8 - got);
			if (r <= 0)
				_exit(12);
			got += (size_t)r;
		}
		if (memcmp(b, "12345678", 8) != 0)
			_exit(13);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	_exit(0);
}

static int64_t many_root(asup_cx *cx, void *arg)
{
	struct many *m = arg;
	struct sockaddr_in a = io_lo4(0);
	socklen_t len = sizeof(a);
	asup_listen_opts o;
	int st;
	pid_t pid;

	asup_listen_opts_init(&o);
	o.backlog = 4096;
	CHECK_EQ(asup_tcp_listen(cx, (struct sockaddr *)&a, sizeof(a), &o, &m->ls), 0);
	CHECK_EQ(asup_sock_local_addr(cx, m->ls, (struct sockaddr *)&a, &len), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		many_clients(ntohs(a.sin_port), m->n);
	CHECK_EQ(many_server(cx, m), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	return 0;
}

TEST(ten_thousand_connections_held_at_once_are_all_echoed)
{
	struct many m;
	asup_rt *rt;

	memset(&m, 0, sizeof(m));
	m.n = slow_tools() ? 500 : 10000;
	need_fds((rlim_t)m.n + 64);
	rt = io_rt();
	CHECK_EQ(io_run(rt, many_root, &m), 0);
	CHECK_EQ(m.echoed, m.n);
	test_rt_done(rt);
}

/* ---- short connections, no fd leak ---- */

struct shorts {
	asup_socket ls;
	struct sockaddr_in a;
	int n;
};

static int64_t short_server(asup_cx *cx, void *arg)
{
	struct shorts *s = arg;
	asup_socket c;
	char b;

	for (int i = 0; i < s->n; i++) {
		CHECK_EQ(asup_sock_accept(cx, s->ls, &c, NULL, NULL), 0);
		/* The client's reset or end of stream. */
		CHECK(asup_sock_read(cx, c, &b, 1) <= 0);
		CHECK_EQ(asup_sock_close(cx, c), 0);
	}
	return 0;
}

static int64_t short_root(asup_cx *cx, void *arg)
{
	struct shorts *s = arg;
	struct linger lg = {1, 0};
	asup_task h;
	asup_outcome o;
	asup_socket c;

	s->a = io_lo4(io_listen4(cx, &s->ls));
	CHECK_EQ(asup_spawn(cx, short_server, s, NULL, &h), 0);
	for (int i = 0; i < s->n; i++) {
		CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&s->a, sizeof(s->a), &c), 0);
		/* Reset on close: no TIME_WAIT, so the ports are not used up. */
		CHECK_EQ(setsockopt(asup_sock_fd(cx, c), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
		CHECK_EQ(asup_sock_close(cx, c), 0);
	}
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(o.kind, ASUP_OUTCOME_OK);
	return asup_sock_close(cx, s->ls);
}

TEST(hundred_thousand_short_connections_leave_no_fd_behind)
{
	struct shorts s;
	asup_rt *rt = io_rt();
	int before;

	memset(&s, 0, sizeof(s));
	s.n = slow_tools() ? 1000 : 100000;
	/* The reactor's own fds exist from the first I/O call on: count after
	 * a first, small run. */
	s.n = 10;
	CHECK_EQ(io_run(rt, short_root, &s), 0);
	before = io_count_fds();
	s.n = slow_tools() ? 1000 : 100000;
	CHECK_EQ(io_run(rt, short_root, &s), 0);
	CHECK_EQ(io_count_fds(), before);
	test_rt_done(rt);
}

/* ---- accept at the fd limit ---- */

static int64_t emfile_root(asup_cx *cx, void *arg)
{
	asup_socket ls, c;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	struct rlimit rl, low;
	int cl = socket(AF_INET, SOCK_STREAM, 0), spare;
	uint64_t polls;

	(void)arg;
	CHECK(cl >= 0);
	CHECK_EQ(connect(cl, (struct sockaddr *)&a, sizeof(a)), 0);
	/* No fd left for the accepted connection. */
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	while ((spare = dup(0)) >= 0)
		; /* use up the fds below the current limit */
	CHECK_EQ(errno, EMFILE);
	low.rlim_cur = (rlim_t)io_count_fds();
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	polls = asup_cx_checkpoints(cx);
	/* A prompt, clear code, not a spin nor a hang. */
	CHECK_EQ(asup_sock_accept(cx, ls, &c, NULL, NULL), -EMFILE);
	CHECK(asup_cx_checkpoints(cx) - polls < 100);
	/* Recovery: with room again, the queued connection is accepted. */
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	for (int fd = (int)low.rlim_cur - 1; fd > cl; fd--)
		if (fd != asup_sock_fd(cx, ls))
			close(fd);
	CHECK_EQ(asup_sock_accept(cx, ls, &c, NULL, NULL), 0);
	CHECK_EQ(write(cl, "x", 1), 1);
	{
		char b;
		CHECK_EQ(asup_sock_read(cx, c, &b, 1), 1);
		CHECK_EQ(b, 'x');
	}
	close(cl);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	return asup_sock_close(cx, ls);
}

TEST(accept_at_the_fd_limit_returns_emfile_promptly_and_recovers)
{
	asup_rt *rt;

	if (getenv("ASUP_UNDER_VALGRIND")) {
		/* Valgrind keeps fds of its own above the limit and lets the
		 * program exceed it. */
		fprintf(stderr, "fd limits are not enforced under valgrind: skipped\n");
		exit(77);
	}
	rt = io_rt();
	need_fds(256);
	{
		/* A small limit, so that using it up is quick. */
		struct rlimit rl;
		CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
		rl.rlim_cur = 256;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	CHECK_EQ(io_run(rt, emfile_root, NULL), 0);
	test_rt_done(rt);
}

static int64_t accept_once(asup_cx *cx, void *arg)
{
	asup_socket *ls = arg, c;

	return asup_sock_accept(cx, *ls, &c, NULL, NULL);
}

/* A server loop that retries accept at the fd limit for 300 ms: it makes a
 * handful of attempts (the back-off doubles from 1 ms), not thousands, and
 * its runtime waits in the reactor rather than polling it hot. The back-off
 * sleep is a checkpoint: a deadline ends it. */
static int64_t retry_root(asup_cx *cx, void *arg)
{
	asup_rt *rt = arg;
	asup_socket ls, c;
	struct sockaddr_in a = io_lo4(io_listen4(cx, &ls));
	struct rlimit rl, low;
	int cl = socket(AF_INET, SOCK_STREAM, 0), spare, attempts = 0;
	uint64_t polls;
	asup_time end;

	CHECK(cl >= 0);
	CHECK_EQ(connect(cl, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	while ((spare = dup(0)) >= 0)
		; /* use up the fds below the current limit */
	CHECK_EQ(errno, EMFILE);
	low.rlim_cur = (rlim_t)io_count_fds();
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	polls = asup__io_polls(rt);
	end = asup_now(cx) + 300000000ull;
	while (asup_now(cx) < end) {
		CHECK_EQ(asup_sock_accept(cx, ls, &c, NULL, NULL), -EMFILE);
		attempts++;
	}
	/* 1 + 2 + 4 + ... ms: about 9 attempts in 300 ms; a spin makes
	 * thousands. Each wait is one reactor wait (or a few). */
	CHECK(attempts >= 2);
	CHECK(attempts <= 20);
	CHECK(asup__io_polls(rt) - polls <= 100);
	/* The back-off is at its 100 ms cap now: a 5 ms deadline ends it. */
	CHECK_EQ(asup_timeout(cx, 5000000, accept_once, &ls), -ETIMEDOUT);
	/* Recovery: with room again, the next accept after the back-off takes
	 * the queued connection. */
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	for (int fd = (int)low.rlim_cur - 1; fd > cl; fd--)
		if (fd != asup_sock_fd(cx, ls))
			close(fd);
	CHECK_EQ(asup_sock_accept(cx, ls, &c, NULL, NULL), 0);
	close(cl);
	CHECK_EQ(asup_sock_close(cx, c), 0);
	return asup_sock_close(cx, ls);
}

TEST(accept_retried_at_the_fd_limit_backs_off_instead_of_spinning)
{
	asup_rt *rt;

	if (getenv("ASUP_UNDER_VALGRIND")) {
		fprintf(stderr, "fd limits are not enforced under valgrind: skipped\n");
		exit(77);
	}
	rt = io_rt();
	need_fds(256);
	{
		struct rlimit rl;
		CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
		rl.rlim_cur = 256;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	CHECK_EQ(io_run(rt, retry_root, rt), 0);
	test_rt_done(rt);
}

/* ---- slow loris ---- */

struct loris {
	asup_socket ls;
	struct sockaddr_in a;
	int64_t server_rc;
	size_t sent;
	int cut;
};

struct hdr {
	asup_socket c;
	char buf[256];
	size_t have;
};

static int64_t read_header(asup_cx *cx, void *arg)
{
	struct hdr *h = arg;

	while (!memmem(h->buf, h->have, "\r\n\r\n", 4)) {
		int64_t n = asup_sock_read(cx, h->c, h->buf + h->have, sizeof(h->buf) - h->have);
		if (n <= 0)
			return n < 0 ? n : -ECONNRESET;
		h->have += (size_t)n;
	}
	return 0;
}

static int64_t loris_server(asup_cx *cx, void *arg)
{
	struct loris *l = arg;
	struct hdr h;

	memset(&h, 0, sizeof(h));
	CHECK_EQ(asup_sock_accept(cx, l->ls, &h.c, NULL, NULL), 0);
	/* The whole header within 100 ms, however the bytes trickle in. */
	l->server_rc = asup_timeout(cx, 100000000, read_header, &h);
	return asup_sock_close(cx, h.c);
}

static int64_t loris_root(asup_cx *cx, void *arg)
{
	struct loris *l = arg;
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n"
				  "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	asup_socket c;
	asup_task h;
	asup_outcome o;

	l->a = io_lo4(io_listen4(cx, &l->ls));
	CHECK_EQ(asup_spawn(cx, loris_server, l, NULL, &h), 0);
	CHECK_EQ(asup_tcp_connect(cx, (struct sockaddr *)&l->a, sizeof(l->a), &c), 0);
	/* One byte every 20 ms: the full request would take about 2 s. */
	for (l->sent = 0; l->sent < sizeof(req) - 1; l->sent++) {
		char b;
		int64_t wr = asup_sock_write(cx, c, req + l->sent, 1);
		/* The server hung up with a byte of ours unread: the kernel
		 * reset the connection rather than ending it. */
		if (wr == -ECONNRESET || wr == -EPIPE) {
			l->cut = 1;
			break;
		}
		if (wr < 0)
			break;
		CHECK_EQ(asup_sleep(cx, 20000000), 0);
		{
			/* Has the server hung up (an end of stream, or a reset
			 * if it closed with bytes unread)? A peek, so nothing
			 * is taken. */
			struct pollfd p = {asup_sock_fd(cx, c), POLLIN, 0};
			ssize_t pr = poll(&p, 1, 0) == 1 ? recv(p.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) : 1;
			if (pr == 0 || (pr < 0 && errno == ECONNRESET)) {
				l->cut = 1;
				break;
			}
		}
	}
	CHECK_EQ(asup_join(cx, &h, &o), 0);
	CHECK_EQ(asup_sock_close(cx, l->ls), 0);
	return asup_sock_close(cx, c);
}

TEST(slow_loris_client_is_cut_by_the_servers_deadline)
{
	struct loris l;
	asup_rt *rt = io_rt();

	memset(&l, 0, sizeof(l));
	CHECK_EQ(io_run(rt, loris_root, &l), 0);
	CHECK_EQ(l.server_rc, -ETIMEDOUT);
	CHECK_EQ(l.cut, 1);
	CHECK(l.sent < 60);
	test_rt_done(rt);
}
