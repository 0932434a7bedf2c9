/*
 * Files and name resolution.
 *
 * Like the socket calls (asupersync/net.h), every call takes the calling
 * task's cx, needs ASUP_CAP_IO (-EPERM without it) and a runtime in real
 * mode (-ASUP_ESIMONLY in deterministic mode; asup_resolve alone answers
 * there, see below). Common codes: -ASUP_ENOTASK
 * (cx is not the running task's), -EPERM, -ASUP_ESIMONLY, -EINVAL (NULL or
 * bad argument), -ENOSYS (the reactor could not be created), -ENOMEM.
 *
 * Files. On the io_uring backend every file call is one kernel operation
 * (open, read, write, fsync, close: IORING_OP_OPENAT, READ, WRITE, FSYNC,
 * CLOSE) that the calling task waits for while the runtime thread runs other
 * tasks. On the epoll backend (regular files are always "ready" for epoll)
 * the system calls run on the runtime's blocking pool instead. Every call
 * but asup_file_close is a checkpoint on entry: a task already cancelled
 * (or past an asup_timeout deadline) gets -ECANCELED (-ETIMEDOUT) and
 * nothing is done. A cancel that arrives while a call is in flight:
 *   - io_uring: the runtime asks the kernel to cancel the operation and
 *     waits for the operation's completion before the call returns. If the
 *     kernel had not done it yet, the call returns -ECANCELED (-ETIMEDOUT)
 *     and nothing was read or written (a read of an empty pipe or FIFO is
 *     taken back this way); if it had, the call reports its result (the
 *     bytes read are in the buffer, the count written is returned) and the
 *     cancel is seen at the next checkpoint;
 *   - epoll: the pool's system call is never interrupted: it finishes and
 *     the call reports its result (so a read of an empty FIFO waits for
 *     data even when cancelled); the cancel is seen at the next checkpoint.
 * Either way no thread and no kernel operation ever touches a buffer after
 * the call returned, and nothing read or written goes unreported.
 *
 * Ownership: a file is owned by the region of the current scope when it was
 * opened. Closing that region closes the files still open in it and reports
 * each through the report hook (asupersync/report.h; stderr by default). Using a handle after asup_file_close returns -EBADF,
 * after its region closed -ASUP_ECLOSED.
 *
 * Name resolution runs getaddrinfo(3) on the blocking pool. A cancel (or
 * deadline) returns -ECANCELED (-ETIMEDOUT) at once; the lookup finishes in
 * the background (the task's region stays open until it did) and its result
 * is freed there.
 */
#ifndef ASUPERSYNC_IO_H
#define ASUPERSYNC_IO_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.h"
#include "cx.h"
#include "rt.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asup_file {
	uint64_t _region;
	void *_p;
} asup_file;

/* Opens path with open(2) flags (O_RDONLY, O_WRONLY, O_RDWR, O_CREAT,
 * O_TRUNC, O_APPEND, ...; O_CLOEXEC is always added) and mode for O_CREAT.
 * -EINVAL for NULL path or out, else the open's -errno (-ENOENT, -EACCES,
 * -EISDIR, -EEXIST, ...), -ECANCELED/-ETIMEDOUT, a common code. */
ASUP_API int asup_file_open(asup_cx *cx, const char *path, int flags, mode_t mode,
			    asup_file *out);
/* Reads up to len bytes at the file's offset (and moves it). The count,
 * 0 at end of file; len 0 returns 0 without a system call; -EINVAL for a
 * NULL buf with len > 0; -EBADF (closed, or not opened for reading),
 * -ASUP_ECLOSED, -EISDIR, -EIO, -ECANCELED/-ETIMEDOUT (before the start
 * only), a common code. */
ASUP_API int64_t asup_file_read(asup_cx *cx, asup_file f, void *buf, size_t len);
/* Writes up to len bytes at the file's offset (at its end with O_APPEND).
 * The count written; codes as for asup_file_read, and -ENOSPC, -EFBIG. */
ASUP_API int64_t asup_file_write(asup_cx *cx, asup_file f, const void *buf, size_t len);
/* The same at offset off (the file's offset does not move); -EINVAL for
 * off < 0, -ESPIPE for a pipe or socket. */
ASUP_API int64_t asup_file_pread(asup_cx *cx, asup_file f, void *buf, size_t len, int64_t off);
ASUP_API int64_t asup_file_pwrite(asup_cx *cx, asup_file f, const void *buf, size_t len,
				  int64_t off);
/* fsync(2): 0, -EIO, -EBADF, -ASUP_ECLOSED, -ECANCELED/-ETIMEDOUT, a
 * common code. */
ASUP_API int asup_file_fsync(asup_cx *cx, asup_file f);
/* Closes the file: 0, -EBADF (already closed), -ASUP_ECLOSED, or the
 * close's -errno (-EIO). Not a checkpoint and not interrupted by a cancel:
 * the fd is always closed (on io_uring the task waits, masked, for the
 * kernel's close; while another task's call still uses the file, the fd is
 * closed when that call ends). */
