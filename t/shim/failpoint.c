/* failpoint.so: an LD_PRELOAD shim that makes chosen file calls fail with
 * a chosen errno, to test that every result is checked (a full disk, a
 * quota, an I/O error on fsync) without needing one.
 *   FAIL_CALLS=a,b   the calls to fail, among write, pwrite, fsync,
 *                    fdatasync, ftruncate, link, rename, flock
 *   FAIL_PATH=S      only on files whose path contains S (the fd's path
 *                    from /proc/self/fd; either path of link/rename)
 *   FAIL_ERRNO=E     ENOSPC (default), EDQUOT, EIO, EAGAIN or a number
 *   FAIL_SKIP=N      let the first N matching calls through
 *   FAIL_LOG=F       append "call path" to F for each failure injected
 * Tests only: built into build/t/, never linked into a program. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/types.h>
#include <unistd.h>

static long skipped;

static int wanted_call(const char *call)
{
	const char *l = getenv("FAIL_CALLS"), *p;
	size_t n = strlen(call);

	if (!l)
		return 0;
	for (p = l; (p = strstr(p, call)); p += n)
		if ((p == l || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static int fail_errno(void)
{
	const char *e = getenv("FAIL_ERRNO");

	if (!e || !strcmp(e, "ENOSPC"))
		return ENOSPC;
	if (!strcmp(e, "EDQUOT"))
		return EDQUOT;
	if (!strcmp(e, "EIO"))
		return EIO;
	if (!strcmp(e, "EAGAIN"))
		return EAGAIN;
	return atoi(e) > 0 ? atoi(e) : ENOSPC;
}

/* 1 = fail this call (errno set) */
static int hit(const char *call, const char *path)
{
	const char *want = getenv("FAIL_PATH"), *skip = getenv("FAIL_SKIP"), *log = getenv("FAIL_LOG");

	if (!wanted_call(call) || (want && *want && (!path || !strstr(path, want))))
		return 0;
	if (skip && skipped < atol(skip)) {
		skipped++;
		return 0;
	}
	if (log && *log) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dprintf(fd, "%s %s\n", call, path ? path : "-");
			close(fd);
		}
	}
	errno = fail_errno();
	return 1;
}

static int hit_fd(const char *call, int fd)
{
	char l[64], p[4096];
	ssize_t n;
	int saved = errno;

	if (!wanted_call(call))
		return 0;
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	n = readlink(l, p, sizeof p - 1);
	p[n > 0 ? n : 0] = '\0';
	errno = saved;
	return hit(call, n > 0 ? p : NULL);
}

#define REAL(type, name, args) \
	static type(*real_##name) args; \
	if (!real_##name) \
		real_##name = (type(*) args)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t));
	if (hit_fd("write", fd))
		return -1;
	return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
	if (hit_fd("pwrite", fd))
		return -1;
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

int fsync(int fd)
{
	REAL(int, fsync, (int));
	if (hit_fd("fsync", fd))
		return -1;
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, (int));
	if (hit_fd("fdatasync", fd))
		return -1;
	return real_fdatasync(fd);
}

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, (int, off_t));
	if (hit_fd("ftruncate", fd))
		return -1;
	return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int flock(int fd, int op)
{
	REAL(int, flock, (int, int));
	if (hit_fd("flock", fd))
		return -1;
	return real_flock(fd, op);
}

int link(const char *a, const char *b)
{
	REAL(int, link, (const char *, const char *));
	if (hit("link", a) || hit("link", b))
		return -1;
	return real_link(a, b);
}

int rename(const char *a, const char *b)
{
	REAL(int, rename, (const char *, const char *));
	if (hit("rename", a) || hit("rename", b))
		return -1;
	return real_rename(a, b);
}
