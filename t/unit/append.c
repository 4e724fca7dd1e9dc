/* libmbox append.c: exact bytes of the mailbox after appends. */
#include "mbox.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define D1 1700000000           /* Tue Nov 14 22:13:20 2023 UTC */
#define F1 "Tue Nov 14 22:13:20 2023\n"
#define D2 1699000000           /* Fri Nov  3 08:26:40 2023 UTC: day padded */
#define F2 "Fri Nov  3 08:26:40 2023\n"

static char dir[] = "/tmp/facteur-append.XXXXXX";
static char path[256];
static int npath;

static void new_path(void)
{
	snprintf(path, sizeof path, "%s/mbox%d", dir, ++npath);
}

static void put_file(const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		diag("cannot write %s", path);
	close(fd);
}

/* Appends under a write lock; returns the result, errno kept. */
static int append(const struct mbox_append *a, uint64_t *off_r)
{
	struct mbox mb;
	int r, e;

	if (mbox_open(&mb, path, MBOX_RDWR | MBOX_CREATE) == -1)
		return -1;
	if (mbox_lock(&mb, MBOX_LOCK_WRITE, 1000) == -1) {
		e = errno;
		mbox_close(&mb);
		errno = e;
		return -1;
	}
	r = mbox_append(&mb, a, off_r);
	e = errno;
	mbox_close(&mb);
	errno = e;
	return r;
}

static void show(const char *what, const char *s, size_t n)
{
	char line[160];
	size_t i, k = 0;

	for (i = 0; i < n && k < sizeof line - 8; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			line[k++] = '\\', line[k++] = 'n';
			line[k] = 0;
			diag("%s %s", what, line);
			k = 0;
		} else if (c == '\r') {
			line[k++] = '\\', line[k++] = 'r';
		} else if (c < ' ' || c > '~') {
			k += (size_t)snprintf(line + k, sizeof line - k, "\\x%02x", c);
		} else {
			line[k++] = (char)c;
		}
	}
	line[k] = 0;
	if (k)
		diag("%s %s", what, line);
}

static int file_is(const char *want, size_t wlen)
{
	size_t n;
	char *got = slurp(path, &n);
	int same = got && n == wlen && memcmp(got, want, n) == 0;

	if (!same) {
		show("got:     ", got ? got : "", n);
		show("expected:", want, wlen);
	}
	free(got);
	return same;
}
#define FILE_IS(lit) file_is(lit, sizeof(lit) - 1)

static struct mbox_append msg(const char *sender, const char *data)
{
	struct mbox_append a;

	memset(&a, 0, sizeof a);
	a.sender = sender;
	a.date = D1;
	a.data = data;
	a.len = strlen(data);
	a.fd = -1;
	return a;
}

static void t_basic(void)
{
	struct mbox_append a = msg("alice@example.org", "Subject: hi\n\nbody\n");
	struct stat st;
	uint64_t off = 99;

	new_path();
	umask(022);
	ok(append(&a, &off) == 0 && off == 0, "first append at offset 0");
	ok(FILE_IS("From alice@example.org  " F1 "Subject: hi\n\nbody\n\n"),
	   "From_ line with two spaces and asctime date, one empty line after");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "created mode 0600 (umask 022)");
	a = msg("bob@example.org", "Subject: 2\n\nx\n");
	a.date = D2;
	ok(append(&a, &off) == 0 &&
	   off == sizeof("From alice@example.org  " F1 "Subject: hi\n\nbody\n\n") - 1,
	   "second append at the old size (%llu)", (unsigned long long)off);
	ok(FILE_IS("From alice@example.org  " F1 "Subject: hi\n\nbody\n\n"
		   "From bob@example.org  " F2 "Subject: 2\n\nx\n\n"),
	   "second message follows; day of month space-padded");

	new_path();
	umask(0);
	a = msg("a@b", "\n");
	ok(mbox_deliver(path, &a, 1000) == 0, "mbox_deliver creates");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "created mode 0600 (umask 0)");
	umask(022);
	ok(FILE_IS("From a@b  " F1 "\n\n"), "message without headers");
}

