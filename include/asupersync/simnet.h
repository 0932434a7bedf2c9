/*
 * asupersync/simnet.h - the simulated network of deterministic runtimes.
 *
 * In deterministic mode (asup_rt_config.mode, and so in every lab) the
 * socket calls of asupersync/net.h do not touch the operating system: they
 * talk to an in-memory network inside the runtime, so that the same program
 * runs unchanged over real sockets in real mode and over a seeded, faulty,
 * replayable network in the lab. Nothing has to be switched on: the first
 * socket call of a deterministic runtime creates its network, shaped by
 * asup_rt_config.net (asup_lab_config.net in a lab).
 *
 * The model:
 *   - Addresses are the sockaddrs the program uses (IPv4, IPv6, Unix
 *     paths). A host is an IP address without the port; every Unix path is
 *     on one host, "unix". A host exists when something is bound on it.
 *     Port 0 picks a port deterministically (from 49152 up, per family).
 *     A connecting socket's own address is the loopback address of its
 *     family (127.0.0.1, ::1) with such a port, or the host its region was
 *     given (asup_simnet_set_host); Unix clients are unnamed.
 *   - Streams (TCP, Unix stream): reliable, ordered delivery in segments of
 *     at most segment_size bytes (so reads can be short), a bounded buffer
 *     per direction (stream_buffer bytes: a writer waits while the bytes in
 *     flight plus the bytes the peer has not read fill it), half-close
 *     (asup_sock_shutdown SHUT_WR: the peer reads 0 after the data), close
 *     (the peer reads the data, then 0; writes to it fail with -EPIPE), and
 *     reset (a fault, or a close with bytes unread, which resets the peer
 *     after the route's latency instead of ending its stream: the next read
 *     or write of each side returns -ECONNRESET, later reads 0 and writes
 *     -EPIPE; data not yet read is discarded and counted as dropped).
 *     Connecting to an IP address nobody listens on returns -ECONNREFUSED
 *     after one round trip; a full backlog refuses too. A Unix path is
 *     looked up at once: -ENOENT if nothing is bound there, -EPROTOTYPE if
 *     a socket of the other type is.
 *   - Datagrams (UDP, Unix datagram): one message per send, up to 65,507
 *     bytes (-EMSGSIZE beyond); a receive truncates to the caller's buffer;
 *     a socket holds at most dgram_queue unread datagrams, later ones are
 *     dropped. Loss, duplication and reordering apply to datagrams only. A
 *     datagram from a connected UDP socket that finds no datagram socket at
 *     its destination sends a port unreachable back (after the route's
 *     latency, dropped if the route is cut): the sender's next read or
 *     write returns -ECONNREFUSED once.
 *   - Time: the runtime's virtual clock. Each packet is due at a virtual
 *     time (now + a latency drawn from the link's distribution); when no
 *     task is ready, virtual time jumps to the next due packet or timer.
 *   - Faults, drawn from the network's own random stream, which is derived
 *     from the runtime's seed (so enabling the network or its faults never
 *     changes the scheduler's choices, only what the network does): see
 *     asup_simnet_faults. A stream packet that would cross a partition is
 *     held until the partition heals (TCP retransmits); a datagram is
 *     dropped. A stopped host neither answers nor sends from the moment it
 *     stops: packets to or from it are dropped, so a peer waits until its
 *     deadline. Whether a link is partitioned or its host stopped is
 *     decided when the packet is sent.
 *   - Not simulated: fd readiness (asup_fd_wait), asup_sock_fd and files
 *     stay -ASUP_ESIMONLY in deterministic mode; there is no congestion
 *     control, no MTU but segment_size, no socket options (backlog is
 *     honoured; reuseaddr/reuseport are accepted and ignored: a bound
 *     address is taken until closed, there is no TIME_WAIT).
 *
 * Bad configs: asup_simnet_config_check (and so asup_rt_config_check,
 * asup_rt_create, asup_lab_create) returns -EINVAL and names the field for
 * a probability outside 0..1 or NaN, a min above its max, a partition that
 * ends before it starts, more entries than the arrays hold, a host of an
 * unknown family, a single delay above one year, or out-of-range sizes.
 *
 * Ownership: configs are plain values, copied at runtime creation.
 */
#ifndef ASUPERSYNC_SIMNET_H
#define ASUPERSYNC_SIMNET_H

#include <stdint.h>
#include <sys/socket.h>

#include "core.h"
#include "cx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASUP_SIMNET_MAX_PARTITIONS 4
#define ASUP_SIMNET_MAX_PARTITION_HOSTS 4
#define ASUP_SIMNET_MAX_STOPS 4
#define ASUP_SIMNET_MAX_LINKS 4

/* A host: family AF_INET (addr[0..3]), AF_INET6 (addr[0..15]) or AF_UNIX
 * (addr all zero: the one host of every Unix path). */
typedef struct asup_simnet_host {
	uint16_t family;
	uint8_t addr[16];
} asup_simnet_host;

/* The host of an address (its port or path dropped). 0, or -EINVAL for
 * NULL, a short len or an unknown family. */
