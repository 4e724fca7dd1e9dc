/* mbox_rewrite: expunge, flags in place and with growth, UIDs, keywords,
 * the pseudo message, appended mail kept, ESTALE, and journal recovery
 * after simulated crashes. */
#include "mbox.h"
#include "private.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/facteur-rewrite.XXXXXX";
static char path[4096];

static void put_file(const char *p, const char *s, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void append_str(const char *p, const char *s)
{
	int fd = open(p, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

/* ---- the table left by mbox_rewrite must be what a scan finds ---------- */

static int table_bad;   /* rewrites whose table differed from a rescan */

static int same_table(const struct mbox_scan *a, const struct mbox_scan *b)
{
	if (a->count != b->count || a->uidvalidity != b->uidvalidity || a->uidnext != b->uidnext ||
	    a->nkeywords != b->nkeywords || a->pseudo != b->pseudo ||
	    a->data_start != b->data_start || a->missing_uids != b->missing_uids ||
	    a->size != b->size || a->base_dirty)
		return 0;
	for (size_t i = 0; i < a->nkeywords; i++)
		if (strcmp(a->keywords[i], b->keywords[i]) != 0)
			return 0;
	for (size_t i = 0; i < a->count; i++) {
		const struct mbox_msg *x = &a->msgs[i], *y = &b->msgs[i];
		if (x->offset != y->offset || x->hdr_off != y->hdr_off || x->body_off != y->body_off ||
		    x->body_end != y->body_end || x->next != y->next || x->hdr_size != y->hdr_size ||
		    x->body_size != y->body_size || x->body_lines != y->body_lines ||
		    x->uid != y->uid || x->flags != y->flags || x->keywords != y->keywords ||
		    x->internaldate != y->internaldate || x->dirty || x->expunge) {
			diag("message %zu differs from a rescan", i);
			return 0;
		}
	}
	return 1;
}

static int checked_rewrite(struct mbox *mb, struct mbox_scan *sc, int opts, int line)
{
	struct mbox_scan again;
	int r = mbox_rewrite(mb, sc, opts), e = errno;

	if (r == 0) {
		memset(&again, 0, sizeof(again));
		if (mbox_scan(mb, &again) < 0 || !same_table(sc, &again)) {
			diag("line %d: the table after the rewrite is not the file's", line);
			table_bad++;
		}
		mbox_scan_free(&again);
	}
	errno = e;
	return r;
}
#define mbox_rewrite(mb, sc, opts) checked_rewrite(mb, sc, opts, __LINE__)

/* n Postfix-style messages with bodies "body K" */
static void make_mbox(int n)
{
	char b[65536];
	size_t l = 0;

	for (int i = 1; i <= n; i++)
		l += (size_t)snprintf(b + l, sizeof(b) - l,
				      "From u%d@example.test  Mon Jan  2 15:04:%02d 2006\n"
				      "Subject: message %d\nMessage-ID: <%d@x>\n\nbody %d\n>From quoted\n\n",
				      i, i % 60, i, i, i);
	put_file(path, b, l);
}

static int open_scan(struct mbox *mb, struct mbox_scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	if (mbox_open(mb, path, MBOX_RDWR) < 0 || mbox_lock(mb, MBOX_LOCK_WRITE, 5000) < 0)
		return -1;
	return mbox_scan(mb, sc);
}

static void done(struct mbox *mb, struct mbox_scan *sc)
{
	mbox_scan_free(sc);
	mbox_close(mb);
}

/* "body K" of each message, joined, e.g. "1,3," */
static void bodies(struct mbox *mb, struct mbox_scan *sc, char *out, size_t cap)
{
	size_t l = 0;

	out[0] = 0;
	for (size_t i = 0; i < sc->count; i++) {
		char *v;
		size_t n;
		if (mbox_msg_load_locked(mb, &sc->msgs[i], MBOX_PART_BODY, &v, &n) < 0) {
			snprintf(out + l, cap - l, "ERR,");
			return;
		}
		int k = 0;
		sscanf(v, "body %d", &k);
		l += (size_t)snprintf(out + l, cap - l, "%d,", k);
		free(v);
	}
}

static void expunge_case(const char *name, const int *which, int n, const char *want)
{
	struct mbox mb;
	struct mbox_scan sc;
	char got[256];
	int r;

	make_mbox(5);
	if (open_scan(&mb, &sc) < 0) {
		ok(0, "%s: open", name);
		return;
	}
	for (int i = 0; i < n; i++)
		sc.msgs[which[i]].expunge = 1;
	r = mbox_rewrite(&mb, &sc, 0);
	bodies(&mb, &sc, got, sizeof(got));
	ok(r == 0 && !strcmp(got, want), "expunge %s: %s (got %s)", name, want, got);
	struct mbox_scan again;
	memset(&again, 0, sizeof(again));
	ok(mbox_scan(&mb, &again) == 0 && again.count == sc.count &&
	   (sc.count == 0 || again.msgs[sc.count - 1].next == again.size),
	   "expunge %s: sc describes the new file", name);
	mbox_scan_free(&again);
	done(&mb, &sc);
}

static void test_expunge(void)
{
	int first[] = { 0 }, mid[] = { 2 }, last[] = { 4 }, all[] = { 0, 1, 2, 3, 4 };
	size_t n;
	char *p;

	expunge_case("first", first, 1, "2,3,4,5,");
	expunge_case("middle", mid, 1, "1,2,4,5,");
	expunge_case("last", last, 1, "1,2,3,4,");
	expunge_case("all", all, 5, "");
	p = slurp(path, &n);
	ok(n == 0, "expunge all without UIDs: empty file, no pseudo message");
	free(p);
}

static void test_uids_flags(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	struct stat st1, st2;
	char *p;
	size_t n;

	make_mbox(3);
	ok(open_scan(&mb, &sc) == 0 && sc.missing_uids == 3, "uids: 3 messages without UIDs");
	ok(mbox_rewrite(&mb, &sc, MBOX_RW_UIDS) == 0, "uids: rewrite with MBOX_RW_UIDS");
	ok(sc.uidvalidity != 0 && sc.uidnext == 4 && sc.msgs[0].uid == 1 && sc.msgs[2].uid == 3 &&
	   sc.missing_uids == 0, "uids: 1..3 given, uidnext 4");
	p = slurp(path, &n);
	char want[64];
	snprintf(want, sizeof(want), "X-IMAPbase: %u 0000000003\n", sc.uidvalidity);
	ok(strstr(p, want) != NULL && strstr(p, "\nX-UID: 2\n") != NULL,
	   "uids: Dovecot's X-IMAPbase (10-digit uidlast) and X-UID forms");
	ok(strstr(p, "X-Keywords:" "                                                  ") != NULL,
	   "uids: X-Keywords padded with >= 50 spaces");
	free(p);
	fstat(mb.fd, &st1);

	sc.msgs[1].new_flags = MBOX_F_SEEN | MBOX_F_ANSWERED | MBOX_F_FLAGGED;
	sc.msgs[1].new_keywords = 0;
	sc.msgs[1].dirty = 1;
	ok(mbox_rewrite(&mb, &sc, 0) == 0, "flags: rewrite");
	fstat(mb.fd, &st2);
	ok(st1.st_size == st2.st_size, "flags: changed in place, size unchanged");
	p = slurp(path, &n);
	ok(strstr(p, "\nStatus: R\nX-Status: AF\n") != NULL, "flags: Status/X-Status written");
	free(p);
	struct mbox_scan again;
	memset(&again, 0, sizeof(again));
	ok(mbox_scan(&mb, &again) == 0 &&
	   again.msgs[1].flags == (MBOX_F_SEEN | MBOX_F_ANSWERED | MBOX_F_FLAGGED) &&
	   again.msgs[1].uid == 2 && sc.msgs[1].flags == again.msgs[1].flags && !sc.msgs[1].dirty,
	   "flags: read back, sc updated");
	mbox_scan_free(&again);

	int k1 = mbox_keyword_index(&sc, "$Label1", 7, 1);
	int k2 = mbox_keyword_index(&sc, "work", 4, 1);
	sc.msgs[2].new_flags = sc.msgs[2].flags;
	sc.msgs[2].new_keywords = (1ULL << k1) | (1ULL << k2);
	sc.msgs[2].dirty = 1;
	ok(k1 == 0 && k2 == 1 && mbox_rewrite(&mb, &sc, 0) == 0, "keywords: rewrite");
	memset(&again, 0, sizeof(again));
	ok(mbox_scan(&mb, &again) == 0 && again.nkeywords == 2 &&
	   again.msgs[2].keywords == 3 && again.msgs[0].keywords == 0,
	   "keywords: in X-IMAPbase and X-Keywords");
	p = slurp(path, &n);
	ok(strstr(p, " 0000000003 $Label1 work\n") != NULL, "keywords: X-IMAPbase lists them");
	free(p);
	mbox_scan_free(&again);

	/* a long keyword list that cannot fit the padding: growth */
	char kw[32];
	for (int i = 0; i < 8; i++) {
		int l = snprintf(kw, sizeof(kw), "keyword-number-%d", i);
		sc.msgs[0].new_keywords |= 1ULL << mbox_keyword_index(&sc, kw, (size_t)l, 1);
	}
	sc.msgs[0].new_flags = sc.msgs[0].flags;
	sc.msgs[0].dirty = 1;
	fstat(mb.fd, &st1);
	ok(mbox_rewrite(&mb, &sc, 0) == 0, "growth: rewrite");
	fstat(mb.fd, &st2);
	memset(&again, 0, sizeof(again));
	ok(st2.st_size > st1.st_size && mbox_scan(&mb, &again) == 0 && again.count == 3 &&
	   again.nkeywords == 10 && again.msgs[0].keywords == sc.msgs[0].keywords &&
	   again.msgs[2].keywords == 3 && again.msgs[1].uid == 2,
	   "growth: file grew, everything read back");
	mbox_scan_free(&again);
	done(&mb, &sc);

	/* expunge all with UIDs: the pseudo message keeps UIDVALIDITY/uidnext */
	ok(open_scan(&mb, &sc) == 0, "pseudo: reopened");
	uint32_t uv = sc.uidvalidity;
	for (size_t i = 0; i < sc.count; i++)
		sc.msgs[i].expunge = 1;
	ok(mbox_rewrite(&mb, &sc, 0) == 0 && sc.count == 0 && sc.pseudo && sc.uidvalidity == uv &&
	   sc.uidnext == 4, "pseudo: all expunged -> pseudo message, UIDs survive");
	p = slurp(path, &n);
	ok(strstr(p, "\nX-IMAP: ") && strstr(p, "DON'T DELETE THIS MESSAGE"), "pseudo: X-IMAP written");
	free(p);
	append_str(path, "From new@example.test  Mon Jan  2 15:04:05 2006\nSubject: new\n\nbody 9\n\n");
	ok(mbox_scan_update(&mb, &sc) == 0 && sc.count == 1 && mbox_rewrite(&mb, &sc, MBOX_RW_UIDS) == 0 &&
	   sc.msgs[0].uid == 4 && sc.uidnext == 5 && sc.pseudo, "pseudo: new mail gets uid 4");
	done(&mb, &sc);
}

static void test_stale(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	char *a, *b;
	size_t an, bn;
	struct timespec ts = { 0, 20000000 };

	/* mail appended after the scan is kept byte for byte */
	make_mbox(3);
	ok(open_scan(&mb, &sc) == 0, "append: scanned");
	const char *extra = "From late@example.test  Mon Jan  2 15:04:05 2006\nSubject: late\n\nbody 77\n"
			    "From unquoted-after-no-blank\n\n";
	nanosleep(&ts, NULL);
	append_str(path, extra);
	sc.msgs[0].expunge = 1;
	ok(mbox_rewrite(&mb, &sc, 0) == 0 && sc.count == 3, "append: expunge with new mail behind");
	a = slurp(path, &an);
	ok(an > strlen(extra) && !memcmp(a + an - strlen(extra), extra, strlen(extra)),
	   "append: the new message is byte-identical at the end");
	free(a);
	done(&mb, &sc);

	/* rewritten behind our back, messages moved (same size): ESTALE,
	 * nothing written */
	make_mbox(3);
	ok(open_scan(&mb, &sc) == 0, "stale: scanned");
	a = slurp(path, &an);
	char *f2 = strstr(a, "\nFrom u2@");
	f2[1] = 'X';    /* message 2 is now part of message 1 */
	nanosleep(&ts, NULL);
	put_file(path, a, an);
	sc.msgs[0].expunge = 1;
	errno = 0;
	ok(mbox_rewrite(&mb, &sc, 0) == -1 && errno == ESTALE, "stale: changed -> ESTALE");
	b = slurp(path, &bn);
	ok(an == bn && !memcmp(a, b, an), "stale: file unchanged");
	free(a);
	free(b);
	done(&mb, &sc);

	/* changed in place with every message where it was (what another
	 * agent's flag patch does): the rewrite goes on from the file's bytes */
	make_mbox(3);
	ok(open_scan(&mb, &sc) == 0, "in place: scanned");
	a = slurp(path, &an);
	a[an - 3] = 'X';
	nanosleep(&ts, NULL);
	put_file(path, a, an);
	sc.msgs[0].expunge = 1;
	ok(mbox_rewrite(&mb, &sc, 0) == 0 && sc.count == 2, "in place: the rewrite goes on");
	b = slurp(path, &bn);
	ok(bn < an && !memcmp(a + an - 12, b + bn - 12, 12), "in place: the other agent's byte kept");
	free(a);
	free(b);
	done(&mb, &sc);

	make_mbox(3);
	ok(open_scan(&mb, &sc) == 0, "truncated: scanned");
	ok(truncate(path, 100) == 0, "truncated behind our back");
	a = slurp(path, &an);
	sc.msgs[2].expunge = 1;
	errno = 0;
	ok(mbox_rewrite(&mb, &sc, 0) == -1 && errno == ESTALE, "truncated -> ESTALE");
	b = slurp(path, &bn);
	ok(an == bn && !memcmp(a, b, an), "truncated: file unchanged");
	free(a);
	free(b);
	done(&mb, &sc);

	struct mbox_scan s2;
	memset(&s2, 0, sizeof(s2));
	make_mbox(1);
	ok(mbox_open(&mb, path, MBOX_RDWR) == 0 && mbox_lock(&mb, MBOX_LOCK_READ, 1000) == 0 &&
	   mbox_scan(&mb, &s2) == 0, "read lock: scanned");
	s2.msgs[0].expunge = 1;
	errno = 0;
	ok(mbox_rewrite(&mb, &s2, 0) == -1 && errno == ENOLCK, "rewrite without the write lock refused");
	done(&mb, &s2);
}

/* ---- journal recovery ---------------------------------------------------- */

/* Builds a committed journal replacing [d, E) by t; returns d. */
static uint64_t make_journal(struct mbox *mb, struct mbox_scan *sc, const char *t, size_t tn)
{
	struct mbox_journal *j = malloc(sizeof(*j));
	uint64_t d = sc->msgs[1].offset;

	if (!j || mbox_journal_begin(mb, j) < 0 || mbox_journal_put(j, t, tn) < 0 ||
	    mbox_journal_commit(mb, j, d, sc->size) < 0)
		abort();
	close(j->fd);   /* "crash" */
	free(j);
	return d;
}

static int journal_exists(struct mbox *mb)
{
	char jp[4096];
	return mbox_journal_path(mb, jp, sizeof(jp)) == 0 && access(jp, F_OK) == 0;
}

static void test_journal(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	char got[256], *all, *t, *res;
	size_t an, rn;
	uint64_t d;

	/* the new image: message 2 expunged, so T = message 3 */
	make_mbox(3);
	ok(open_scan(&mb, &sc) == 0, "journal: scanned");
	all = slurp(path, &an);
	size_t m3 = (size_t)sc.msgs[2].offset;
	t = all + m3;
	size_t tn = an - m3;

	/* crash before the copy */
	d = make_journal(&mb, &sc, t, tn);
	ok(journal_exists(&mb), "before copy: journal left");
	done(&mb, &sc);
	append_str(path, "From after@example.test  Mon Jan  2 15:04:05 2006\n\nbody 8\n\n");
	ok(open_scan(&mb, &sc) == 0, "before copy: write lock taken (recovery ran)");
	bodies(&mb, &sc, got, sizeof(got));
	ok(!strcmp(got, "1,3,8,") && !journal_exists(&mb), "before copy: T applied, mail after E kept (%s)", got);
	done(&mb, &sc);

	/* crash after the copy, before the journal was removed */
	put_file(path, all, an);
	ok(open_scan(&mb, &sc) == 0, "after copy: scanned");
	d = make_journal(&mb, &sc, t, tn);
	if (pwrite(mb.fd, t, tn, (off_t)d) != (ssize_t)tn || ftruncate(mb.fd, (off_t)(d + tn)) < 0)
		abort();
	res = slurp(path, &rn);
	done(&mb, &sc);
	ok(open_scan(&mb, &sc) == 0, "after copy: relocked");
	bodies(&mb, &sc, got, sizeof(got));
	char *res2;
	size_t rn2;
	res2 = slurp(path, &rn2);
	ok(!strcmp(got, "1,3,") && rn == rn2 && !memcmp(res, res2, rn) && !journal_exists(&mb),
	   "after copy: file left as is, journal gone (%s)", got);
	free(res);
	free(res2);
	done(&mb, &sc);

	/* crash in the middle of the copy: part of T over the old bytes */
	put_file(path, all, an);
	ok(open_scan(&mb, &sc) == 0, "mid copy: scanned");
	d = make_journal(&mb, &sc, t, tn);
	if (pwrite(mb.fd, t, tn / 2, (off_t)d) != (ssize_t)(tn / 2))
		abort();
	done(&mb, &sc);
	ok(open_scan(&mb, &sc) == 0, "mid copy: relocked");
	bodies(&mb, &sc, got, sizeof(got));
	ok(strstr(got, "1,") == got && strstr(got, "3,") && !journal_exists(&mb),
	   "mid copy: nothing lost, message 3 whole somewhere (%s)", got);
	int whole3 = 0;
	for (size_t i = 0; i < sc.count; i++) {
		char *v;
		size_t vn;
		if (mbox_msg_load_locked(&mb, &sc.msgs[i], MBOX_PART_BODY, &v, &vn) == 0) {
			whole3 |= vn == 22 && !memcmp(v, "body 3\r\n>From quoted\r\n", 22);
			free(v);
		}
	}
	ok(whole3, "mid copy: message 3 intact");
	done(&mb, &sc);

	/* a committed journal whose T, header or header hash was damaged is
	 * not trusted: dropped before the copy starts, the mailbox untouched.
	 * k = 2 changes one hex digit of the header's own hash line, which
	 * only that hash check can catch (issue 11.7) */
	static const char *const what[3] = { "T", "header", "header hash" };
	for (int k = 0; k < 3; k++) {
		char jp[4096], x, hb[MBOX_JOURNAL_HDR];
		off_t at;
		put_file(path, all, an);
		ok(open_scan(&mb, &sc) == 0, "damaged %s: scanned", what[k]);
		d = make_journal(&mb, &sc, t, tn);
		int jfd = mbox_journal_path(&mb, jp, sizeof(jp)) == 0 ? open(jp, O_RDWR) : -1;
		if (jfd < 0 || pread(jfd, hb, sizeof hb, 0) != (ssize_t)sizeof hb)
			abort();
		if (k == 2) {
			/* the hash line: after the third newline (magic,
			 * numbers, body hash, header hash) */
			size_t i = 0, lines = 0;
			while (i < sizeof hb && lines < 3)
				lines += hb[i++] == '\n';
			if (lines < 3 || i == sizeof hb)
				abort();
			at = (off_t)i;
		} else
			at = k ? 40 : (off_t)(MBOX_JOURNAL_HDR + tn / 2);
		if (pread(jfd, &x, 1, at) != 1)
			abort();
		x = k == 2 ? (x == '0' ? '1' : '0') : x ^ 1;
		if (pwrite(jfd, &x, 1, at) != 1)
			abort();
		close(jfd);
		done(&mb, &sc);
		ok(open_scan(&mb, &sc) == 0 && !journal_exists(&mb), "damaged %s: dropped", what[k]);
		res = slurp(path, &rn);
		ok(rn == an && !memcmp(res, all, an), "damaged %s: mailbox byte-identical", what[k]);
		free(res);
		done(&mb, &sc);
	}

	/* a journal that was never committed is dropped, the mailbox untouched */
	put_file(path, all, an);
	ok(open_scan(&mb, &sc) == 0, "uncommitted: scanned");
	struct mbox_journal *j = malloc(sizeof(*j));
	ok(mbox_journal_begin(&mb, j) == 0 && mbox_journal_put(j, "From garbage", 12) == 0,
	   "uncommitted: half-written journal");
	close(j->fd);
	free(j);
	done(&mb, &sc);
	ok(open_scan(&mb, &sc) == 0 && !journal_exists(&mb), "uncommitted: dropped");
	res = slurp(path, &rn);
	ok(rn == an && !memcmp(res, all, an), "uncommitted: mailbox byte-identical");
	free(res);
	done(&mb, &sc);
	free(all);
}

/* ---- random mailboxes, random requests -------------------------------- */

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

/* A mailbox mixing Postfix-style, CRLF, Content-Length (with unquoted
 * "From " in the body), Dovecot metadata and junk before the first
 * message; bodies "body K". */
static size_t make_random(char *b, size_t cap, int n)
{
	size_t l = 0;

	if (rnd(4) == 0)
		l += (size_t)snprintf(b + l, cap - l, "junk before the first message\n\n");
	for (int i = 1; i <= n; i++) {
		int crlf = rnd(5) == 0, cl = rnd(4) == 0, meta = rnd(3) == 0;
		const char *e = crlf ? "\r\n" : "\n";
		char body[256];
		int bl = snprintf(body, sizeof(body), "body %d%s%s%sline three%s", i, e,
				  cl ? "From inside, unquoted" : ">From quoted", e, e);
		l += (size_t)snprintf(b + l, cap - l, "From u%d@example.test  Mon Jan  2 15:04:%02d 2006%s"
				      "Subject: message %d%s Folded: continuation%sMessage-ID: <%d@x>%s",
				      i, i % 60, e, i, e, e, i, e);
		if (meta)
			l += (size_t)snprintf(b + l, cap - l, "Status: RO%sX-Keywords: junk%s"
					      "X-Status: F%s", e, e, e);
		if (cl)
			l += (size_t)snprintf(b + l, cap - l, "Content-Length: %d%s", bl, e);
		if (rnd(3) == 0)
			l += (size_t)snprintf(b + l, cap - l, "X-After: meta%s", e);
		l += (size_t)snprintf(b + l, cap - l, "%s%s%s", e, body, e);
	}
	return l;
}

static void test_random(void)
{
	static char b[1 << 16];
	int bad = 0;

	for (int round = 0; round < 60; round++) {
		struct mbox mb;
		struct mbox_scan sc;
		int n = 1 + (int)rnd(12);
		size_t l = make_random(b, sizeof(b), n);
		char before[1024], after[1024], want[1024];
		size_t wl = 0;

		put_file(path, b, l);
		if (open_scan(&mb, &sc) < 0 || sc.count != (size_t)n) {
			diag("round %d: scan found %zu of %d", round, sc.count, n);
			bad++;
			done(&mb, &sc);
			continue;
		}
		/* first the UIDs (every message moves), then random requests */
		if (mbox_rewrite(&mb, &sc, MBOX_RW_UIDS) < 0) {
			bad++;
			done(&mb, &sc);
			continue;
		}
		bodies(&mb, &sc, before, sizeof(before));
		int kw = mbox_keyword_index(&sc, "$Label1", 7, 1);
		want[0] = 0;
		for (size_t i = 0; i < sc.count; i++) {
			struct mbox_msg *m = &sc.msgs[i];
			switch (rnd(4)) {
			case 0:
				m->expunge = 1;
				break;
			case 1:
				m->dirty = 1;
				m->new_flags = m->flags ^ (MBOX_F_SEEN | MBOX_F_ANSWERED);
				m->new_keywords = kw >= 0 ? 1ULL << kw : 0;
				break;
			}
			if (!m->expunge) {
				int k = 0;
				char *v;
				size_t vn;
				if (mbox_msg_load_locked(&mb, m, MBOX_PART_BODY, &v, &vn) == 0) {
					sscanf(v, "body %d", &k);
					free(v);
				}
				wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%d,", k);
			}
		}
		if (mbox_rewrite(&mb, &sc, rnd(2) ? MBOX_RW_UIDS : 0) < 0) {
			diag("round %d: rewrite failed: %s", round, strerror(errno));
			bad++;
		}
		bodies(&mb, &sc, after, sizeof(after));
		if (strcmp(after, want) != 0) {
			diag("round %d: kept %s, want %s (before %s)", round, after, want, before);
			bad++;
		}
		done(&mb, &sc);
	}
	ok(bad == 0, "random mailboxes: UIDs, then expunges/flags/keywords keep the right mail");
}

/* UIDs for mail appended since (rewrite.c's tail path): the same file and
 * table as the general path, which a no-op request on the first message
 * forces.  tail: what is appended; dirty_tail: also claim \Recent on the
 * new messages (imapd's SELECT); first: the first message's header. */
static void tail_case(const char *name, const char *first, const char *tail, int dirty_tail,
		      int want_tail)
{
	char p2[4200], *a = NULL, *b = NULL;
	size_t an = 0, bn = 0;
	struct mbox mb;
	struct mbox_scan sc, sc2;
	unsigned long before;
	int ra = -1, rb = -1, same;

	snprintf(p2, sizeof p2, "%s.general", path);
	for (int pass = 0; pass < 2; pass++) {
		const char *pp = pass ? p2 : path;
		put_file(pp, first, strlen(first));
		append_str(pp, tail);
		memset(&sc, 0, sizeof sc);
		if (mbox_open(&mb, pp, MBOX_RDWR) < 0 || mbox_lock(&mb, MBOX_LOCK_WRITE, 5000) < 0 ||
		    mbox_scan(&mb, &sc) < 0) {
			ok(0, "%s: open %d", name, pass);
			return;
		}
		for (size_t i = 0; dirty_tail && i < sc.count; i++)
			if (!sc.msgs[i].uid) {
				sc.msgs[i].dirty = 1;
				sc.msgs[i].new_flags = sc.msgs[i].flags | MBOX_F_OLD;
				sc.msgs[i].new_keywords = sc.msgs[i].keywords;
			}
		if (pass) {
			sc.msgs[0].dirty = 1;   /* changes nothing, but not the tail path */
			sc.msgs[0].new_flags = sc.msgs[0].flags;
			sc.msgs[0].new_keywords = sc.msgs[0].keywords;
		}
		before = mbox_tail_uids_done;
		if (pass)
			rb = mbox_rewrite(&mb, &sc, MBOX_RW_UIDS);
		else
			ra = mbox_rewrite(&mb, &sc, MBOX_RW_UIDS);
		if (!pass)
			ok((mbox_tail_uids_done != before) == want_tail, "%s: %s", name,
			   want_tail ? "the tail path" : "the general path");
		else
			ok(mbox_tail_uids_done == before, "%s: the general path forced", name);
		if (pass)
			sc2 = sc;
		else
			done(&mb, &sc);
		if (pass)
			mbox_close(&mb);
	}
	a = slurp(path, &an);
	b = slurp(p2, &bn);
	same = a && b && an == bn && memcmp(a, b, an) == 0;
	ok(ra == 0 && rb == 0 && same, "%s: the same file as the general path", name);
	memset(&sc, 0, sizeof sc);
	if (mbox_open(&mb, path, MBOX_RDWR) == 0 && mbox_lock(&mb, MBOX_LOCK_READ, 5000) == 0 &&
	    mbox_scan(&mb, &sc) == 0)
		ok(sc.missing_uids == 0 && sc.uidnext == sc2.uidnext && same_table(&sc, &sc2),
		   "%s: every message has its UID, the table the general path's", name);
	else
		ok(0, "%s: rescan", name);
	done(&mb, &sc);
	mbox_scan_free(&sc2);
	free(a);
	free(b);
	unlink(p2);
}

static void test_tail_uids(void)
{
	static const char first[] =
		"From a@example.test  Mon Jan  2 15:04:01 2006\n"
		"Subject: one\nX-IMAPbase: 1700000000 0000000002 $Junk\nX-UID: 1\nStatus: RO\n"
		"X-Keywords: $Junk" "                                                  \n"
		"\nbody 1\n\n"
		"From b@example.test  Mon Jan  2 15:04:02 2006\n"
		"Subject: two\nX-UID: 2\nStatus: O\n"
		"X-Keywords:" "                                                  \n"
		"\nbody 2\n";
	static const char one[] =
		"\nFrom c@example.test  Mon Jan  2 15:04:03 2006\nSubject: new\n\nbody 3\n";
	static const char three[] =
		"\nFrom c@example.test  Mon Jan  2 15:04:03 2006\nSubject: new\n\nbody 3\n"
		"\nFrom d@example.test  Mon Jan  2 15:04:04 2006\nSubject: read\nStatus: RO\n"
		"Content-Length: 7\n\nbody 4\n"
		"\nFrom e@example.test  Mon Jan  2 15:04:05 2006\nSubject: crlf\r\n\r\nbody 5\r\n"
		"From f@example.test  Mon Jan  2 15:04:06 2006\nSubject: last, no final newline\n\nbody 6";
	/* the base line's run is split by a visible line: it cannot be
	 * patched in place, everything moves: the general path */
	static const char split[] =
		"From a@example.test  Mon Jan  2 15:04:01 2006\n"
		"X-IMAPbase: 1700000000 2\nSubject: one\nX-UID: 1\nStatus: RO\n\nbody 1\n\n"
		"From b@example.test  Mon Jan  2 15:04:02 2006\n"
		"Subject: two\nX-UID: 2\nStatus: O\n\nbody 2\n";

	tail_case("one delivery", first, one, 0, 1);
	tail_case("four deliveries, Status, Content-Length, CRLF, no final newline", first, three, 0, 1);
	tail_case("four deliveries, \\Recent claimed", first, three, 1, 1);
	tail_case("base line that cannot be patched in place", split, three, 1, 0);
}

int main(void)
{
	char jd[4200];

	if (!mkdtemp(dir))
		skip_all("no temp dir");
	snprintf(path, sizeof(path), "%s/mbox", dir);
	snprintf(jd, sizeof(jd), "%s/journal", dir);
	mkdir(jd, 0700);
	mbox_set_journal_dir(jd);
	test_expunge();
	test_uids_flags();
	test_stale();
	test_journal();
	test_random();
	test_tail_uids();
	ok(table_bad == 0, "every table left by mbox_rewrite equals a rescan (%d differ)", table_bad);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