static void t_sender(void)
{
	static const char *bad[] = { NULL, "", "a b@c", "a\tb", "a\001b", "a\177b", "x\ny" };
	struct mbox_append a;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		new_path();
		a = msg(bad[i], "S: x\n\nb\n");
		ok(append(&a, NULL) == 0 && FILE_IS("From MAILER-DAEMON  " F1 "S: x\n\nb\n\n"),
		   "sender #%zu -> MAILER-DAEMON", i);
	}
	new_path();
	a = msg("\xc3\xa9t\xc3\xa9@example.org", "S: x\n\nb\n");
	ok(append(&a, NULL) == 0 && FILE_IS("From \xc3\xa9t\xc3\xa9@example.org  " F1 "S: x\n\nb\n\n"),
	   "8-bit sender kept");
}

static void t_quoting(void)
{
	struct mbox_append a;

	new_path();
	a = msg("s@x", "Subject: q\n\nFrom x\n>From y\n>>From z\nFrom\nFromage\n From q\n"
		"from lower\nFrom \nFrom");
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Subject: q\n\n>From x\n>From y\n>>From z\nFrom\nFromage\n From q\n"
		   "from lower\n>From \nFrom\n\n"),
	   "mboxo: only ^From  gets one >, other lines untouched");
	new_path();
	a = msg("s@x", "From  x\n\nFrom body\n");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "From  x\n\n>From body\n\n"),
	   "a From  header line is kept without strip_meta, body quoted");
	new_path();
	a = msg("s@x", "S: q\n\n\nFrom after empty\n\n");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "S: q\n\n\n>From after empty\n\n\n"),
	   "From after an empty body line quoted, trailing empty line kept");
}

static void t_line_ends(void)
{
	struct mbox_append a;

	new_path();
	a = msg("s@x", "Subject: c\r\nX: y\r\n\r\nline1\r\nbare\rcr\r\nFrom z\r\nend\r\n");
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Subject: c\nX: y\n\nline1\nbare\rcr\n>From z\nend\n\n"),
	   "CRLF -> LF, bare CR kept as data");
	new_path();
	a = msg("s@x", "S: c\n\nabc\r");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "S: c\n\nabc\r\n\n"),
	   "final bare CR kept, LF added");
	new_path();
	a = msg("s@x", "S: c\n\nbody");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "S: c\n\nbody\n\n"),
	   "missing final newline added");
	new_path();
	a = msg("s@x", "S: c\nX: d");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "S: c\nX: d\n\n\n"),
	   "no separator: all headers, empty line added");
	new_path();
	a = msg("s@x", "S: c\r\n");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "S: c\n\n\n"),
	   "headers only with CRLF");
	new_path();
	a = msg("s@x", "");
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "\n\n"), "empty message");
}

#define META_HDRS "Status: RO\nx-status: AD\nX-Keywords: a\n  b\nX-UID: 5\nX-IMAP: 1 2\n" \
	"X-IMAPbase: 1 2\nContent-Length: 3\nX-Delivery-ID: q\nFrom evil  Mon Jan  1 00:00:00 2001\n" \
	"Return-Path: <old@x>\nStatus-Foo: keep\nX-UIDL: keep\nSTATUS : R\nContent-length:1\n"

