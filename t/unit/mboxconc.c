/* Helper of t/26-mbox-concurrency.t (not a TAP test by itself):
 *   mboxconc writer MBOX ID N     deliver N messages made from (ID, k)
 *   mboxconc scanner MBOX STOP    scan in a loop until STOP exists; check
 *                                 every test message against its regenerated
 *                                 bytes; print "passes=P checked=C torn=T"
 *   mboxconc rewriter MBOX STOP   loop: write lock, expunge old markers, add a
 *                                 marker, change flags, assign UIDs, rewrite
 *   mboxconc check MBOX W N       each writer message exactly once and
 *                                 byte-identical; print "ok" or the problems
 * A message's view is regenerated from its X-Test-Id, so any torn, shifted
 * or mixed bytes show. */
#include "mbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* The message (LF ends) for writer id, number k. */
static size_t gen(int id, int k, char *b, size_t cap)
{
	uint32_t s = (uint32_t)(id * 100003 + k);
	size_t n = 0;
	int lines;

	n += (size_t)snprintf(b + n, cap - n,
			      "From: writer%d@example.test\nTo: test@example.test\n"
			      "Subject: w%d m%d\nX-Test-Id: %d-%d\n\n", id, id, k, id, k);
	lines = 1 + (int)(rnd(&s) % 40);
	if (rnd(&s) % 10 == 0)
		lines += 300;   /* some bigger ones */
	for (int i = 0; i < lines && n + 200 < cap; i++) {
		uint32_t r = rnd(&s) % 20;
		if (r == 0) {
			n += (size_t)snprintf(b + n, cap - n, "From line %d of %d-%d\n", i, id, k);
		} else if (r == 1) {
			b[n++] = '\n';
		} else {
			int len = (int)(rnd(&s) % 100);
			for (int j = 0; j < len; j++)
				b[n++] = (char)('a' + rnd(&s) % 26);
			b[n++] = '\n';
		}
	}
	return n;
}

/* What a client must see for it: CRLF, body "From " quoted. */
static size_t expect(int id, int k, char *out, size_t cap)
{
	static char b[65536];
	size_t n = gen(id, k, b, sizeof(b)), o = 0;
	int body = 0, bol = 1;

	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		if (bol && body && n - i >= 5 && !memcmp(b + i, "From ", 5))
			out[o++] = '>';
		if (b[i] == '\n') {
			if (bol)
				body = 1;
			out[o++] = '\r';
		}
		out[o++] = b[i];
		bol = b[i] == '\n';
	}
	return o;
}

