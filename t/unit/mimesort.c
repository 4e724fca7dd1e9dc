/* Unit tests of imap/mime/sortkey.c: the base subject of RFC 5256 2.1 (each
 * step), the reply/forward mark, the sort collation, first addresses and
 * display names (RFC 5957), message ids.  Run by t/69-imap-sort.t.  Every
 * expected value is written by hand from the RFCs. */
#include <string.h>

#include "mime.h"
#include "tap.h"

static char got[1024];

static const char *base(const char *subj, int *reply)
{
	struct buf b;

	buf_init(&b);
	got[0] = '\0';
	if (mime_base_subject(subj, strlen(subj), &b, reply) == 0 && b.len < sizeof got) {
		memcpy(got, b.s ? b.s : "", b.len);
		got[b.len] = '\0';
	}
	buf_free(&b);
	return got;
}

static const char *addr(const char *h, const char *field, int display)
{
	struct buf b;

	buf_init(&b);
	got[0] = '\0';
	if (mime_sort_addr(h, strlen(h), field, display, &b) == 0 && b.len < sizeof got) {
		memcpy(got, b.s ? b.s : "", b.len);
		got[b.len] = '\0';
	}
	buf_free(&b);
	return got;
}

int main(void)
{
	static const struct { const char *in, *out; int reply; } subj[] = {
		{ "Hello", "HELLO", 0 },
		{ "Re: Hello", "HELLO", 1 },
		{ "RE: re: Fwd: FW: fw: hello", "HELLO", 1 },           /* (3) repeated leaders */
		{ "Re[2]: Hello", "HELLO", 1 },                         /* subj-refwd with a blob */
		{ "Re [list]: Hello", "HELLO", 1 },
		{ "[list] Re: Hello", "HELLO", 1 },                     /* *subj-blob subj-refwd */
		{ "[list] Hello", "HELLO", 0 },                          /* (4) blob, text remains */
		{ "[list]", "[LIST]", 0 },                              /* (4) blob alone stays */
		{ "[a] [b] Hello", "HELLO", 0 },                        /* (5) repeated */
		{ "Hello (fwd)", "HELLO", 1 },                          /* (2) trailer */
		{ "Hello (fwd) (FWD)  ", "HELLO", 1 },
		{ "[fwd: Hello]", "HELLO", 1 },                         /* (6) */
		{ "[Fwd: Re: Hello (fwd)]", "HELLO", 1 },               /* (6) then (2)-(5) again */
		{ "  Hello \t  world  ", "HELLO WORLD", 0 },            /* (1) white space */
		{ "Hello\r\n world", "HELLO WORLD", 0 },                /* (1) folding */
		{ "=?UTF-8?Q?R=C3=A9sum=C3=A9?=", "RE\xcc\x81SUME\xcc\x81", 0 }, /* (1) RFC 2047 */
		{ "Re: =?ISO-8859-1?Q?caf=E9?=", "CAFE\xcc\x81", 1 },
		{ "Reply", "REPLY", 0 },                                /* "re" needs ":" */
		{ "re:", "", 1 },
		{ "Fwd:Fwd:x", "X", 1 },
		{ "", "", 0 },
		{ "\xce\xb1\xce\xb2", "\xce\x91\xce\x92", 0 },          /* Greek titlecase */
		{ "\xc3\xa6\xc3\x9f", "\xc3\x86\xc3\x9f", 0 },          /* ae upper, sharp s kept */
	};
	size_t i;
	int reply;
	struct buf b;

	for (i = 0; i < sizeof subj / sizeof subj[0]; i++) {
		reply = -1;
		base(subj[i].in, &reply);
		ok(!strcmp(got, subj[i].out) && reply == subj[i].reply, "base subject of \"%s\": \"%s\" (%s)",
		   subj[i].in, got, reply ? "reply" : "not a reply");
	}
	ok(!strcmp(addr("From: Alice <alice@a.example>\r\n", "From", 0), "ALICE"), "FROM: the mailbox, folded");
	ok(!strcmp(addr("From: Alice <alice@a.example>\r\n", "From", 1), "ALICE"), "DISPLAYFROM: the display name");
	ok(!strcmp(addr("From: alice@a.example\r\n", "From", 1), "ALICE@A.EXAMPLE"), "DISPLAYFROM without a name: mailbox@host");
	ok(!strcmp(addr("To: a@x, Bob <b@y>\r\n", "To", 1), "A@X"), "only the first address counts");
	ok(!strcmp(addr("To: =?UTF-8?Q?=C3=89mile?= <e@x>\r\n", "To", 1), "E\xcc\x81MILE"), "an encoded display name, decoded and folded");
	ok(!strcmp(addr("To: undisclosed-recipients:;\r\n", "To", 0), "UNDISCLOSED-RECIPIENTS"), "a group: its name");
	ok(!strcmp(addr("Subject: x\r\n", "Cc", 0), ""), "no such field: empty");
	buf_init(&b);
	ok(mime_msgids("<a@b> (c <x@y>) <d@e>", 21, &b, 10) == 2 && b.len == 7 && !memcmp(b.s, "a@b d@e", 7),
	   "message ids: comments skipped");
	buf_reset(&b);
	ok(mime_msgids("<a b@c> <nodomain> <x@y", 23, &b, 10) == 1 && b.len == 4 && !memcmp(b.s, "ab@c", 4),
	   "white space dropped, an id without @ and an unclosed one ignored");
	buf_reset(&b);
	ok(mime_msgids("<1@a><2@a><3@a>", 15, &b, 2) == 2 && b.len == 7, "at most max ids");
	buf_free(&b);
	return done_testing();
}
