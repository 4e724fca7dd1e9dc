/* crashpoint.so: an LD_PRELOAD shim that kills the process (SIGKILL, as
 * kill -9, an OOM kill or a power cut would stop it) at the Nth call that
 * changes a file: write, pwrite, ftruncate, fsync, fdatasync, rename,
 * link, unlink, fallocate, posix_fallocate.
 *   CRASH_AT=N     die at call N (1-based); unset or 0: never
 *   CRASH_COUNT=F  at a normal exit, write the number of calls made to F
 * A write that spans a page boundary of the file is torn there, as the
 * kernel may leave it (it copies page by page and checks for fatal
 * signals between pages); any other call dies before it runs.  Tests
 * only: built into build/t/, never linked into a program. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define PAGE 4096

static long calls, crash_at = -1;

static void setup(void)
{
	const char *s;

	if (crash_at >= 0)
		return;
	s = getenv("CRASH_AT");
	crash_at = s ? atol(s) : 0;
}

static void die(void)
{
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/* 1 = this call is the one to die at */
static int hit(void)
{
	setup();
	calls++;
	return crash_at > 0 && calls == crash_at;
}

#define REAL(type, name, args) \
	static type(*real_##name) args; \
	if (!real_##name) \
		real_##name = (type(*) args)dlsym(RTLD_NEXT, #name)

/* the first page boundary inside (off, off + n), or 0 */
static size_t tear_at(off_t off, size_t n)
{
	off_t b = (off / PAGE + 1) * PAGE;

	return off >= 0 && b < off + (off_t)n ? (size_t)(b - off) : 0;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
	if (hit()) {
		size_t k = tear_at(off, n);
		if (k)
			real_pwrite(fd, buf, k, off);
		die();
	}
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t));
	if (hit()) {
		size_t k = tear_at(lseek(fd, 0, SEEK_CUR), n);
		if (k)
			real_write(fd, buf, k);
		die();
	}
	return real_write(fd, buf, n);
}

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, (int, off_t));
	if (hit())
		die();
	return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int fsync(int fd)
{
	REAL(int, fsync, (int));
	if (hit())
		die();
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, (int));
	if (hit())
		die();
	return real_fdatasync(fd);
}

int rename(const char *a, const char *b)
{
	REAL(int, rename, (const char *, const char *));
	if (hit())
		die();
	return real_rename(a, b);
}

int link(const char *a, const char *b)
{
	REAL(int, link, (const char *, const char *));
	if (hit())
		die();
	return real_link(a, b);
}

int unlink(const char *p)
{
	REAL(int, unlink, (const char *));
	if (hit())
		die();
	return real_unlink(p);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	REAL(int, fallocate, (int, int, off_t, off_t));
	if (hit())
		die();
	return real_fallocate(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	REAL(int, posix_fallocate, (int, off_t, off_t));
	if (hit())
		die();
	return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off_t off, off_t len)
{
	return posix_fallocate(fd, off, len);
}

__attribute__((destructor)) static void report(void)
{
	const char *f = getenv("CRASH_COUNT");
	FILE *o;

	if (!f || !*f)
		return;
	if ((o = fopen(f, "w"))) {
		fprintf(o, "%ld\n", calls);
		fclose(o);
	}
}
