/* mbox_scan / mbox_scan_update / mbox_msg_stream over the fixtures, then
 * every truncation of every fixture and random garbage (run it under
 * SANITIZE=1: nothing may read past the end or crash). */
#include "mbox.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/facteur-scan.XXXXXX";
static const char *src;

static void put_file(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* Opens and scans a fixture copy; 0 on success. */
static int scan_fixture(const char *name, struct mbox *mb, struct mbox_scan *sc)
{
	char path[4096], dst[4096];
	size_t n;
	char *p;

	snprintf(path, sizeof(path), "%s/t/fixtures/%s", src, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (!(p = slurp(path, &n)))
		return -1;
	put_file(dst, p, n);
	free(p);
	memset(sc, 0, sizeof(*sc));
	if (mbox_open(mb, dst, MBOX_RDWR) < 0 || mbox_lock(mb, MBOX_LOCK_READ, 2000) < 0)
		return -1;
	return mbox_scan(mb, sc);
}

static char *view(struct mbox *mb, const struct mbox_msg *m, int parts, size_t *n)
{
	char *p = NULL;

	if (mbox_msg_load_locked(mb, m, parts, &p, n) < 0)
		return NULL;
	return p;
}

static int has_meta(const char *p, size_t n)
{
	const char *names[] = { "\nStatus:", "\nX-Status:", "\nX-Keywords:", "\nX-UID:",
				"\nX-IMAP", "\nContent-Length:" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (memmem(p, n, names[i], strlen(names[i])))
			return 1;
	return 0;
}

static int all_crlf(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
	return 1;
}

static void test_basic(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	char *v;
	size_t n;

	ok(scan_fixture("empty.mbox", &mb, &sc) == 0 && sc.count == 0 && sc.uidnext == 1,
	   "empty mailbox: no messages");
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("crlf.mbox", &mb, &sc) == 0 && sc.count == 2, "CRLF mailbox: 2 messages");
	ok(sc.msgs[0].flags == MBOX_F_SEEN, "CRLF: Status: R parsed");
	ok(sc.msgs[0].hdr_size == 21 && sc.msgs[0].body_size == 16 && sc.msgs[0].body_lines == 2,
	   "CRLF: sizes exclude Status and the separator (%llu %llu %u)",
	   (unsigned long long)sc.msgs[0].hdr_size, (unsigned long long)sc.msgs[0].body_size,
	   sc.msgs[0].body_lines);
	v = view(&mb, &sc.msgs[0], MBOX_PART_ALL, &n);
	ok(v && n == 37 && !memcmp(v, "Subject: crlf one\r\n\r\nline 1\r\nline 2\r\n", 37),
	   "CRLF: view keeps CRLF, no doubled CR");
	free(v);
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("barecr.mbox", &mb, &sc) == 0 && sc.count == 1,
	   "bare CR: CR-only lines are data, one message");
	v = view(&mb, &sc.msgs[0], MBOX_PART_ALL, &n);
	ok(v && n == sc.msgs[0].hdr_size + sc.msgs[0].body_size && all_crlf(v, n),
	   "bare CR: view size matches, every LF has CR");
	free(v);
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("nofinalnl.mbox", &mb, &sc) == 0 && sc.count == 2,
	   "no final newline: 2 messages");
	v = view(&mb, &sc.msgs[1], MBOX_PART_BODY, &n);
	ok(v && n == 25 && !memcmp(v, "last line without newline", 25) &&
	   sc.msgs[1].body_lines == 1, "no final newline: last line served as is");
	free(v);
	v = view(&mb, &sc.msgs[0], MBOX_PART_BODY, &n);
	ok(v && n == 6 && !memcmp(v, "body\r\n", 6), "separator line not in the body");
	free(v);
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("junk.mbox", &mb, &sc) == 0 && sc.count == 1 && sc.msgs[0].offset == 68 &&
	   sc.data_start == 68, "junk before the first From_ line skipped");
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("fromlines.mbox", &mb, &sc) == 0 && sc.count == 4,
	   "From lines in bodies: 4 messages (not 5 or 6)");
	v = view(&mb, &sc.msgs[0], MBOX_PART_BODY, &n);
	ok(v && memmem(v, n, "\r\n>From quoted line\r\n", 21) &&
	   memmem(v, n, "\r\nFrom here: not a From_ line", 29), "quoted >From kept, dateless From in body");
	free(v);
	ok(sc.msgs[1].internaldate == 1233651600, "From_ date with +0100 zone (%lld)",
	   (long long)sc.msgs[1].internaldate);
	ok(sc.msgs[3].internaldate != 0, "empty sender (three spaces) parsed");
	mbox_scan_free(&sc);
	mbox_close(&mb);
}