/* 1 = a test message and matches, 0 = not a test message, -1 = wrong */
static int verify(struct mbox *mb, const struct mbox_msg *m, int *id_r, int *k_r)
{
	static char want[70000];
	char *v;
	size_t n, wn;
	const char *p;
	int id, k, r;

	if (mbox_msg_load_locked(mb, m, MBOX_PART_ALL, &v, &n) < 0)
		return -1;
	if (!(p = memmem(v, n, "\r\nX-Test-Id: ", 13))) {
		r = memmem(v, n, "\r\nX-Marker: ", 12) ? 0 : -1;
		free(v);
		return r;
	}
	if (sscanf(p + 13, "%d-%d", &id, &k) != 2) {
		free(v);
		return -1;
	}
	wn = expect(id, k, want, sizeof(want));
	r = wn == n && !memcmp(want, v, n) ? 1 : -1;
	free(v);
	*id_r = id;
	*k_r = k;
	return r;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int writer(const char *path, int id, int n)
{
	static char b[65536];

	for (int k = 1; k <= n; k++) {
		struct mbox_append a;
		memset(&a, 0, sizeof(a));
		a.sender = "writer@example.test";
		a.data = b;
		a.len = gen(id, k, b, sizeof(b));
		a.fd = -1;
		if (mbox_deliver(path, &a, 60000) < 0) {
			fprintf(stderr, "writer %d: message %d: %s\n", id, k, strerror(errno));
			return 1;
		}
		nap(10);   /* deliveries are not back to back: let readers in */
	}
	return 0;
}

static int scanner(const char *path, const char *stop)
{
	long passes = 0, checked = 0, torn = 0;

	while (access(stop, F_OK) != 0) {
		struct mbox mb;
		struct mbox_scan sc;
		long t0 = now_ms();
		memset(&sc, 0, sizeof(sc));
		if (mbox_open(&mb, path, MBOX_RDONLY) < 0) {
			nap(20);
			continue;
		}
		if (mbox_lock(&mb, MBOX_LOCK_READ, 20000) == 0 && mbox_scan(&mb, &sc) == 0) {
			for (size_t i = 0; i < sc.count; i++) {
				int id, k, r = verify(&mb, &sc.msgs[i], &id, &k);
				if (r < 0) {
					torn++;
					fprintf(stderr, "scanner: message %zu at %llu is torn\n", i,
						(unsigned long long)sc.msgs[i].offset);
				}
				checked += r > 0;
			}
			passes++;
		}
		mbox_scan_free(&sc);
		mbox_close(&mb);
		/* leave the writers at least as much time as the lock was held */
		nap(now_ms() - t0 > 50 ? now_ms() - t0 : 50);
	}
	printf("passes=%ld checked=%ld torn=%ld\n", passes, checked, torn);
	return 0;
}

static int rewriter(const char *path, const char *stop)
{
	long rounds = 0, marks = 0, fails = 0;
	uint32_t s = 42;

	while (access(stop, F_OK) != 0) {
		struct mbox mb;
		struct mbox_scan sc;
		long t0 = now_ms();
		memset(&sc, 0, sizeof(sc));
		if (mbox_open(&mb, path, MBOX_RDWR) < 0) {
			nap(20);
			continue;
		}
		if (mbox_lock(&mb, MBOX_LOCK_WRITE, 20000) == 0 && mbox_scan(&mb, &sc) == 0) {
			for (size_t i = 0; i < sc.count; i++) {
				int id, k, r = verify(&mb, &sc.msgs[i], &id, &k);
				if (r == 0)
					sc.msgs[i].expunge = 1;   /* our old marker */
				else if (r > 0 && rnd(&s) % 8 == 0) {
					sc.msgs[i].new_flags = (sc.msgs[i].flags ^ (1u << (rnd(&s) % 5))) &
							       ~(uint32_t)MBOX_F_DELETED;
					sc.msgs[i].new_keywords = 0;
					sc.msgs[i].dirty = 1;
				}
			}
			char mark[256];
			int ml = snprintf(mark, sizeof(mark), "Subject: marker\nX-Marker: %ld\n\nFrom marker\n", rounds);
			struct mbox_append a;
			memset(&a, 0, sizeof(a));
			a.data = mark;
			a.len = (size_t)ml;
			a.fd = -1;
			if (mbox_append(&mb, &a, NULL) == 0)
				marks++;
			if (mbox_rewrite(&mb, &sc, MBOX_RW_UIDS) < 0) {
				fails++;
				fprintf(stderr, "rewriter: %s\n", strerror(errno));
			}
			rounds++;
		}
		mbox_scan_free(&sc);
		mbox_close(&mb);
		nap(now_ms() - t0 > 30 ? 2 * (now_ms() - t0) : 30);
	}
	printf("rounds=%ld markers=%ld fails=%ld\n", rounds, marks, fails);
	return 0;
}

static int check(const char *path, int w, int n)
{
	struct mbox mb;
	struct mbox_scan sc;
	int *seen = calloc((size_t)(w + 1) * (size_t)(n + 1), sizeof(int));
	int bad = 0;

	memset(&sc, 0, sizeof(sc));
	if (!seen || mbox_open(&mb, path, MBOX_RDONLY) < 0 || mbox_lock(&mb, MBOX_LOCK_READ, 20000) < 0 ||
	    mbox_scan(&mb, &sc) < 0) {
		printf("cannot scan: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sc.count; i++) {
		int id = 0, k = 0, r = verify(&mb, &sc.msgs[i], &id, &k);
		if (r < 0 || (r > 0 && (id < 1 || id > w || k < 1 || k > n))) {
			printf("message %zu: wrong bytes\n", i);
			bad++;
		} else if (r > 0) {
			seen[id * (n + 1) + k]++;
		}
	}
	for (int id = 1; id <= w; id++)
		for (int k = 1; k <= n; k++)
			if (seen[id * (n + 1) + k] != 1) {
				printf("%d-%d seen %d times\n", id, k, seen[id * (n + 1) + k]);
				bad++;
			}
	if (!bad)
		printf("ok count=%zu missing_uids=%zu\n", sc.count, sc.missing_uids);
	mbox_scan_free(&sc);
	mbox_close(&mb);
	free(seen);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "writer"))
		return writer(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "scanner"))
		return scanner(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "rewriter"))
		return rewriter(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "check"))
		return check(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: mboxconc writer|scanner|rewriter|check ...\n");
	return 2;
}