ASUP_API int asup_simnet_host_of(const struct sockaddr *sa, socklen_t len, asup_simnet_host *out);

/* The faults of a link. Probabilities are in 0..1 (per packet). */
typedef struct asup_simnet_faults {
	uint64_t latency_min_ns;  /* one-way latency, uniform in min..max */
	uint64_t latency_max_ns;
	double tail_p;            /* with this probability a packet is late ... */
	uint64_t tail_ns;         /* ... by this much more */
	double loss;              /* a datagram is dropped */
	double dup;               /* a datagram arrives twice */
	double reorder;           /* a datagram is held back by reorder_ns, so that
	                             later ones overtake it */
	uint64_t reorder_ns;
	double stall;             /* a stream segment (and all behind it) is held
	                             back by stall_ns */
	uint64_t stall_ns;
	double reset;             /* a stream segment resets its connection
	                             instead of arriving */
} asup_simnet_faults;

/* A partition: the hosts listed can reach each other but no other host,
 * from a start time to an end time (virtual ns since the runtime started),
 * each drawn uniformly in its min..max (equal bounds: a chosen time). End
 * 0..0 means it never heals; otherwise end_min must exceed start_max. */
typedef struct asup_simnet_partition {
	uint64_t start_min_ns, start_max_ns;
	uint64_t end_min_ns, end_max_ns;
	uint32_t nhosts;  /* 1 .. ASUP_SIMNET_MAX_PARTITION_HOSTS */
	asup_simnet_host hosts[ASUP_SIMNET_MAX_PARTITION_HOSTS];
} asup_simnet_partition;

/* A host that stops answering at a time drawn in at_min..at_max, for good. */
typedef struct asup_simnet_stop {
	asup_simnet_host host;
	uint64_t at_min_ns, at_max_ns;
} asup_simnet_stop;

/* Faults for the traffic between two hosts (both directions), instead of
 * the network's default faults. */
typedef struct asup_simnet_link {
	asup_simnet_host a, b;
	asup_simnet_faults faults;
} asup_simnet_link;

typedef struct asup_simnet_config {
	asup_simnet_faults faults;   /* every link without an entry in links */
	uint32_t stream_buffer;      /* bytes per stream direction (1 KiB .. 16 MiB) */
	uint32_t segment_size;       /* most bytes a stream delivers at once (1 .. stream_buffer) */
	uint32_t backlog_max;        /* cap on a listener's backlog (1 .. 65536) */
	uint32_t dgram_queue;        /* unread datagrams a socket holds (1 .. 65536) */
	uint32_t npartitions;
	asup_simnet_partition partitions[ASUP_SIMNET_MAX_PARTITIONS];
	uint32_t nstops;
	asup_simnet_stop stops[ASUP_SIMNET_MAX_STOPS];
	uint32_t nlinks;
	asup_simnet_link links[ASUP_SIMNET_MAX_LINKS];
} asup_simnet_config;

/* Defaults: a perfect network with a fixed 50 us one-way latency, 64 KiB
 * stream buffers, 1,460-byte segments, backlogs up to 4096, 256 queued
 * datagrams, no partition, no stop. asup_rt_config_init and
 * asup_lab_config_init call it. */
ASUP_API void asup_simnet_config_init(asup_simnet_config *cfg);
/* 0, or -EINVAL with *field (may be NULL) naming the first bad field. */
ASUP_API int asup_simnet_config_check(const asup_simnet_config *cfg, const char **field);

/* Presets, like the lab's chaos presets: light = latency 20..200 us with a
 * 1% tail of 5 ms, 1% loss, 0.5% duplication, 1% reordering by 1 ms, 0.5%
 * stalls of 10 ms, 0.01% resets; heavy = latency 50 us..2 ms with a 5% tail
 * of 50 ms, 10% loss, 5% duplication, 10% reordering by 5 ms, 5% stalls of
 * 100 ms, 0.1% resets. */
ASUP_API asup_simnet_faults asup_simnet_faults_light(void);
ASUP_API asup_simnet_faults asup_simnet_faults_heavy(void);

/*
 * Deterministic mode: sockets opened from now on in the current scope's
 * region and the regions below it speak from `host` instead of the
 * loopback address (a connect gets a picked port on it; a datagram sent
 * from a socket bound to the wildcard address comes from it), so that a lab
 * can place a group of tasks on a host of its own and partitions and stops
 * apply to their outgoing traffic too. A later call for the same region
 * replaces its host; the nearest region with a host wins. The host is
 * copied. 0; -ASUP_ENOTDET in real mode (the system picks source
 * addresses; a program calls it and ignores that code to run both ways);
 * -EINVAL (NULL, a family other than AF_INET/AF_INET6, or the wildcard
 * address); -ASUP_ECAPACITY (64 live regions have a host already);
 * -ASUP_ENOTASK; -EPERM (no ASUP_CAP_IO).
 */
ASUP_API int asup_simnet_set_host(asup_cx *cx, const asup_simnet_host *host);

#ifdef __cplusplus
}
#endif

#endif