static void test_dovecot(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	char *v;
	size_t n;

	ok(scan_fixture("dovecot-lda.mbox", &mb, &sc) == 0 && sc.count == 2,
	   "dovecot-lda mailbox: unquoted From_ in body kept (Content-Length)");
	ok(sc.uidvalidity == 1795794653 && sc.uidnext == 3 && sc.msgs[0].uid == 1 &&
	   sc.msgs[1].uid == 2 && sc.missing_uids == 0, "dovecot-lda: X-IMAPbase and X-UIDs");
	ok(sc.msgs[0].body_end - sc.msgs[0].body_off == 75, "dovecot-lda: body = Content-Length");
	v = view(&mb, &sc.msgs[0], MBOX_PART_ALL, &n);
	ok(v && !has_meta(v, n) && memmem(v, n, "\r\n\r\nFrom me  Mon Jan", 19) &&
	   n == sc.msgs[0].hdr_size + sc.msgs[0].body_size, "dovecot-lda: metadata hidden in view");
	free(v);
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("clen.mbox", &mb, &sc) == 0 && sc.count == 3, "Content-Length cases: 3 messages");
	ok(sc.msgs[0].body_end - sc.msgs[0].body_off == 12, "valid Content-Length trusted");
	ok(sc.msgs[1].body_end - sc.msgs[1].body_off == 7, "wrong Content-Length ignored");
	ok(sc.msgs[2].body_end == sc.size, "Content-Length up to EOF");
	mbox_scan_free(&sc);
	mbox_close(&mb);
}

static void test_meta(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	char *v;
	size_t n;
	int kw_junk, kw_work, kw_label;

	ok(scan_fixture("meta.mbox", &mb, &sc) == 0 && sc.count == 3, "metadata mailbox: 3 messages");
	ok(sc.uidvalidity == 1234567890 && sc.uidnext == 11, "X-IMAPbase with runs of spaces");
	ok(sc.nkeywords == 3 && !strcmp(sc.keywords[0], "$Label1") && !strcmp(sc.keywords[2], "work"),
	   "X-IMAPbase keywords in order");
	kw_label = mbox_keyword_index(&sc, "$Label1", 7, 0);
	kw_junk = mbox_keyword_index(&sc, "Junk", 4, 0);
	kw_work = mbox_keyword_index(&sc, "work", 4, 0);
	ok(sc.msgs[0].keywords == ((1ULL << kw_junk) | (1ULL << kw_work) | (1ULL << kw_label)),
	   "X-Keywords with a continuation line");
	ok(sc.msgs[1].keywords == 0, "keyword not in X-IMAPbase ignored (Dovecot)");
	ok(sc.msgs[0].flags == (MBOX_F_SEEN | MBOX_F_OLD | MBOX_F_ANSWERED | MBOX_F_FLAGGED |
				MBOX_F_DRAFT | MBOX_F_DELETED), "Status RO + X-Status AFTD");
	ok(sc.msgs[0].uid == 3 && sc.msgs[1].uid == 7 && sc.msgs[2].uid == 8, "X-UIDs");
	v = view(&mb, &sc.msgs[0], MBOX_PART_HEADER, &n);
	ok(v && n == 18 && !memcmp(v, "Subject: first\r\n\r\n", 18),
	   "header view: every metadata line and continuation hidden");
	free(v);
	ok(!sc.base_dirty, "keywords read from X-IMAPbase are not a change");
	ok(mbox_keyword_index(&sc, "new", 3, 1) == 3 && sc.base_dirty, "keyword added");
	ok(mbox_keyword_index(&sc, "bad kw", 6, 1) == -1, "keyword with a space refused");
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("pseudo.mbox", &mb, &sc) == 0 && sc.count == 1 && sc.pseudo,
	   "pseudo message hidden, not counted");
	ok(sc.uidvalidity == 1136214000 && sc.uidnext == 6 && sc.msgs[0].uid == 4 &&
	   sc.data_start == sc.msgs[0].offset && sc.msgs[0].keywords == 1,
	   "X-IMAP gives UIDVALIDITY, uidnext and keywords");
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("baduids.mbox", &mb, &sc) == 0 && sc.count == 3 && sc.msgs[0].uid == 2 &&
	   sc.msgs[1].uid == 0 && sc.msgs[2].uid == 0 && sc.missing_uids == 2,
	   "duplicate X-UID: the valid prefix kept, the rest 0");
	mbox_scan_free(&sc);
	mbox_close(&mb);
	ok(scan_fixture("biguid.mbox", &mb, &sc) == 0 && sc.msgs[0].uid == 2 && sc.msgs[1].uid == 0,
	   "X-UID above uidlast invalid");
	mbox_scan_free(&sc);
	mbox_close(&mb);
	ok(scan_fixture("nobase.mbox", &mb, &sc) == 0 && sc.msgs[0].uid == 0 && sc.msgs[1].uid == 0 &&
	   sc.missing_uids == 2, "X-UIDs without X-IMAPbase invalid");
	mbox_scan_free(&sc);
	mbox_close(&mb);
}