static void t_strip(void)
{
	struct mbox_append a;
	static const char pre[] = "Return-Path: <new@x>\r\nDelivered-To: u@x";

	new_path();
	a = msg("s@x", "Subject: m\n" META_HDRS "To: u\n\nStatus: RO\nX-UID: 9\n");
	a.strip_meta = 1;
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Subject: m\nReturn-Path: <old@x>\nStatus-Foo: keep\nX-UIDL: keep\n"
		   "To: u\n\nStatus: RO\nX-UID: 9\n\n"),
	   "strip_meta drops metadata headers and continuations, keeps Return-Path without prefix, body untouched");
	new_path();
	a = msg("s@x", "Subject: m\n" META_HDRS "To: u\n\nb\n");
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Subject: m\n" META_HDRS "To: u\n\nb\n\n"),
	   "without strip_meta every header is kept");
	new_path();
	a = msg("s@x", "Return-Path: <old@x>\n\tcont\nSubject: m\n\nb\n");
	a.strip_meta = 1;
	a.prefix = pre;
	a.prefix_len = sizeof pre - 1;
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Return-Path: <new@x>\nDelivered-To: u@x\nSubject: m\n\nb\n\n"),
	   "prefix first (CRLF fixed, final LF added), old Return-Path dropped");
	new_path();
	a = msg("s@x", "Return-Path: <old@x>\nSubject: m\n\nb\n");
	a.prefix = pre;
	a.prefix_len = sizeof pre - 1;
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Return-Path: <new@x>\nDelivered-To: u@x\nReturn-Path: <old@x>\n"
		   "Subject: m\n\nb\n\n"),
	   "prefix without strip_meta keeps the old Return-Path");
	new_path();
	a = msg("s@x", "X-Long-Header-Name-Beyond-The-Hold-Size: 1\nStatus: O\n\nb\n");
	a.strip_meta = 1;
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "X-Long-Header-Name-Beyond-The-Hold-Size: 1\n\nb\n\n"),
	   "long header names pass through");
}

static void t_meta(void)
{
	struct mbox_append a;

	new_path();
	a = msg("s@x", "Subject: f\n\nb\n");
	a.flags = MBOX_F_SEEN | MBOX_F_OLD | MBOX_F_ANSWERED | MBOX_F_FLAGGED |
		MBOX_F_DRAFT | MBOX_F_DELETED;
	a.keywords = "$Label1 Junk";
	a.uid = 7;
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Subject: f\nStatus: RO\nX-Status: AFTD\nX-Keywords: $Label1 Junk\n"
		   "X-UID: 7\n\nb\n\n"),
	   "all flags, keywords, uid in order");
	new_path();
	a = msg("s@x", "Subject: f\n\nb\n");
	a.flags = MBOX_F_SEEN;
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "Subject: f\nStatus: R\n\nb\n\n"),
	   "only Status: R");
	new_path();
	a = msg("s@x", "Subject: f\n\nb\n");
	a.flags = MBOX_F_FLAGGED | MBOX_F_DELETED;
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "Subject: f\nX-Status: FD\n\nb\n\n"),
	   "only X-Status: FD");
	new_path();
	a = msg("s@x", "Subject: f");
	a.flags = MBOX_F_OLD;
	a.uid = 4294967295u;
	ok(append(&a, NULL) == 0 &&
	   FILE_IS("From s@x  " F1 "Subject: f\nStatus: O\nX-UID: 4294967295\n\n\n"),
	   "meta before the added separator");
	new_path();
	a = msg("s@x", "Status: RO\nSubject: f\n\nb\n");
	a.strip_meta = 1;
	a.flags = MBOX_F_SEEN;
	ok(append(&a, NULL) == 0 && FILE_IS("From s@x  " F1 "Subject: f\nStatus: R\n\nb\n\n"),
	   "incoming Status replaced by ours");
}

