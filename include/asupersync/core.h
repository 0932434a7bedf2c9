/*
 * asupersync/core.h - pure values shared by every layer: error codes, time,
 * outcomes.
 *
 * Ownership: nothing here allocates. asup_strerror() and asup_err_name()
 * return pointers to static strings.
 *
 * Errors: every function of the library returns int; >= 0 is success (or a
 * count), a negative value is -ASUP_E... which equals -errno wherever an errno
 * exists. errno is never used as a channel: all fibers on a thread share it.
 */
#ifndef ASUPERSYNC_CORE_H
#define ASUPERSYNC_CORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ASUP_NODISCARD __attribute__((warn_unused_result))
#define ASUP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ASUP_NORETURN __attribute__((noreturn))
#define ASUP_API __attribute__((visibility("default")))
#else
#define ASUP_NODISCARD
#define ASUP_PRINTF(f, a)
#define ASUP_NORETURN
#define ASUP_API
#endif

#define ASUP_VERSION_MAJOR 0
#define ASUP_VERSION_MINOR 1
#define ASUP_VERSION_PATCH 0

/* Runtime-specific error codes live above every errno value. */
#define ASUP_ERRBASE 10000

/*
 * The one error table: X(NAME, value, text). Codes that exist as errno use
 * the errno value so that -ASUP_ENOMEM == -ENOMEM.
 */
#define ASUP_ERRNO_TABLE(X)                                                   \
	X(ASUP_OK, 0, "success")                                              \
	X(ASUP_EPERM, EPERM, "operation not permitted")                       \
	X(ASUP_ESRCH, ESRCH, "no such task or region (stale or unknown handle)") \
	X(ASUP_EAGAIN, EAGAIN, "not ready yet; try again")                    \
	X(ASUP_ENOMEM, ENOMEM, "out of memory")                               \
	X(ASUP_EBUSY, EBUSY, "resource busy")                                 \
	X(ASUP_EXDEV, EXDEV, "handle belongs to another runtime")             \
	X(ASUP_EINVAL, EINVAL, "invalid argument")                            \
	X(ASUP_EDEADLK, EDEADLK, "every task is blocked and nothing can wake one") \
	X(ASUP_ENOSYS, ENOSYS, "not supported by this runtime mode")          \
	X(ASUP_ECANCELED, ECANCELED, "operation cancelled")                   \
	X(ASUP_ETIMEDOUT, ETIMEDOUT, "deadline passed")                       \
	X(ASUP_EALREADY, EALREADY, "operation already done")                  \
	X(ASUP_EPIPE, EPIPE, "closed: the other side is gone or it was closed") \
	X(ASUP_EIO, EIO, "input/output error: a file could not be read or written") \
	X(ASUP_EBADF, EBADF, "bad file descriptor, or a socket already closed") \
	X(ASUP_EINTR, EINTR, "interrupted by a signal") \
	X(ASUP_EEXIST, EEXIST, "already exists") \
	X(ASUP_ENOENT, ENOENT, "no such file or directory") \
	X(ASUP_EACCES, EACCES, "permission denied") \
	X(ASUP_EMFILE, EMFILE, "too many open files in this process") \
	X(ASUP_ENFILE, ENFILE, "too many open files in the system") \
	X(ASUP_ENOSPC, ENOSPC, "no space left on the device") \
	X(ASUP_ENOTSOCK, ENOTSOCK, "not a socket") \
	X(ASUP_EMSGSIZE, EMSGSIZE, "message too long for the socket") \
	X(ASUP_EAFNOSUPPORT, EAFNOSUPPORT, "address family not supported") \
	X(ASUP_EADDRINUSE, EADDRINUSE, "address already in use") \
	X(ASUP_EADDRNOTAVAIL, EADDRNOTAVAIL, "address not available on this host") \
	X(ASUP_ENETUNREACH, ENETUNREACH, "network unreachable") \
	X(ASUP_EHOSTUNREACH, EHOSTUNREACH, "host unreachable") \
	X(ASUP_ECONNABORTED, ECONNABORTED, "connection aborted") \
	X(ASUP_ECONNRESET, ECONNRESET, "connection reset by the peer") \
	X(ASUP_ECONNREFUSED, ECONNREFUSED, "connection refused: nothing listens there") \
	X(ASUP_EISCONN, EISCONN, "socket already connected") \
	X(ASUP_ENOTCONN, ENOTCONN, "socket not connected") \
	X(ASUP_EDESTADDRREQ, EDESTADDRREQ, "datagram socket has no destination") \
	X(ASUP_EPROTOTYPE, EPROTOTYPE, "a socket of the other type is bound at that address") \
	X(ASUP_EISDIR, EISDIR, "is a directory") \
	X(ASUP_ESPIPE, ESPIPE, "not seekable (a pipe or socket)") \
	X(ASUP_EFBIG, EFBIG, "file too large") \
	X(ASUP_ENOTASK, ASUP_ERRBASE + 1,                                     \
	  "suspending call made outside the task that owns this cx")         \
	X(ASUP_EJOINED, ASUP_ERRBASE + 2, "task already joined")             \
	X(ASUP_ENOTDET, ASUP_ERRBASE + 3,                                     \
	  "operation needs a runtime in deterministic mode")                 \
	X(ASUP_ERUNNING, ASUP_ERRBASE + 4,                                    \
	  "runtime is already running on some thread")                       \
	X(ASUP_ESTEPLIMIT, ASUP_ERRBASE + 5, "step limit reached")                \
	X(ASUP_EINTASK, ASUP_ERRBASE + 6,                                     \
	  "blocking runtime call made from inside a task")                   \
	X(ASUP_ECLOSED, ASUP_ERRBASE + 7, "region is closed or closing")      \
	X(ASUP_ECAPACITY, ASUP_ERRBASE + 8, "region is at capacity")          \
	X(ASUP_EMASK, ASUP_ERRBASE + 9, "cancel masks nested too deep (64)")  \
	X(ASUP_ENOLOCAL, ASUP_ERRBASE + 10,                                   \
	  "no local scheduler on this thread for a local task")              \
	X(ASUP_EPOISONED, ASUP_ERRBASE + 11,                                  \
	  "lock poisoned: its holder ended without unlocking")                \
	X(ASUP_ELAGGED, ASUP_ERRBASE + 12,                                    \
	  "receiver fell behind: messages were overwritten (count reported)") \
	X(ASUP_ESIMONLY, ASUP_ERRBASE + 13,                                   \
	  "real I/O is refused by a deterministic-mode runtime")              \
	X(ASUP_ECORRUPT, ASUP_ERRBASE + 20,                                   \
	  "lab recording is corrupt or truncated")                          \
	X(ASUP_EORACLE, ASUP_ERRBASE + 21,                                    \
	  "a lab oracle reported a violation")                              \
	X(ASUP_EDIVERGED, ASUP_ERRBASE + 22,                                  \
	  "replay diverged from the recording")