static void append_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

static void test_update(void)
{
	struct mbox mb;
	struct mbox_scan sc;
	char path[4096];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	snprintf(path, sizeof(path), "%s/nofinalnl.mbox", dir);
	ok(scan_fixture("nofinalnl.mbox", &mb, &sc) == 0, "update: scanned");
	ok(mbox_scan_update(&mb, &sc) == 0 && sc.count == 2, "update: unchanged -> 0");
	sc.msgs[0].expunge = 1;
	sc.msgs[1].dirty = 1;
	nanosleep(&ts, NULL);
	append_raw(path, "\n\nFrom c@example.test  Mon Jan  2 15:04:07 2006\nSubject: 3\n\nnew\n\n");
	ok(mbox_scan_update(&mb, &sc) == 0 && sc.count == 3, "update: appended -> 0, one more");
	ok(sc.msgs[0].expunge && sc.msgs[1].dirty, "update: pending requests kept");
	ok(sc.msgs[1].body_size == 27 && sc.msgs[1].body_lines == 1,
	   "update: the last message grew its line end (%llu)", (unsigned long long)sc.msgs[1].body_size);
	nanosleep(&ts, NULL);
	/* rewritten behind our back: same size, different bytes */
	char *p;
	size_t n;
	p = slurp(path, &n);
	p[0] = 'X';
	put_file(path, p, n);
	free(p);
	ok(mbox_scan_update(&mb, &sc) == 1 && !sc.msgs[0].expunge, "update: rewritten -> 1, rescanned");
	ok(truncate(path, 10) == 0 && mbox_scan_update(&mb, &sc) == 1 && sc.count == 0,
	   "update: truncated -> 1");
	mbox_scan_free(&sc);
	mbox_close(&mb);

	ok(scan_fixture("crlf.mbox", &mb, &sc) == 0, "stale: scanned");
	snprintf(path, sizeof(path), "%s/crlf.mbox", dir);
	ok(truncate(path, 50) == 0, "stale: truncated behind our back");
	char *v = NULL;
	size_t vn;
	errno = 0;
	ok(mbox_msg_load_locked(&mb, &sc.msgs[1], MBOX_PART_ALL, &v, &vn) == -1 && errno == ESTALE,
	   "read of a message gone: ESTALE");
	mbox_scan_free(&sc);
	mbox_close(&mb);
}

/* Another session (its own struct mbox, its own fd) patches flags in place,
 * then mail is delivered: the first mbox_scan_update must show the new
 * flags of the old messages, keep this session's pending requests, and a
 * rewrite by this session must not write its stale flags back. */
static int lock_w(struct mbox *mb)
{
	return mbox_lock(mb, MBOX_LOCK_WRITE, 2000);
}

