/*
 * Files and name resolution.
 *
 * Like the socket calls (asupersync/net.h), every call takes the calling
 * task's cx, needs ASUP_CAP_IO (-EPERM without it) and a runtime in real
 * mode (-ASUP_ESIMONLY in deterministic mode). Common codes: -ASUP_ENOTASK
 * (cx is not the running task's), -EPERM, -ASUP_ESIMONLY, -EINVAL (NULL or
 * bad argument), -ENOSYS (the reactor could not be created), -ENOMEM.
 *
 * Files. Regular files are always "ready", so their system calls run on the
 * runtime's blocking pool (on both reactor backends): the calling task parks
 * while a pool thread does the call, and the runtime thread keeps running
 * other tasks. Every call is a checkpoint on entry: a task already
 * cancelled (or past an asup_timeout deadline) gets -ECANCELED
 * (-ETIMEDOUT) and nothing is done. Once a call has started it is not
 * interrupted: a cancel that arrives while the pool runs it lets it finish
 * and the call reports its result (the bytes read are in the buffer, the
 * count written is returned); the cancel is seen at the next checkpoint. So
 * no thread ever touches a buffer after the call returned.
 *
 * Ownership: a file is owned by the region of the current scope when it was
 * opened. Closing that region closes the files still open in it and reports
 * each on stderr. Using a handle after asup_file_close returns -EBADF,
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
/* Closes the file (never waits): 0, -EBADF (already closed), -ASUP_ECLOSED. */
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
 * -ENOMEM, -ECANCELED/-ETIMEDOUT (at once; see above), a common code. */
ASUP_API int asup_resolve(asup_cx *cx, const char *host, const char *service,
			  const struct addrinfo *hints, struct addrinfo **out);
/* Frees a list from asup_resolve (NULL is fine). */
ASUP_API void asup_resolve_free(struct addrinfo *res);

#ifdef __cplusplus
}
#endif

#endif