ASUP_API int asup_file_close(asup_cx *cx, asup_file f);
/* The underlying fd (borrowed: never close it yourself); -EBADF,
 * -ASUP_ECLOSED. */
ASUP_API int asup_file_fd(asup_cx *cx, asup_file f);

/* Resolves host and/or service (either may be NULL, not both) as
 * getaddrinfo(3) with hints (may be NULL). On success *out holds the list,
 * which the caller frees with asup_resolve_free. Codes: -EINVAL (both NULL,
 * NULL out, bad hints flags, family or socket type), -ENOENT (no such name,
 * or no address of the asked family), -ESRCH (unknown service), -EAGAIN
 * (temporary failure of the name server), -EIO (permanent failure),
 * -ENOMEM, -ECANCELED/-ETIMEDOUT (at once; see above), a common code.
 * In deterministic mode (the simulated network) it answers at once and the
 * same everywhere: numeric hosts and services, and "localhost" (127.0.0.1,
 * or ::1 when hints ask for AF_INET6); other names -ENOENT, service names
 * -ESRCH. */
ASUP_API int asup_resolve(asup_cx *cx, const char *host, const char *service,
			  const struct addrinfo *hints, struct addrinfo **out);
/* Frees a list from asup_resolve (NULL is fine). */
ASUP_API void asup_resolve_free(struct addrinfo *res);

/* ---- signals ---- */

/*
 * A signal watch catches the signals it names from the moment it is opened
 * (their default action, e.g. ending the process on SIGTERM, no longer
 * happens) until it is closed, when the disposition they had before is
 * restored (once the last watch naming a signal closed). Signals sent to the
 * process are counted whichever thread receives them; asup_signal_wait
 * returns one per delivery the kernel made (the kernel merges deliveries of
 * a signal that arrive before the first is handled). Watches are owned by
 * the region of the current scope; a region closing with one open closes it
 * and reports it. At most 64 watches are open in the process at a time.
 * Signal dispositions are process-wide: do not also install handlers of
 * your own for the signals a watch names.
 */
#define ASUP_SIGNAL_WATCH_MAX 8

typedef struct asup_sigwatch {
	uint64_t _region;
	void *_p;
} asup_sigwatch;

/* Opens a watch for sigs[0..n-1] (1 .. ASUP_SIGNAL_WATCH_MAX signals).
 * -EINVAL for NULL sigs or out, a bad n, or a signal that cannot be caught
 * or is a fault signal (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * 0, out of range); -EMFILE (64 watches open), -errno of eventfd or
 * sigaction, a common code. */
ASUP_API int asup_signal_open(asup_cx *cx, const int *sigs, int n, asup_sigwatch *out);
/* Waits for the next delivery of one of the watch's signals since the
 * watch was opened (or since the previous wait returned it) and returns the
 * signal number (> 0). A checkpoint: -ECANCELED/-ETIMEDOUT. -EBADF (closed,
 * also when closed while waiting), -ASUP_ECLOSED (its region closed), a
 * common code. */
ASUP_API int asup_signal_wait(asup_cx *cx, asup_sigwatch w);
/* Closes the watch: 0, -EBADF (already closed), -ASUP_ECLOSED. */
ASUP_API int asup_signal_close(asup_cx *cx, asup_sigwatch w);

/*
 * Runs fn(cx, arg) like asup_rt_run, in a region of its own, with a graceful
 * shutdown on SIGINT and SIGTERM (caught for the duration of the call, as
 * by a signal watch):
 *   - the first of them cancels fn's region with an ASUP_CANCEL_SHUTDOWN
 *     reason (its message names the signal): fn and its tasks see
 *     -ECANCELED at their next checkpoint and run their cleanup;
 *   - if that region has not closed grace_ns later, or if a second SIGINT or
 *     SIGTERM arrives, the process ends at once with _exit(128 + signo)
 *     (130 for SIGINT, 143 for SIGTERM, as a shell reports them).
 * *out (may be NULL) gets the outcome of fn's region: what fn returned
 * (also after a shutdown, once its cleanup is done: the reason is visible to
 * it through asup_cx_cancel_reason), or Cancelled / Panicked as for any
 * region. Returns 0, -EINVAL (NULL rt or fn),
 * or asup_rt_run's codes. The runtime must be in real mode with the I/O
 * capability for the root task (else *out is an Err with -ASUP_ESIMONLY or
 * -EPERM and fn did not run).
 */
ASUP_API int asup_rt_run_main(asup_rt *rt, asup_task_fn fn, void *arg, uint64_t grace_ns,
			      asup_outcome *out);

#ifdef __cplusplus
}
#endif

#endif