static void test_merge(void)
{
	struct mbox a, b, c;
	struct mbox_scan sa, sb, sc;
	char path[4096], jd[4200];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct stat st;
	off_t size;
	int mine, work;

	snprintf(jd, sizeof(jd), "%s/journal", dir);
	mkdir(jd, 0700);
	mbox_set_journal_dir(jd);
	snprintf(path, sizeof(path), "%s/merge.mbox", dir);
	put_file(path, "", 0);
	for (int i = 1; i <= 3; i++) {
		char m[256];
		snprintf(m, sizeof(m), "From u%d@example.test  Mon Jan  2 15:04:0%d 2006\n"
			 "Subject: %d\n\nbody %d\n\n", i, i, i, i);
		append_raw(path, m);
	}
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	memset(&sc, 0, sizeof(sc));
	/* A gives UIDs (and the metadata padding that in-place patches need) */
	ok(mbox_open(&a, path, MBOX_RDWR) == 0 && lock_w(&a) == 0 && mbox_scan(&a, &sa) == 0 &&
	   mbox_rewrite(&a, &sa, MBOX_RW_UIDS) == 0 && sa.count == 3 && sa.msgs[2].uid == 3,
	   "merge: A gave UIDs");
	mbox_unlock(&a);
	/* B scans and makes requests it has not written yet */
	ok(mbox_open(&b, path, MBOX_RDWR) == 0 && mbox_lock(&b, MBOX_LOCK_READ, 2000) == 0 &&
	   mbox_scan(&b, &sb) == 0 && sb.count == 3 && sb.msgs[0].flags == 0, "merge: B scanned");
	mbox_unlock(&b);
	mine = mbox_keyword_index(&sb, "Mine", 4, 1);
	sb.msgs[1].dirty = 1;
	sb.msgs[1].new_flags = MBOX_F_ANSWERED;
	sb.msgs[1].new_keywords = 1ULL << mine;
	sb.msgs[2].expunge = 1;

	/* A: flags and a new keyword on message 1, in place; then a delivery */
	nanosleep(&ts, NULL);
	ok(stat(path, &st) == 0 && lock_w(&a) == 0 && mbox_scan_update(&a, &sa) == 0,
	   "merge: A up to date");
	size = st.st_size;
	work = mbox_keyword_index(&sa, "$Work", 5, 1);
	sa.msgs[0].dirty = 1;
	sa.msgs[0].new_flags = MBOX_F_SEEN | MBOX_F_FLAGGED;
	sa.msgs[0].new_keywords = 1ULL << work;
	ok(mbox_rewrite(&a, &sa, 0) == 0 && stat(path, &st) == 0 && st.st_size == size,
	   "merge: A patched flags in place (same size)");
	mbox_unlock(&a);
	append_raw(path, "From new@example.test  Mon Jan  2 15:05:00 2006\nSubject: 4\n\nbody 4\n\n");

	ok(mbox_lock(&b, MBOX_LOCK_READ, 2000) == 0 && mbox_scan_update(&b, &sb) == 0 &&
	   sb.count == 4, "merge: patched then appended -> 0, one more message");
	ok(sb.msgs[0].flags == (MBOX_F_SEEN | MBOX_F_FLAGGED) && sb.nkeywords == 2 &&
	   !strcmp(sb.keywords[mine], "Mine") && !strcmp(sb.keywords[1], "$Work") &&
	   sb.msgs[0].keywords == 1ULL << 1 && sb.base_dirty,
	   "merge: A's flags and keyword seen, B's keyword keeps its bit");
	ok(sb.msgs[1].dirty && sb.msgs[1].new_flags == MBOX_F_ANSWERED &&
	   sb.msgs[1].new_keywords == 1ULL << mine && sb.msgs[2].expunge && !sb.msgs[0].dirty &&
	   !sb.msgs[3].dirty && !sb.msgs[3].expunge, "merge: B's pending requests kept");
	ok(sb.msgs[3].uid == 0 && sb.missing_uids == 1 && sb.uidvalidity == sa.uidvalidity,
	   "merge: the new message has no UID yet");
	mbox_unlock(&b);

	/* A patches message 2 in place, same size: seen without an append */
	nanosleep(&ts, NULL);
	ok(lock_w(&a) == 0 && mbox_scan_update(&a, &sa) == 0 && sa.count == 4, "merge: A sees mail");
	sa.msgs[1].dirty = 1;
	sa.msgs[1].new_flags = MBOX_F_DELETED;
	sa.msgs[1].new_keywords = 0;
	ok(stat(path, &st) == 0 && (size = st.st_size) > 0 && mbox_rewrite(&a, &sa, 0) == 0 &&
	   stat(path, &st) == 0 && st.st_size == size, "merge: A patched message 2 in place");
	mbox_unlock(&a);
	ok(mbox_lock(&b, MBOX_LOCK_READ, 2000) == 0 && mbox_scan_update(&b, &sb) == 0 &&
	   sb.count == 4 && sb.msgs[1].flags == MBOX_F_DELETED && sb.msgs[1].dirty &&
	   sb.msgs[1].new_flags == MBOX_F_ANSWERED && sb.msgs[2].expunge,
	   "merge: same size, new mtime -> 0, flags refreshed, requests kept");
	mbox_unlock(&b);

	/* B writes: its requests only, A's flag on message 1 survives */
	ok(lock_w(&b) == 0 && mbox_rewrite(&b, &sb, MBOX_RW_UIDS) == 0 && sb.count == 3,
	   "merge: B's rewrite");
	mbox_unlock(&b);
	ok(mbox_open(&c, path, MBOX_RDONLY) == 0 && mbox_lock(&c, MBOX_LOCK_READ, 2000) == 0 &&
	   mbox_scan(&c, &sc) == 0 && sc.count == 3, "merge: rescanned");
	work = mbox_keyword_index(&sc, "$Work", 5, 0);
	mine = mbox_keyword_index(&sc, "Mine", 4, 0);
	ok(work >= 0 && mine >= 0 && sc.msgs[0].flags == (MBOX_F_SEEN | MBOX_F_FLAGGED) &&
	   sc.msgs[0].keywords == 1ULL << work, "merge: A's flags on message 1 not lost");
	ok(sc.msgs[1].flags == MBOX_F_ANSWERED && sc.msgs[1].keywords == 1ULL << mine &&
	   sc.msgs[1].uid == 2 && sc.msgs[2].uid == 4, "merge: B's changes written, message 3 gone");
	mbox_scan_free(&sc);
	mbox_close(&c);

	/* a structural change by A (an expunge) still gives 1 */
	nanosleep(&ts, NULL);
	ok(lock_w(&a) == 0 && mbox_scan_update(&a, &sa) == 1 && sa.count == 3, "merge: A rescanned");
	sa.msgs[0].expunge = 1;
	ok(mbox_rewrite(&a, &sa, 0) == 0 && sa.count == 2, "merge: A expunged message 1");
	mbox_unlock(&a);
	sb.msgs[1].dirty = 1;
	sb.msgs[1].new_flags = MBOX_F_SEEN;
	ok(mbox_lock(&b, MBOX_LOCK_READ, 2000) == 0 && mbox_scan_update(&b, &sb) == 1 &&
	   sb.count == 2 && sb.msgs[0].uid == 2 && !sb.msgs[0].dirty,
	   "merge: expunged elsewhere -> 1, rebuilt");
	/* and one appended to as well */
	mbox_unlock(&b);
	nanosleep(&ts, NULL);
	ok(lock_w(&a) == 0 && mbox_scan_update(&a, &sa) == 0, "merge: A up to date again");
	sa.msgs[0].expunge = 1;
	ok(mbox_rewrite(&a, &sa, 0) == 0 && sa.count == 1, "merge: A expunged again");
	mbox_unlock(&a);
	append_raw(path, "From new@example.test  Mon Jan  2 15:06:00 2006\nSubject: 5\n\nbody 5\n\n");
	ok(mbox_lock(&b, MBOX_LOCK_READ, 2000) == 0 && mbox_scan_update(&b, &sb) == 1 &&
	   sb.count == 2 && sb.msgs[0].uid == 4, "merge: expunged then appended -> 1");
	mbox_unlock(&b);
	mbox_scan_free(&sa);
	mbox_scan_free(&sb);
	mbox_close(&a);
	mbox_close(&b);
}

