/* When a deferred remote recipient is tried again.  The queue file keeps
 * each recipient's state, attempt count and last reply (queue.c, updated
 * in place); the next attempt time lives beside it in
 * queue_directory/defer/ID, one "INDEX TIME" line per deferred recipient,
 * replaced as a whole (temp file, fsync, rename, fsync of the directory)
 * so a crash leaves the old schedule or the new one.  Losing it only makes
 * a retry come early.  Backoff as Postfix: minimal_backoff_time, doubled
 * per attempt, at most maximal_backoff_time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"
#include "smtp.h"


static int defer_path(const struct conf *c, const char *id, char *out, size_t len)
{
	int n = id ? snprintf(out, len, "%s/defer/%s", c->queue_directory, id)
		   : snprintf(out, len, "%s/defer", c->queue_directory);

	if (n < 0 || (size_t)n >= len || (id && (strchr(id, '/') || id[0] == '.'))) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int retry_load(const struct conf *c, const char *id, long long *next, size_t n, int *warned)
{
	static char b[RETRY_FILE_MAX + 1];
	char path[PATH_MAX], *p, *e;
	ssize_t got;
	size_t have = 0;
	int fd;

	memset(next, 0, n * sizeof *next);
	*warned = 0;
	if (defer_path(c, id, path, sizeof path) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	while (have < RETRY_FILE_MAX && (got = read(fd, b + have, RETRY_FILE_MAX - have)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		have += (size_t)got;
	}
	close(fd);
	b[have] = '\0';
	for (p = b; *p; p = e + (*e ? 1 : 0)) {
		unsigned long i;
		if (!strncmp(p, "warned\n", 7)) {
			*warned = 1;
			e = p + 6;
			continue;
		}
		i = strtoul(p, &e, 10);
		long long t;
		if (*e != ' ')
			break;
		t = strtoll(e + 1, &e, 10);
		if (*e && *e != '\n')
			break;
		if (i < n)
			next[i] = t;
	}
	return 0;
}

int retry_save(const struct conf *c, const char *id, const long long *next, size_t n, int warned)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], dir[PATH_MAX];
	struct buf b;
	size_t i;
	int fd, r = -1, k;

	if (defer_path(c, id, path, sizeof path) < 0 || defer_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	k = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (k < 0 || (size_t)k >= sizeof tmp)
		return -1;
	buf_init(&b);
	if (warned && buf_adds(&b, "warned\n") < 0)
		goto out;
	for (i = 0; i < n && i < RETRY_MAX; i++)
		if (next[i] && buf_printf(&b, "%zu %lld\n", i, next[i]) < 0)
			goto out;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	if (io_write_all(fd, b.s, b.len) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	r = 0;
out:
	buf_free(&b);
	return r;
}

void retry_remove(const struct conf *c, const char *id)
{
	char path[PATH_MAX];

	if (defer_path(c, id, path, sizeof path) == 0)
		unlink(path);
}

long long retry_backoff(const struct conf *c, unsigned attempts)
{
	long long d = c->minimal_backoff_time ? c->minimal_backoff_time : 1;
	unsigned i;

	for (i = 1; i < attempts && d < (long long)c->maximal_backoff_time; i++)
		d *= 2;
	if (d > (long long)c->maximal_backoff_time)
		d = c->maximal_backoff_time;
	return d > 0 ? d : 1;
}

/* What forcing this process has: set by sendmail's options or ETRN in
 * the requester, carried to the runner in run.request (runner.c) as lines
 * "A", "R domain", "S sender", merged there; past RETRY_FORCE_MAX texts a run
 * simply forces every one (retrying early only costs a connection). */
static int force_all;
static char force_text[RETRY_FORCE_MAX][CONF_NAME_MAX];
static char force_kind[RETRY_FORCE_MAX];      /* 'R' domain, 'S' sender */
static size_t force_n;

static void force_add(char kind, const char *text)
{
	size_t i;

	if (!text || !text[0])
		return;
	for (i = 0; i < force_n; i++)
		if (force_kind[i] == kind && !strcasecmp(force_text[i], text))
			return;
	if (force_n == RETRY_FORCE_MAX) {
		force_all = 1;
		return;
	}
	force_kind[force_n] = kind;
	str_copyz(force_text[force_n++], sizeof force_text[0], text);
}

void retry_force(int all, const char *domain, const char *sender)
{
	force_all |= all;
	force_add('R', domain);
	force_add('S', sender);
}

int retry_forced(const char *domain, const char *sender)
{
	size_t i;

	if (force_all)
		return 1;
	/* as sendmail's -qR and -qS: a substring, case-insensitive */
	for (i = 0; i < force_n; i++)
		if (strcasestr(force_kind[i] == 'R' ? domain : sender, force_text[i]))
			return 1;
	return 0;
}

int retry_force_lines(char *out, size_t len)
{
	size_t i, k = 0;
	int n;

	if (force_all)
		return snprintf(out, len, "A\n") == 2 ? 2 : -1;
	for (i = 0; i < force_n; i++) {
		n = snprintf(out + k, len - k, "%c %s\n", force_kind[i], force_text[i]);
		if (n < 0 || (size_t)n >= len - k)
			return snprintf(out, len, "A\n") == 2 ? 2 : -1;
		k += (size_t)n;
	}
	return (int)k;
}

void retry_force_parse(const char *p, size_t len)
{
	char t[CONF_NAME_MAX];
	size_t i = 0, e;

	while (i < len) {
		for (e = i; e < len && p[e] != '\n'; e++)
			;
		if (e - i == 1 && p[i] == 'A')
			force_all = 1;
		else if (e - i > 2 && (p[i] == 'R' || p[i] == 'S') && p[i + 1] == ' ' &&
			 str_copy(t, sizeof t, p + i + 2, e - i - 2) == 0 && !memchr(t, '\0', e - i - 2))
			force_add(p[i], t);
		i = e + 1;
	}
}
