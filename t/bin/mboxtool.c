/* mboxtool: a thin CLI over libmbox for shell tests.
 *   mboxtool append MBOX [-s SENDER] [-d UNIXTIME] [-t TIMEOUT_MS] [--strip]
 *            [--flags RAOFTD] [--uid N] < message
 *   mboxtool lock MBOX read|write SECONDS
 *   mboxtool scan MBOX
 *   mboxtool cat MBOX N
 *   mboxtool expunge MBOX UID...
 *   mboxtool assign-uids MBOX
 *   mboxtool setflags MBOX UID LETTERS
 * Exit: 0 ok, 75 lock busy (EAGAIN), 76 mailbox changed (ESTALE), 1 other
 * error ("mboxtool: CMD: strerror" on stderr), 2 usage. */
#include "mbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 10000
#define EX_BUSY 75
#define EX_STALE 76

static const char *cmd = "";

static int usage(void)
{
	fputs("usage: mboxtool append|lock|scan|cat|expunge|assign-uids|setflags MBOX ...\n", stderr);
	return 2;
}

static int fail(void)
{
	int e = errno;

	fprintf(stderr, "mboxtool: %s: %s\n", cmd, strerror(e));
	if (e == EAGAIN)
		return EX_BUSY;
	if (e == ESTALE)
		return EX_STALE;
	return 1;
}

static int num(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v > max ? -1 : 0;
}

/* "RAOFTD" letters in any order; "-" or "" = none. */
static int parse_flags(const char *s, uint32_t *f)
{
	static const char letters[] = "ROAFTD";
	static const uint32_t bits[] = { MBOX_F_SEEN, MBOX_F_OLD, MBOX_F_ANSWERED,
					 MBOX_F_FLAGGED, MBOX_F_DRAFT, MBOX_F_DELETED };
	const char *p;

	*f = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	for (; *s; s++) {
		p = strchr(letters, *s);
		if (!p)
			return -1;
		*f |= bits[p - letters];
	}
	return 0;
}

static void print_flags(uint32_t f)
{
	char s[8];
	size_t n = 0;

	if (f & MBOX_F_SEEN)
		s[n++] = 'R';
	if (f & MBOX_F_ANSWERED)
		s[n++] = 'A';
	if (f & MBOX_F_OLD)
		s[n++] = 'O';
	if (f & MBOX_F_FLAGGED)
		s[n++] = 'F';
	if (f & MBOX_F_DRAFT)
		s[n++] = 'T';
	if (f & MBOX_F_DELETED)
		s[n++] = 'D';
	if (!n)
		s[n++] = '-';
	s[n] = 0;
	fputs(s, stdout);
}

/* The message is read whole from stdin (tests only). */
static int read_stdin(char **p_r, size_t *len_r)
{
	size_t len = 0, cap = 65536;
	char *p = malloc(cap), *q;
	ssize_t r;

	if (!p)
		return -1;
	for (;;) {
		if (len == cap) {
			q = realloc(p, cap * 2);
			if (!q) {
				free(p);
				return -1;
			}
			p = q;
			cap *= 2;
		}
		r = read(0, p + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*p_r = p;
	*len_r = len;
	return 0;
}

static int do_append(int argc, char **argv)
{
	struct mbox_append a;
	struct mbox mb;
	unsigned long long v, timeout = TIMEOUT_MS;
	char *data = NULL;
	int i, e;

	memset(&a, 0, sizeof a);
	a.fd = -1;
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			a.sender = argv[++i];
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			if (num(argv[++i], INT64_MAX, &v) == -1)
				return usage();
			a.date = (int64_t)v;
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			if (num(argv[++i], 86400000, &timeout) == -1)
				return usage();
		} else if (strcmp(argv[i], "--strip") == 0) {
			a.strip_meta = 1;
		} else if (strcmp(argv[i], "--flags") == 0 && i + 1 < argc) {
			if (parse_flags(argv[++i], &a.flags) == -1)
				return usage();
		} else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) {
			if (num(argv[++i], UINT32_MAX, &v) == -1)
				return usage();
			a.uid = (uint32_t)v;
		} else {
			return usage();
		}
	}
	/* the fd path (streaming) when stdin is a file, memory otherwise */
	off_t cur = lseek(0, 0, SEEK_CUR), end = cur < 0 ? -1 : lseek(0, 0, SEEK_END);

	if (cur >= 0 && end >= cur) {
		a.fd = 0;
		a.data_off = (uint64_t)cur;
		a.len = (size_t)(end - cur);
	} else if (read_stdin(&data, &a.len) == -1) {
		return fail();
	} else {
		a.data = data;
	}
	if (mbox_open(&mb, argv[2], MBOX_RDWR | MBOX_CREATE) == -1) {
		free(data);
		return fail();
	}
	if (mbox_lock(&mb, MBOX_LOCK_WRITE, (unsigned)timeout) == -1 ||
	    mbox_append(&mb, &a, NULL) == -1) {
		e = errno;
		mbox_close(&mb);
		free(data);
		errno = e;
		return fail();
	}
	free(data);
	return mbox_close(&mb) == -1 ? fail() : 0;
}

