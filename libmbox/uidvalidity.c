/* Per-user UIDVALIDITY state, so that a mailbox deleted and created again
 * never gets a value it had before (RFC 3501 2.3.1.1), in Dovecot's format
 * so that Dovecot and facteur serving the same home share it:
 *   DIR/dovecot-uidvalidity           the last value given, 8 hex digits
 *   DIR/dovecot-uidvalidity.XXXXXXXX  an empty file named after it
 * The empty file is the lock-free counter: a new value is taken by renaming
 * it from the old name to the new one, which only one process (or host,
 * over NFS) can do; the loser finds the old name gone and starts again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mbox.h"

#define UV_NAME "dovecot-uidvalidity"
#define UV_TRIES 10

/* the largest value named by a DIR/dovecot-uidvalidity.XXXXXXXX file; 0 if none */
static int uv_current(const char *dir, uint32_t *cur_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t pl = sizeof(UV_NAME);  /* with the '.' */

	*cur_r = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		char *end;
		unsigned long v;
		if (strncmp(n, UV_NAME ".", pl) || strlen(n) != pl + 8)
			continue;
		errno = 0;
		v = strtoul(n + pl, &end, 16);
		if (*end || errno || v > UINT32_MAX)
			continue;
		if (v > *cur_r)
			*cur_r = (uint32_t)v;
	}
	closedir(d);
	return 0;
}

static int uv_path(char *buf, size_t len, const char *dir, uint32_t v)
{
	int n = snprintf(buf, len, "%s/" UV_NAME ".%08x", dir, (unsigned)v);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* the main file, for Dovecot (best effort: the counter is the name) */
static void uv_write_main(const char *dir, uint32_t v)
{
	char tmp[PATH_MAX], path[PATH_MAX], hex[9];
	int fd, n1, n2;

	n1 = snprintf(path, sizeof path, "%s/" UV_NAME, dir);
	n2 = snprintf(tmp, sizeof tmp, "%s/" UV_NAME ".tmp%ld", dir, (long)getpid());
	if (n1 < 0 || (size_t)n1 >= sizeof path || n2 < 0 || (size_t)n2 >= sizeof tmp)
		return;
	snprintf(hex, sizeof hex, "%08x", (unsigned)v);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, hex, 8) != 8 || close(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

int mbox_uidvalidity_next(const char *dir, uint32_t *uv_r)
{
	char from[PATH_MAX], to[PATH_MAX];
	int tries;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	for (tries = 0; tries < UV_TRIES; tries++) {
		uint32_t cur, next;
		time_t now = time(NULL);
		if (uv_current(dir, &cur) < 0)
			return -1;
		next = cur + 1;
		if (now > 0 && (uint64_t)now < UINT32_MAX && next < (uint32_t)now)
			next = (uint32_t)now;
		if (next == 0)
			next = 1;   /* 2^32 values used up: start again */
		if (uv_path(to, sizeof to, dir, next) < 0)
			return -1;
		if (cur == 0) {
			int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
			if (fd < 0) {
				if (errno == EEXIST)
					continue;
				return -1;
			}
			close(fd);
		} else {
			if (uv_path(from, sizeof from, dir, cur) < 0)
				return -1;
			if (rename(from, to) < 0) {
				if (errno == ENOENT)
					continue;   /* another process took it: again */
				return -1;
			}
		}
		uv_write_main(dir, next);
		*uv_r = next;
		return 0;
	}
	errno = EAGAIN;
	return -1;
}