static void t_fixup(void)
{
	static const char old[] = "From a@b  " F1 "S: x\n\nbody";
	struct mbox_append a;
	uint64_t off = 0;

	new_path();
	put_file(old, sizeof old - 1);
	a = msg("s@x", "S: y\n\nz\n");
	ok(append(&a, &off) == 0 && off == sizeof old + 1, "offset after the fix-up");
	ok(FILE_IS("From a@b  " F1 "S: x\n\nbody\n\nFrom s@x  " F1 "S: y\n\nz\n\n"),
	   "file without final LF gets two");
	new_path();
	put_file(old, sizeof old - 1);
	put_file("From a@b  " F1 "S: x\n\nbody\n", sizeof old);
	ok(append(&a, &off) == 0 && off == sizeof old + 1, "offset after one LF");
	ok(FILE_IS("From a@b  " F1 "S: x\n\nbody\n\nFrom s@x  " F1 "S: y\n\nz\n\n"),
	   "file ending in one LF gets one more");
	new_path();
	put_file("\n\n", 2);
	ok(append(&a, &off) == 0 && off == 2 && FILE_IS("\n\nFrom s@x  " F1 "S: y\n\nz\n\n"),
	   "file ending in an empty line left alone");
	new_path();
	put_file("x", 1);
	ok(append(&a, &off) == 0 && off == 3 && FILE_IS("x\n\nFrom s@x  " F1 "S: y\n\nz\n\n"),
	   "one-byte file");
}

/* A message in a file at data_off, read back through a->fd. */
static int append_fd(const char *data, size_t len, uint64_t data_off)
{
	char tpath[300];
	struct mbox_append a;
	int fd, r, e;

	snprintf(tpath, sizeof tpath, "%s/input", dir);
	fd = open(tpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, "JUNKJUNKJUNK", data_off, 0) != (ssize_t)data_off ||
	    pwrite(fd, data, len, (off_t)data_off) != (ssize_t)len)
		return -1;
	a = msg("s@x", "");
	a.data = NULL;
	a.fd = fd;
	a.data_off = data_off;
	a.len = len;
	r = append(&a, NULL);
	e = errno;
	close(fd);
	unlink(tpath);
	errno = e;
	return r;
}

static void t_fd_blocks(void)
{
	static char data[200000], want[210000];
	size_t hdr, n, w, k, split;
	int bad = 0;

	/* "From " lines and CRLFs at every split of the 65536 block edge */
	for (split = 0; split <= 6; split++) {
		n = w = 0;
		hdr = (size_t)snprintf(data, sizeof data, "Subject: s\n\n");
		n = hdr;
		while (n < 65536 - split - 2) {
			data[n++] = 'x';
			if (n % 70 == 0)
				data[n++] = '\n';
		}
		data[n++] = '\n';
		while (n < 65536 - split)
			data[n++] = 'y';
		data[n - 1] = '\n';
		memcpy(data + n, "From split\r\nmore\r\n", 18);
		n += 18;
		k = (size_t)snprintf(want, sizeof want, "From s@x  " F1);
		w = k;
		memcpy(want + w, data, 65536 - split);
		w += 65536 - split;
		memcpy(want + w, ">From split\nmore\n\n", 18);
		w += 18;
		new_path();
		if (append_fd(data, n, 7) != 0 || !file_is(want, w))
			bad++;
	}
	ok(!bad, "From  line and CRLF split at each offset around a block edge");

	/* a CR as the last byte of a block, its LF first of the next */
	n = (size_t)snprintf(data, sizeof data, "S: s\n\n");
	for (; n < 65535; n++)
		data[n] = (n % 50) ? 'z' : '\n';
	data[65534] = 'a';
	data[n++] = '\r';
	data[n++] = '\n';
	memcpy(data + n, "From x", 6);
	n += 6;
	k = (size_t)snprintf(want, sizeof want, "From s@x  " F1);
	memcpy(want + k, data, 65535);
	w = k + 65535;
	memcpy(want + w, "\n>From x\n\n", 10);
	w += 10;
	new_path();
	ok(append_fd(data, n, 0) == 0 && file_is(want, w), "CRLF split across blocks -> LF");

	/* more than three blocks, streamed */
	n = 0;
	memcpy(data, "S: big\n\n", 8);
	for (n = 8; n < sizeof data - 1; n++)
		data[n] = (n % 1000 == 0) ? '\n' : 'q';
	data[n++] = '\n';
	k = (size_t)snprintf(want, sizeof want, "From s@x  " F1);
	memcpy(want + k, data, n);
	want[k + n] = '\n';
	new_path();
	ok(append_fd(data, n, 3) == 0 && file_is(want, k + n + 1), "200 kB message from fd");
}