static int check_scan(const char *p, size_t n, const char *what)
{
	char path[4096];
	struct mbox mb;
	struct mbox_scan sc;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/fuzz.mbox", dir);
	put_file(path, p, n);
	memset(&sc, 0, sizeof(sc));
	if (mbox_open(&mb, path, MBOX_RDONLY) < 0 || mbox_lock(&mb, MBOX_LOCK_READ, 2000) < 0 ||
	    mbox_scan(&mb, &sc) < 0) {
		diag("%s: scan failed: %s", what, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sc.count; i++) {
		const struct mbox_msg *m = &sc.msgs[i];
		char *v;
		size_t vn;
		if (!(m->offset < m->hdr_off && m->hdr_off <= m->body_off && m->body_off <= m->body_end &&
		      m->body_end <= m->next && m->next <= n) ||
		    (i + 1 < sc.count && m->next != sc.msgs[i + 1].offset)) {
			bad = 1;
			diag("%s: message %zu offsets inconsistent", what, i);
			break;
		}
		if (mbox_msg_load_locked(&mb, m, MBOX_PART_ALL, &v, &vn) < 0 ||
		    vn != m->hdr_size + m->body_size) {
			bad = 1;
			diag("%s: message %zu view size mismatch", what, i);
			break;
		}
		free(v);
	}
	mbox_scan_free(&sc);
	mbox_close(&mb);
	return bad;
}

static void test_fuzz(void)
{
	const char *names[] = { "crlf.mbox", "barecr.mbox", "nofinalnl.mbox", "junk.mbox",
				"fromlines.mbox", "dovecot-lda.mbox", "meta.mbox", "pseudo.mbox",
				"baduids.mbox", "clen.mbox" };
	char path[4096], what[256];
	uint32_t seed = 12345;

	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t n;
		char *p;
		int bad = 0;
		snprintf(path, sizeof(path), "%s/t/fixtures/%s", src, names[f]);
		if (!(p = slurp(path, &n))) {
			ok(0, "read %s", names[f]);
			continue;
		}
		for (size_t k = 0; k <= n && !bad; k++) {
			snprintf(what, sizeof(what), "%s cut at %zu", names[f], k);
			bad = check_scan(p, k, what);
		}
		ok(!bad, "%s: every truncation scans consistently", names[f]);
		/* flip random bytes into mbox-significant ones */
		bad = 0;
		for (int round = 0; round < 200 && !bad; round++) {
			char *q = malloc(n + 1);
			memcpy(q, p, n);
			for (int k = 0; k < 4 && n; k++) {
				seed = seed * 1103515245 + 12345;
				static const char sig[] = "\n\r :F0 9X-";
				q[(seed >> 8) % n] = sig[(seed >> 20) % (sizeof(sig) - 1)];
			}
			snprintf(what, sizeof(what), "%s mutation %d", names[f], round);
			bad = check_scan(q, n, what);
			free(q);
		}
		ok(!bad, "%s: 200 mutations scan consistently", names[f]);
		free(p);
	}
	/* pure garbage, including long lines over block boundaries */
	int bad = 0;
	for (int round = 0; round < 20 && !bad; round++) {
		size_t n = 1000 + (size_t)round * 9000;
		char *q = malloc(n);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			q[i] = (seed >> 16) % 7 == 0 ? '\n' : (char)(seed >> 8);
			if (round % 3 == 0 && i % 70000 > 100)
				q[i] = 'x';   /* lines longer than a block */
		}
		snprintf(what, sizeof(what), "garbage %d", round);
		bad = check_scan(q, n, what);
		free(q);
	}
	ok(!bad, "random garbage and long lines scan consistently");
}