static volatile sig_atomic_t got_term;
static void on_term(int sig)
{
	got_term = sig;
}

static int do_lock(int argc, char **argv)
{
	struct sigaction sa;
	struct timespec ts;
	struct mbox mb;
	double secs;
	char *end;
	int kind;

	if (argc != 5)
		return usage();
	if (strcmp(argv[3], "read") == 0)
		kind = MBOX_LOCK_READ;
	else if (strcmp(argv[3], "write") == 0)
		kind = MBOX_LOCK_WRITE;
	else
		return usage();
	secs = strtod(argv[4], &end);
	if (*end || end == argv[4] || secs < 0 || secs > 86400)
		return usage();
	/* SIGTERM ends the hold early but still releases the locks */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (mbox_open(&mb, argv[2], kind == MBOX_LOCK_WRITE ? MBOX_RDWR | MBOX_CREATE : MBOX_RDONLY) == -1)
		return fail();
	if (mbox_lock(&mb, kind, TIMEOUT_MS) == -1) {
		int e = errno;

		mbox_close(&mb);
		errno = e;
		return fail();
	}
	fputs("locked\n", stdout);
	fflush(stdout);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (!got_term && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return mbox_close(&mb) == -1 ? fail() : 0;
}

/* Opens and locks, then scans: the common start of the other commands. */
static int open_scan(struct mbox *mb, const char *path, int kind, struct mbox_scan *sc)
{
	int e;

	memset(sc, 0, sizeof *sc);
	if (mbox_open(mb, path, kind == MBOX_LOCK_WRITE ? MBOX_RDWR : MBOX_RDONLY) == -1)
		return -1;
	if (mbox_lock(mb, kind, TIMEOUT_MS) == -1 || mbox_scan(mb, sc) == -1) {
		e = errno;
		mbox_close(mb);
		errno = e;
		return -1;
	}
	return 0;
}

static int finish(struct mbox *mb, struct mbox_scan *sc, int r)
{
	int e = errno;

	mbox_scan_free(sc);
	if (mbox_close(mb) == -1 && r == 0)
		return fail();
	errno = e;
	return r == 0 ? 0 : fail();
}

static int do_scan(int argc, char **argv)
{
	struct mbox_scan sc;
	struct mbox mb;
	size_t i;
	const struct mbox_msg *m;

	if (argc != 3)
		return usage();
	if (open_scan(&mb, argv[2], MBOX_LOCK_READ, &sc) == -1)
		return fail();
	printf("count=%zu uidvalidity=%u uidnext=%u pseudo=%d missing_uids=%zu\n",
	       sc.count, (unsigned)sc.uidvalidity, (unsigned)sc.uidnext, sc.pseudo ? 1 : 0,
	       sc.missing_uids);
	for (i = 0; i < sc.count; i++) {
		m = &sc.msgs[i];
		printf("%zu uid=%u flags=", i + 1, (unsigned)m->uid);
		print_flags(m->flags);
		printf(" off=%llu hdr=%llu body=%llu lines=%u date=%lld\n",
		       (unsigned long long)m->offset, (unsigned long long)m->hdr_size,
		       (unsigned long long)m->body_size, (unsigned)m->body_lines,
		       (long long)m->internaldate);
	}
	fflush(stdout);
	return finish(&mb, &sc, 0);
}

static int sink_stdout(void *arg, const char *p, size_t n)
{
	(void)arg;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int do_cat(int argc, char **argv)
{
	struct mbox_scan sc;
	struct mbox mb;
	unsigned long long n;
	int r;

	if (argc != 4 || num(argv[3], SIZE_MAX, &n) == -1 || n == 0)
		return usage();
	if (open_scan(&mb, argv[2], MBOX_LOCK_READ, &sc) == -1)
		return fail();
	if (n > sc.count) {
		errno = ENOENT;
		r = -1;
	} else {
		r = mbox_msg_stream(&mb, &sc.msgs[n - 1], MBOX_PART_ALL, sink_stdout, NULL);
		if (fflush(stdout) == EOF)
			r = -1;
	}
	return finish(&mb, &sc, r);
}

static struct mbox_msg *by_uid(struct mbox_scan *sc, uint32_t uid)
{
	size_t i;

	for (i = 0; i < sc->count; i++)
		if (sc->msgs[i].uid == uid)
			return &sc->msgs[i];
	return NULL;
}

static int do_expunge(int argc, char **argv)
{
	struct mbox_scan sc;
	struct mbox_msg *m;
	struct mbox mb;
	unsigned long long v;
	int i;

	if (argc < 4)
		return usage();
	for (i = 3; i < argc; i++)
		if (num(argv[i], UINT32_MAX, &v) == -1 || v == 0)
			return usage();
	if (open_scan(&mb, argv[2], MBOX_LOCK_WRITE, &sc) == -1)
		return fail();
	for (i = 3; i < argc; i++) {
		num(argv[i], UINT32_MAX, &v);
		m = by_uid(&sc, (uint32_t)v);
		if (m)
			m->expunge = 1;
	}
	return finish(&mb, &sc, mbox_rewrite(&mb, &sc, 0));
}

static int do_assign(int argc, char **argv)
{
	struct mbox_scan sc;
	struct mbox mb;

	if (argc != 3)
		return usage();
	if (open_scan(&mb, argv[2], MBOX_LOCK_WRITE, &sc) == -1)
		return fail();
	return finish(&mb, &sc, mbox_rewrite(&mb, &sc, MBOX_RW_UIDS));
}

static int do_setflags(int argc, char **argv)
{
	struct mbox_scan sc;
	struct mbox_msg *m;
	struct mbox mb;
	unsigned long long v;
	uint32_t f;

	if (argc != 5 || num(argv[3], UINT32_MAX, &v) == -1 || v == 0 ||
	    parse_flags(argv[4], &f) == -1)
		return usage();
	if (open_scan(&mb, argv[2], MBOX_LOCK_WRITE, &sc) == -1)
		return fail();
	m = by_uid(&sc, (uint32_t)v);
	if (!m) {
		errno = ENOENT;
		return finish(&mb, &sc, -1);
	}
	m->new_flags = f;
	m->new_keywords = m->keywords;
	m->dirty = 1;
	return finish(&mb, &sc, mbox_rewrite(&mb, &sc, 0));
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "append", do_append }, { "lock", do_lock }, { "scan", do_scan },
		{ "cat", do_cat }, { "expunge", do_expunge },
		{ "assign-uids", do_assign }, { "setflags", do_setflags },
	};
	size_t i;

	/* started setgid mail (t/bin/runas): keep mail as the saved gid
	 * only, as our servers do, so libmbox wears it just for dotlocks
	 * and mailbox creation */
	if (getegid() != getgid() && setegid(getgid()) == -1)
		return fail();
	if (argc < 3)
		return usage();
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			cmd = cmds[i].name;
			return cmds[i].fn(argc, argv);
		}
	return usage();
}