static void t_bad(void)
{
	static const char before[] = "From a@b  " F1 "S: x\n\nb\n\n";
	struct mbox_append a;
	struct mbox mb;
	char tpath[300];
	int fd;

	new_path();
	put_file(before, sizeof before - 1);
	a = msg("s@x", "S: y\n\nz\n");
	ok(mbox_open(&mb, path, MBOX_RDWR) == 0 && mbox_append(&mb, &a, NULL) == -1 &&
	   errno == ENOLCK, "append without the write lock: ENOLCK");
	mbox_close(&mb);
	ok(mbox_open(&mb, path, MBOX_RDONLY) == 0 && mbox_append(&mb, &a, NULL) == -1 &&
	   errno == EBADF, "append on a read-only mailbox: EBADF");
	mbox_close(&mb);
	a = msg("s@x", "S: y\n\nz\n");
	a.data = NULL;
	ok(append(&a, NULL) == -1 && errno == EINVAL, "no data and no fd: EINVAL");
	a = msg("s@x", "S: y\n\nz\n");
	a.keywords = "a\nStatus: RO";
	ok(append(&a, NULL) == -1 && errno == EINVAL, "keywords with a newline: EINVAL");
	a = msg("s@x", "S: y\n\nz\n");
	a.prefix = "X: 1\n\nY: 2\n";
	a.prefix_len = strlen(a.prefix);
	ok(append(&a, NULL) == -1 && errno == EINVAL, "prefix with an empty line: EINVAL");
	a.prefix = "X: 1\nFrom a  Mon Jan  1 00:00:00 2001\n";
	a.prefix_len = strlen(a.prefix);
	ok(append(&a, NULL) == -1 && errno == EINVAL, "prefix with a From  line: EINVAL");
	ok(FILE_IS("From a@b  " F1 "S: x\n\nb\n\n"), "mailbox unchanged after refused appends");

	/* input shorter than announced: the error comes mid-message */
	snprintf(tpath, sizeof tpath, "%s/short", dir);
	fd = open(tpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0 && write(fd, "S: y\n\n", 6) == 6, "short input file");
	a = msg("s@x", "");
	a.data = NULL;
	a.fd = fd;
	a.len = 100000;
	ok(append(&a, NULL) == -1 && errno == EIO, "input shorter than len: EIO");
	a.fd = 12345;
	ok(append(&a, NULL) == -1 && errno == EBADF, "bad input fd: EBADF");
	ok(FILE_IS("From a@b  " F1 "S: x\n\nb\n\n"), "mailbox byte-identical after a failed append");
	close(fd);
	unlink(tpath);
}

/* SIGTERM in the middle of a long append: the signal waits, so the
 * message is complete (never half written, never rolled back by death). */