enum asup_errno {
#define ASUP_ERR_ENUM(name, val, text) name = (val),
	ASUP_ERRNO_TABLE(ASUP_ERR_ENUM)
#undef ASUP_ERR_ENUM
};

/* Human-readable text for a code, positive or negative. Never NULL. */
ASUP_API const char *asup_strerror(int err);
/* Symbolic name ("ASUP_ECANCELED") for a code, positive or negative; never NULL. */
ASUP_API const char *asup_err_name(int err);

/* ---- time -------------------------------------------------------------- */

/*
 * asup_time is an absolute instant in nanoseconds on the runtime's clock
 * (monotonic or virtual; both start near 0 when the runtime is created).
 * Durations are plain uint64_t nanoseconds. Arithmetic saturates.
 */
typedef uint64_t asup_time;
#define ASUP_TIME_MAX UINT64_MAX
#define ASUP_NSEC(n) ((uint64_t)(n))
#define ASUP_USEC(n) ((uint64_t)(n) * 1000u)
#define ASUP_MSEC(n) ((uint64_t)(n) * 1000000u)
#define ASUP_SEC(n) ((uint64_t)(n) * 1000000000u)

static inline asup_time asup_time_add(asup_time t, uint64_t d)
{
	return (t > ASUP_TIME_MAX - d) ? ASUP_TIME_MAX : t + d;
}

static inline uint64_t asup_time_since(asup_time later, asup_time earlier)
{
	return later > earlier ? later - earlier : 0;
}

/* ---- outcomes ---------------------------------------------------------- */

/* Severity order: OK < ERR < CANCELLED < PANICKED. */
typedef enum asup_outcome_kind {
	ASUP_OUTCOME_OK = 0,
	ASUP_OUTCOME_ERR = 1,
	ASUP_OUTCOME_CANCELLED = 2,
	ASUP_OUTCOME_PANICKED = 3,
} asup_outcome_kind;

/* "ok", "err", "cancelled" or "panicked". */
ASUP_API const char *asup_outcome_kind_name(asup_outcome_kind kind);

#ifdef __cplusplus
}
#endif
#endif
