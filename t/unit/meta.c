/* meta.c: metadata header parsing and the block the rewriter writes;
 * scan.c's From_ line parser (good and bad lines). */
#include "mbox.h"
#include "private.h"
#include "tap.h"

#include <string.h>

#define S(x) x, sizeof(x) - 1

int main(void)
{
	struct mbox_scan sc;
	uint32_t uv = 0, last = 0;
	uint64_t x;
	char buf[512];
	long n;
	int64_t t;

	memset(&sc, 0, sizeof(sc));
	ok(mbox_meta_kind(S("Status: RO\n")) == MBOX_MK_STATUS, "Status");
	ok(mbox_meta_kind(S("status: RO\n")) == MBOX_MK_STATUS, "status (case-insensitive)");
	ok(mbox_meta_kind(S("X-IMAPbase: 1 2\n")) == MBOX_MK_XIMAPBASE, "X-IMAPbase");
	ok(mbox_meta_kind(S("X-IMAP: 1 2\n")) == MBOX_MK_XIMAP, "X-IMAP");
	ok(mbox_meta_kind(S("Content-Length: 5\n")) == MBOX_MK_CLEN, "Content-Length");
	ok(mbox_meta_kind(S("Content-Type: text/plain\n")) == MBOX_MK_NONE, "Content-Type visible");
	ok(mbox_meta_kind(S("X-UIDL: abc\n")) == MBOX_MK_NONE, "X-UIDL visible");
	ok(mbox_meta_kind(S("Status RO\n")) == MBOX_MK_NONE, "no colon: visible");
	ok(mbox_meta_kind(S("X-Status")) == MBOX_MK_NONE, "name only: visible");
	ok(mbox_meta_status(S(" RO")) == (MBOX_F_SEEN | MBOX_F_OLD), "Status RO");
	ok(mbox_meta_xstatus(S(" DTFA?")) == (MBOX_F_DELETED | MBOX_F_DRAFT | MBOX_F_FLAGGED |
					       MBOX_F_ANSWERED), "X-Status any order");
	ok(mbox_meta_u64(S("  42  "), &x) == 0 && x == 42, "number with blanks");
	ok(mbox_meta_u64(S("4 2"), &x) == -1, "two numbers refused");
	ok(mbox_meta_u64(S(""), &x) == -1, "empty refused");
	ok(mbox_meta_u64(S("99999999999999999999999"), &x) == -1, "overflow refused");
	ok(mbox_meta_base(&sc, S(" 1795787277 0000000004 $Label1 Junk"), &uv, &last) == 0 &&
	   uv == 1795787277 && last == 4 && sc.nkeywords == 2, "X-IMAPbase Dovecot form");
	ok(mbox_meta_base(&sc, S("     1795787277          4"), &uv, &last) == 0 && last == 4,
	   "X-IMAPbase mailutils form (padded)");
	ok(mbox_meta_base(&sc, S(" 0 4"), &uv, &last) == -1, "UIDVALIDITY 0 refused");
	ok(mbox_meta_base(&sc, S(" 5000000000 4"), &uv, &last) == -1, "UIDVALIDITY > 32 bits refused");
	ok(mbox_meta_base(&sc, S(" x 4"), &uv, &last) == -1, "garbage refused");
	ok(mbox_meta_keywords(&sc, S(" Junk nope $Label1")) == 3, "X-Keywords: only known ones");

	sc.uidvalidity = 1795787277;
	sc.uidnext = 5;
	struct mbox_meta_out o = { 1, 3, MBOX_F_SEEN | MBOX_F_OLD | MBOX_F_FLAGGED, 2, 10 };
	n = mbox_meta_format(&sc, &o, buf, sizeof(buf), 0);
	const char *want = "X-IMAPbase: 1795787277 0000000004 $Label1 Junk\nX-UID: 3\nStatus: RO\n"
			   "X-Status: F\nX-Keywords: Junk";
	ok(n > 0 && !strncmp(buf, want, strlen(want)), "format: Dovecot's forms");
	ok(n > 0 && (size_t)n == strlen(want) + 50 + 1 + strlen("Content-Length: 10\n") &&
	   !memcmp(buf + n - 19, "Content-Length: 10\n", 19), "format: 50 spaces, Content-Length last");
	long n2 = mbox_meta_format(&sc, &o, buf, sizeof(buf), (size_t)n + 7);
	ok(n2 == n + 7, "format: padded to a given length");
	ok(mbox_meta_format(&sc, &o, buf, sizeof(buf), (size_t)n - 51) == -1, "format: too small refused");
	ok(mbox_meta_format(&sc, &o, buf, 20, 0) == -1, "format: buffer too small refused");

	ok(mbox_scan_from_line(S("From a@b  Mon Jan  2 15:04:05 2006\n"), &t) == 1, "From_: Postfix form");
	ok(mbox_scan_from_line(S("From a@b Mon Jan 2 15:04:05 2006\r\n"), NULL) == 1, "From_: one space, CRLF");
	ok(mbox_scan_from_line(S("From a@b Mon Jan  2 15:04 2006\n"), NULL) == 1, "From_: no seconds");
	ok(mbox_scan_from_line(S("From a@b Mon Jan  2 15:04:05 2006 remote from x\n"), NULL) == 1,
	   "From_: extra fields");
	ok(mbox_scan_from_line(S("From a@b Mon, Jan  2 15:04:05 2006\n"), NULL) == 1, "From_: comma");
	ok(mbox_scan_from_line(S("From x y z Mon Jan  2 15:04:05 2006\n"), NULL) == 1,
	   "From_: sender with spaces");
	ok(mbox_scan_from_line(S("From a@b  Mon Jan 32 15:04:05 2006\n"), NULL) == 0, "From_: day 32");
	ok(mbox_scan_from_line(S("From a@b  Mon Jan  2 25:04:05 2006\n"), NULL) == 0, "From_: hour 25");
	ok(mbox_scan_from_line(S("From a@b  Mon Foo  2 15:04:05 2006\n"), NULL) == 0, "From_: bad month");
	ok(mbox_scan_from_line(S("From the body of a message\n"), NULL) == 0, "From_: prose");
	ok(mbox_scan_from_line(S("From a@b  Mon Jan  2 15:04:05 206\n"), NULL) == 0, "From_: 3-digit year");
	ok(mbox_scan_from_line(S("From a@b  Mon Jan  2 15:04:05\n"), NULL) == 0, "From_: no year");
	ok(mbox_scan_from_line(S("From "), NULL) == 0, "From_: nothing after");
	ok(mbox_scan_from_line(S(">From a@b  Mon Jan  2 15:04:05 2006\n"), NULL) == 0, "From_: quoted");
	ok(mbox_scan_from_line(S("From a@b  Mon Jan  2 15:04:05 2006 +0100\n"), &t) == 1 &&
	   t == 1136210645, "From_: numeric zone used");
	mbox_scan_free(&sc);
	return done_testing();
}