static void t_signal(void)
{
	static char line[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
	const size_t total = 32u << 20;
	char tpath[300];
	struct stat st;
	size_t n;
	pid_t pid;
	int fd, ws = 0, i;

	new_path();
	snprintf(tpath, sizeof tpath, "%s/sig-input", dir);
	fd = open(tpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (n = 0; fd >= 0 && n < total; n += sizeof line - 1)
		if (write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
			break;
	ok(n >= total, "32 MB input written");
	pid = fork();
	if (pid == 0) {
		struct mbox_append a = msg("s@x", "");

		a.data = NULL;
		a.fd = fd;
		a.len = n;
		_exit(append(&a, NULL) == 0 ? 0 : 1);
	}
	for (i = 0; i < 2000; i++) {    /* until the append has started */
		if (stat(path, &st) == 0 && st.st_size > 0)
			break;
		usleep(1000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &ws, 0);
	diag("child %s", WIFSIGNALED(ws) ? "killed by the deferred SIGTERM" : "finished first");
	ok((WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM) || (WIFEXITED(ws) && WEXITSTATUS(ws) == 0),
	   "child ended by SIGTERM or success");
	ok(stat(path, &st) == 0 &&
	   (size_t)st.st_size == sizeof("From s@x  " F1) - 1 + n + 2,
	   "the message (all header lines: two LFs added) is complete despite SIGTERM (%lld bytes)", (long long)st.st_size);
	close(fd);
	unlink(tpath);
}

/* mbox_append_many: n messages, all or nothing (IMAP MULTIAPPEND) */
static int append_many(const struct mbox_append *a, size_t n, uint64_t *off_r)
{
	struct mbox mb;
	int r, e;

	if (mbox_open(&mb, path, MBOX_RDWR | MBOX_CREATE) == -1)
		return -1;
	if (mbox_lock(&mb, MBOX_LOCK_WRITE, 1000) == -1) {
		e = errno;
		mbox_close(&mb);
		errno = e;
		return -1;
	}
	r = mbox_append_many(&mb, a, n, off_r);
	e = errno;
	mbox_close(&mb);
	errno = e;
	return r;
}

static void t_many(void)
{
	struct mbox_append a[3];
	uint64_t off[3];
	struct rlimit old, lim;
	size_t len;
	static const char base[] = "From a@b  " F1 "S: x\n\nbody";  /* no final LF */
	int i;

	memset(a, 0, sizeof a);
	for (i = 0; i < 3; i++) {
		a[i].sender = "s@x";
		a[i].date = D1;
		a[i].fd = -1;
	}
	a[0].data = "S: 1\r\n\r\none\r\n";
	a[0].len = strlen(a[0].data);
	a[1].data = "S: 2\n\nFrom two\n";
	a[1].len = strlen(a[1].data);
	a[1].flags = MBOX_F_SEEN;
	a[2].data = "S: 3\n\nthree";
	a[2].len = strlen(a[2].data);
	new_path();
	put_file(base, sizeof base - 1);
	ok(append_many(a, 3, off) == 0 &&
	   FILE_IS("From a@b  " F1 "S: x\n\nbody\n\nFrom s@x  " F1 "S: 1\n\none\n\n"
		   "From s@x  " F1 "S: 2\nStatus: R\n\n>From two\n\nFrom s@x  " F1 "S: 3\n\nthree\n\n"),
	   "three messages in one append, after the fix-up of the last line");
	ok(off[0] == sizeof base - 1 + 2 && off[1] == off[0] + 46 && off[2] == off[1] + 62,
	   "the offset of each From_ line");
	/* a limit that lets the first message through but not the third:
	 * nothing of the batch stays */
	new_path();
	put_file(base, sizeof base - 1);
	a[2].data = "S: 3\n\nthree three three three three three three three three three\n";
	a[2].len = strlen(a[2].data);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = sizeof base - 1 + 2 + 46 + 62 + 40;
	setrlimit(RLIMIT_FSIZE, &lim);
	errno = 0;
	ok(append_many(a, 3, off) == -1 && errno == EFBIG, "a message over the file size limit: EFBIG");
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	free(slurp(path, &len));
	ok(len == sizeof base - 1 && FILE_IS("From a@b  " F1 "S: x\n\nbody"),
	   "all or nothing: the file is byte-identical to before");
	/* a bad message anywhere: nothing written */
	a[1].keywords = "bad\nkw";
	errno = 0;
	ok(append_many(a, 3, NULL) == -1 && errno == EINVAL && FILE_IS("From a@b  " F1 "S: x\n\nbody"),
	   "an invalid second message: EINVAL, nothing written");
	a[1].keywords = NULL;
	ok(append_many(a, 0, NULL) == -1 && errno == EINVAL, "no message: EINVAL");
}

/* once (issue 19): a retry after a crash finds the copy stored before it,
 * even with the metadata a reader added since, and only that copy. */
static void t_once(void)
{
	static const char m[] = "Subject: once\nMessage-ID: <o1@x>\n\nline one\nFrom me\n";
	struct mbox_append a = msg("q@example.org", m), b;
	uint64_t off = 99;
	size_t len, len2, i;
	char *f, *big;
	int fd;

	new_path();
	ok(append(&a, NULL) == 0, "once: the first delivery");
	f = slurp(path, &len);
	a.once = 1;
	ok(append(&a, &off) == 1 && off == 0, "once: a retry finds the copy at 0, returns 1");
	free(slurp(path, &len2));
	ok(len2 == len, "once: nothing written");
	/* a reader adds Status, X-UID and a folded X-Keywords; mutt adds
	 * Content-Length and Lines */
	put_file("From x@y  " F2 "S: before\n\nb\n\n", sizeof("From x@y  " F2 "S: before\n\nb\n\n") - 1);
	fd = open(path, O_WRONLY | O_APPEND);
	{
		static const char h[] = "From q@example.org  " F1 "Status: RO\nSubject: once\nX-UID: 7\n"
					"X-Keywords: $a\n $b\nContent-Length: 23\nMessage-ID: <o1@x>\nLines: 2\n"
					"\nline one\n>From me\n\n";
		ok(fd >= 0 && write(fd, h, sizeof h - 1) == (ssize_t)(sizeof h - 1), "once: a copy with metadata");
	}
	close(fd);
	free(f);
	f = slurp(path, &len);
	ok(append(&a, &off) == 1 && off == sizeof("From x@y  " F2 "S: before\n\nb\n\n") - 1,
	   "once: found after another message, metadata fields aside");
	free(slurp(path, &len2));
	ok(len2 == len, "once: nothing written");
	/* not the same: another body, another sender, another date */
	b = a;
	b.data = "Subject: once\nMessage-ID: <o1@x>\n\nline one\nFrom mf\n";
	b.len = strlen(b.data);
	ok(append(&b, &off) == 0 && off == len, "once: another body is appended");
	free(f);
	f = slurp(path, &len);
	b = a;
	b.date = D2;
	ok(append(&b, &off) == 0 && off == len, "once: another date is appended");
	free(f);
	f = slurp(path, &len);
	b = a;
	b.date = 0;
	ok(append(&b, &off) == 0 && off == len, "once without a fixed date: appended (cannot tell)");
	free(f);
	/* a partial copy (cut by a crash, no record): not a copy */
	new_path();
	put_file("From q@example.org  " F1 "Subject: once\nMessage-ID: <o1@x>\n\nline",
		 sizeof("From q@example.org  " F1 "Subject: once\nMessage-ID: <o1@x>\n\nline") - 1);
	ok(append(&a, &off) == 0, "once: a cut copy is not taken for the message");
	/* the copy after a message larger than the 1 MiB search block, and its
	 * From_ line across the block boundary */
	for (i = 0; i < 3; i++) {
		size_t pad = (size_t)(1 << 20) - 40 + i * 7, k;
		new_path();
		big = malloc(pad + 64);
		k = (size_t)snprintf(big, 64, "From z@z  " F2 "S: big\n\n");
		memset(big + k, 'x', pad - k - 2);
		big[pad - 2] = '\n', big[pad - 1] = '\n';
		put_file(big, pad);
		free(big);
		b = a;
		b.once = 0;
		ok(append(&b, NULL) == 0 && append(&a, &off) == 1 && off == pad,
		   "once: found across the search block boundary (%zu)", i);
	}
	/* with metadata to write or from a pipe, never skipped */
	b = a;
	b.flags = MBOX_F_SEEN;
	ok(append(&b, &off) == 0, "once with flags to write: appended");
}

int main(void)
{
	char cmd[300];

	setenv("TZ", "UTC", 1);
	tzset();
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(cmd, sizeof cmd, "%s/journal", dir);
	setenv("MBOX_JOURNAL_DIR", cmd, 1);     /* never the real home */
	t_basic();
	t_sender();
	t_quoting();
	t_line_ends();
	t_strip();
	t_meta();
	t_fixup();
	t_fd_blocks();
	t_bad();
	t_signal();
	t_many();
	t_once();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