static void test_big(void)
{
	/* many messages and a body line longer than a block */
	char path[4096];
	int fd;
	struct mbox mb;
	struct mbox_scan sc;
	size_t i;
	char *v = NULL;
	size_t vn;

	snprintf(path, sizeof(path), "%s/big.mbox", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (i = 0; i < 3000; i++) {
		char b[256];
		int l = snprintf(b, sizeof(b),
				 "From u%zu@example.test  Mon Jan  2 15:04:05 2006\nSubject: %zu\n\nbody %04zu\n",
				 i, i, i);
		if (write(fd, b, (size_t)l) != l)
			abort();
		if (i == 1500) {
			/* a 200 KB body line, longer than a block */
			char *big = malloc(200000);
			memset(big, 'y', 200000);
			big[199999] = '\n';
			if (write(fd, big, 200000) != 200000)
				abort();
			free(big);
		}
		if (write(fd, "\n", 1) != 1)
			abort();
	}
	close(fd);
	memset(&sc, 0, sizeof(sc));
	ok(mbox_open(&mb, path, MBOX_RDONLY) == 0 && mbox_lock(&mb, MBOX_LOCK_READ, 2000) == 0 &&
	   mbox_scan(&mb, &sc) == 0 && sc.count == 3000, "3000 messages across blocks");
	ok(sc.count == 3000 && sc.msgs[1500].body_size == 11 + 200001 &&
	   sc.msgs[1500].body_lines == 2, "a 200 KB line counted (%llu)",
	   sc.count == 3000 ? (unsigned long long)sc.msgs[1500].body_size : 0ULL);
	ok(sc.count == 3000 && mbox_msg_load_locked(&mb, &sc.msgs[1500], MBOX_PART_ALL, &v, &vn) == 0 &&
	   vn == sc.msgs[1500].hdr_size + sc.msgs[1500].body_size, "long message view");
	free(v);
	mbox_scan_free(&sc);
	mbox_close(&mb);

	/* under a read lock messages are read through a 256 KiB read-ahead
	 * window: every message (many across its edges, one larger than it)
	 * as the plain reads of a write lock give it, the window refilled
	 * after a lock was given back and taken again */
	char **rd = calloc(3000, sizeof *rd);
	size_t *rn = calloc(3000, sizeof *rn), same = 0, got = 0;
	memset(&sc, 0, sizeof(sc));
	ok(rd && rn && mbox_open(&mb, path, MBOX_RDWR) == 0 &&
	   mbox_lock(&mb, MBOX_LOCK_READ, 2000) == 0 && mbox_scan(&mb, &sc) == 0 && sc.count == 3000,
	   "window: scanned");
	for (i = 0; i < sc.count; i++) {
		if (i == 2000 && (mbox_unlock(&mb) < 0 || mbox_lock(&mb, MBOX_LOCK_READ, 2000) < 0))
			break;
		got += mbox_msg_load_locked(&mb, &sc.msgs[i], MBOX_PART_HEADER | MBOX_PART_BODY,
					    &rd[i], &rn[i]) == 0;
	}
	ok(got == 3000, "window: every message read under the read lock (%zu)", got);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 2000) == 0, "window: write lock");
	for (i = 0; i < sc.count && rd; i++) {
		if (mbox_msg_load_locked(&mb, &sc.msgs[i], MBOX_PART_ALL, &v, &vn) == 0 && rd[i] &&
		    vn == rn[i] && memcmp(v, rd[i], vn) == 0)
			same++;
		free(v);
		v = NULL;
		free(rd[i]);
	}
	ok(same == 3000, "window: the same bytes as plain reads (%zu of 3000)", same);
	/* a message that is not where the table says: refused, not served
	 * from the window's bytes */
	struct mbox_msg moved = sc.count ? sc.msgs[10] : (struct mbox_msg){ 0 };
	moved.offset += 1;
	ok(mbox_lock(&mb, MBOX_LOCK_READ, 2000) == 0 &&
	   mbox_msg_load_locked(&mb, &sc.msgs[9], MBOX_PART_ALL, &v, &vn) == 0, "window: filled");
	free(v);
	v = NULL;
	errno = 0;
	ok(mbox_msg_load_locked(&mb, &moved, MBOX_PART_ALL, &v, &vn) == -1 && errno == ESTALE,
	   "window: no From_ line at the offset: ESTALE");
	free(rd);
	free(rn);
	mbox_scan_free(&sc);
	mbox_close(&mb);
}

int main(void)
{
	src = getenv("FACTEUR_SRC");
	if (!src)
		src = ".";
	if (!mkdtemp(dir))
		skip_all("no temp dir");
	test_basic();
	test_dovecot();
	test_meta();
	test_update();
	test_merge();
	test_big();
	test_fuzz();
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
