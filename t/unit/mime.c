/* Unit tests of libmime's tokenizers and decoders (imap/mime/): RFC 5322
 * address lists, RFC 2045/2231 parameters, RFC 2047 encoded words,
 * quoted-printable, base64, charsets, dates, IMAP strings.  Every expected
 * value is written by hand from the RFC (dates: calendar.timegm). */
#include <string.h>

#include "mime_int.h"
#include "tap.h"

/* ---- helpers: results as "a|b|c;" strings, "-" for NIL ---- */

static char res[4096];
static size_t reslen;

static void res_add(const char *s, size_t n)
{
	if (s == NULL) {
		s = "-";
		n = 1;
	}
	if (reslen + n + 2 < sizeof res) {
		memcpy(res + reslen, s, n);
		reslen += n;
		res[reslen] = '\0';
	}
}

static int addr_cb(void *ctx, const struct rfc822_addr *a)
{
	(void)ctx;
	res_add(a->name, a->namelen);
	res_add("|", 1);
	res_add(a->adl, a->adllen);
	res_add("|", 1);
	res_add(a->mailbox, a->mailboxlen);
	res_add("|", 1);
	res_add(a->host, a->hostlen);
	res_add(";", 1);
	return 0;
}

/* address list -> "name|adl|mailbox|host;" per address */
static const char *addrs(const char *in)
{
	reslen = 0;
	res[0] = '\0';
	if (rfc822_addr_list(in, strlen(in), addr_cb, NULL) < 0)
		return "ERROR";
	return res;
}

#define ADDR(in, want) ok(strcmp(addrs(in), want) == 0, "address %s -> %s (got %s)", #in, want, res)

/* Content-Type value -> "type/subtype;attr=value;..." */
static const char *params(const char *in, int ct)
{
	struct params pr;
	size_t i;

	reslen = 0;
	res[0] = '\0';
	params_init(&pr);
	if (params_parse(&pr, in, strlen(in), ct) < 0) {
		params_free(&pr);
		return "ERROR";
	}
	res_add(pr.s.s + pr.v1off, pr.v1len);
	if (ct) {
		res_add("/", 1);
		res_add(pr.s.s + pr.v2off, pr.v2len);
	}
	for (i = 0; i < pr.n; i++) {
		res_add(";", 1);
		res_add(PARAM_A(&pr, i), pr.alen[i]);
		res_add("=", 1);
		res_add(PARAM_V(&pr, i), pr.vlen[i]);
	}
	params_free(&pr);
	return res;
}

#define CT(in, want) ok(strcmp(params(in, 1), want) == 0, "Content-Type %s -> %s (got %s)", #in, want, res)
#define DISP(in, want) ok(strcmp(params(in, 0), want) == 0, "disposition %s -> %s (got %s)", #in, want, res)

typedef int decoder(const char *in, size_t n, struct buf *out);

static int same(decoder *f, const char *in, size_t n, const char *want, size_t wn)
{
	struct buf b;
	int r;

	buf_init(&b);
	r = f(in, n, &b) == 0 && b.len == wn && (wn == 0 || memcmp(b.s, want, wn) == 0);
	if (!r)
		diag("got %zu bytes: %.*s", b.len, (int)b.len, b.s ? b.s : "");
	buf_free(&b);
	return r;
}

#define DEC(f, in, want) ok(same(f, in, sizeof in - 1, want, sizeof want - 1), "%s %s -> %s", #f, #in, #want)

static int hdr_dec(const char *in, size_t n, struct buf *out) { return mime_decode_header(in, n, out); }
static int unfold(const char *in, size_t n, struct buf *out) { return mime_unfold(in, n, out); }
static int fold(const char *in, size_t n, struct buf *out) { return mime_fold(in, n, out); }
static int nstring(const char *in, size_t n, struct buf *out) { return mime_put_nstring(out, in, n); }
static int latin1(const char *in, size_t n, struct buf *out) { return mime_to_utf8("ISO-8859-1", 10, in, n, out); }
static int cp1252(const char *in, size_t n, struct buf *out) { return mime_to_utf8("windows-1252", 12, in, n, out); }
static int unknown_cs(const char *in, size_t n, struct buf *out) { return mime_to_utf8("x-no-such", 9, in, n, out); }

static int date_is(const char *v, long long want)
{
	time_t t = 0;
	int r = mime_parse_date(v, strlen(v), &t);

	if (want == -1)
		return r == -1;
	if (r != 0 || (long long)t != want)
		diag("got %d, %lld", r, (long long)t);
	return r == 0 && (long long)t == want;
}

#define DATE(v, want) ok(date_is(v, want), "date %s -> %lld", #v, (long long)(want))
#define BADDATE(v) ok(date_is(v, -1), "date %s refused", #v)

int main(void)
{
	/* ---- rfc822 tokenizer primitives ---- */
	{
		struct rfc822 r;
		struct buf b;
		const char *s = "  (a (b) \\) c)\r\n x";
		buf_init(&b);
		rfc822_init(&r, s, strlen(s));
		ok(rfc822_skip(&r, &b) == 0 && r.p == s + strlen(s) - 1 && b.len == 9 &&
			   memcmp(b.s, "a (b) ) c", 9) == 0,
		   "comment: nested and quoted-pair, then FWS skipped (got %.*s)", (int)b.len, b.s ? b.s : "");
		s = "\"a\\\"b\\\\c\"rest";
		buf_reset(&b);
		rfc822_init(&r, s, strlen(s));
		ok(rfc822_quoted(&r, &b) == 1 && b.len == 5 && memcmp(b.s, "a\"b\\c", 5) == 0 && *r.p == 'r',
		   "quoted string with quoted-pairs");
		s = "\"\"";
		buf_free(&b);
		buf_init(&b);
		rfc822_init(&r, s, 2);
		ok(rfc822_quoted(&r, &b) == 1 && b.len == 0 && b.s != NULL, "empty quoted string is a value");
		s = "\"abc";
		buf_reset(&b);
		rfc822_init(&r, s, 4);
		ok(rfc822_quoted(&r, &b) == 1 && b.len == 3 && r.p == s + 4, "unterminated quoted string stops at the end");
		s = "a.b@c";
		buf_reset(&b);
		rfc822_init(&r, s, 5);
		ok(rfc822_atom(&r, &b, RFC822_ATOM) == 1 && b.len == 1 && *r.p == '.', "atom stops at '.'");
		buf_reset(&b);
		rfc822_init(&r, s, 5);
		ok(rfc822_atom(&r, &b, RFC822_DOTATOM) == 1 && b.len == 3 && *r.p == '@', "dot-atom");
		s = "text/plain";
		buf_reset(&b);
		rfc822_init(&r, s, 10);
		ok(rfc822_atom(&r, &b, RFC822_TOKEN) == 1 && b.len == 4 && *r.p == '/', "RFC 2045 token stops at '/'");
		buf_reset(&b);
		rfc822_init(&r, "/", 1);
		ok(rfc822_atom(&r, &b, RFC822_TOKEN) == 0, "no token at a tspecial");
		buf_free(&b);
	}

	/* ---- RFC 5322 3.4 address lists ---- */
	ADDR("Alice <alice@example.org>", "Alice|-|alice|example.org;");
	ADDR("alice@example.org", "-|-|alice|example.org;");
	ADDR("a@b.c, \"Smith, John\" <j@x.y>", "-|-|a|b.c;Smith, John|-|j|x.y;");
	ADDR("John Q. Public <jqp@x.y>", "John Q. Public|-|jqp|x.y;");
	ADDR("\"a\\\"b\" <q@x.y>", "a\"b|-|q|x.y;");
	ADDR("Long\r\n Name <l@x.y>", "Long Name|-|l|x.y;");
	ADDR("\"Jane\" Doe <jd@x.y>", "Jane Doe|-|jd|x.y;");
	/* groups (3.4, RFC 3501 7.4.2 group markers) */
	ADDR("undisclosed-recipients:;", "-|-|undisclosed-recipients|-;-|-|-|-;");
	ADDR("Friends: a@b.c, \"D\" <d@e.f>;, z@y.x",
	     "-|-|Friends|-;-|-|a|b.c;D|-|d|e.f;-|-|-|-;-|-|z|y.x;");
	ADDR("G: a@b.c", "-|-|G|-;-|-|a|b.c;-|-|-|-;"); /* unterminated group closed */
	/* comments (3.2.2) */
	ADDR("joe@example.com (Joe Example)", "Joe Example|-|joe|example.com;");
	ADDR("(lead) mary@x.y", "-|-|mary|x.y;");
	ADDR("a(c1)@(c2)b.c", "-|-|a|b.c;");
	ADDR("Bob <b@x.y> (trailing)", "Bob|-|b|x.y;");
	/* route-addr (obs-route, 4.4) */
	ADDR("<@r1.org,@r2.org:u@f.org>", "-|@r1.org,@r2.org|u|f.org;");
	ADDR("Name <@hop.net:n@dest.net>", "Name|@hop.net|n|dest.net;");
	/* quoted local part, domain literal */
	ADDR("\"john doe\"@example.com", "-|-|john doe|example.com;");
	ADDR("u@[127.0.0.1]", "-|-|u|[127.0.0.1];");
	ADDR("first.last@sub.example.com", "-|-|first.last|sub.example.com;");
	/* missing domain / mailbox: placeholders, never a NIL host */
	ADDR("localonly", "-|-|localonly|MISSING_DOMAIN;");
	ADDR("foo@", "-|-|foo|MISSING_DOMAIN;");
	ADDR("\"Only Name\" <>", "Only Name|-|MISSING_MAILBOX|MISSING_DOMAIN;");
	/* empty and junk */
	ADDR("", "");
	ADDR("   ", "");
	ADDR(",,, a@b.c ,,", "-|-|a|b.c;");
	ok(strcmp(addrs("\"abc <a@b>"), "ERROR") != 0, "unterminated quote: no error (got %s)", res);
	ok(strcmp(addrs("(open comment a@b"), "ERROR") != 0, "unterminated comment: no error");
	ok(strcmp(addrs("<@route"), "ERROR") != 0, "unterminated route: no error");

	/* ---- RFC 2045 5.1 parameters, RFC 2231 ---- */
	CT("text/plain; charset=us-ascii", "text/plain;charset=us-ascii");
	CT("TEXT/Plain; CHARSET=\"UTF-8\"", "TEXT/Plain;CHARSET=UTF-8");
	CT("text/plain (c) ; charset = \"utf-8\" ; format=flowed;; ;junk", "text/plain;charset=utf-8;format=flowed");
	CT("multipart/mixed; boundary=\"a b\"", "multipart/mixed;boundary=a b");
	CT("multipart/mixed; boundary=\"\\\"q\\\"\"", "multipart/mixed;boundary=\"q\"");
	CT("application/x; name=\"\"", "application/x;name=");
	CT("garbage", "garbage/");
	CT("", "/");
	/* RFC 2231 3: continuations */
	CT("application/x; name*0=\"ab \"; name*1=\"cd\"", "application/x;name=ab cd");
	CT("application/x; name*1=\"cd\"; name*0=\"ab\"", "application/x;name=abcd"); /* any order */
	CT("application/x; name*0=a; name*2=c", "application/x;name=a");                 /* gap: stop */
	CT("application/x; name*1=orphan", "application/x");                               /* no section 0 */
	/* RFC 2231 4: charset and language, kept encoded under "attr*" */
	CT("application/x; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
	   "application/x;title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
	/* RFC 2231 4.1: encoded and plain sections mixed */
	CT("application/x; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; "
	   "title*2=\"isn't it!\"",
	   "application/x;title*=us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!");
	DISP("attachment; filename=\"a b.txt\"", "attachment;filename=a b.txt");
	DISP("inline", "inline");
	DISP("attachment; filename*0*=UTF-8''%E2%82%AC; filename*1*=.bin", "attachment;filename*=UTF-8''%E2%82%AC.bin");
	{
		char big[64 * 8 + 100];
		size_t i, n = 0;
		struct params pr;
		n += (size_t)snprintf(big + n, sizeof big - n, "text/plain");
		for (i = 0; i < 70; i++)
			n += (size_t)snprintf(big + n, sizeof big - n, ";p%zu=v", i);
		params_init(&pr);
		ok(params_parse(&pr, big, n, 1) == 0 && pr.n == MIME_PARAMS_MAX, "70 parameters: the first %d kept (%zu)",
		   MIME_PARAMS_MAX, pr.n);
		params_free(&pr);
	}

	/* ---- RFC 2047 encoded words ---- */
	DEC(hdr_dec, "=?UTF-8?B?w4lsb2RpZQ==?=", "\xc3\x89lodie");
	DEC(hdr_dec, "=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", "Caf\xc3\xa9 cr\xc3\xa8me");
	DEC(hdr_dec, "=?iso-8859-1?q?a?=", "a"); /* charset and encoding case-insensitive */
	/* RFC 2047 8's table of examples */
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a?=)", "(a)");
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a?= b)", "(a b)");
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)");
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)");
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	DEC(hdr_dec, "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)");
	DEC(hdr_dec, "a =?utf-8?q?b?=", "a b");
	DEC(hdr_dec, "=?utf-8?q?a?= plain =?utf-8?q?=E2=82=AC?=", "a plain \xe2\x82\xac");
	DEC(hdr_dec, "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"); /* RFC 2231 5 language */
	DEC(hdr_dec, "=?KOI8-R?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	DEC(hdr_dec, "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
	DEC(hdr_dec, "=?utf-8?q?" "?=", ""); /* split: "??=" is a trigraph */
	/* not encoded words: left as they are */
	DEC(hdr_dec, "=?x-unknown?Q?abc?=", "abc"); /* decoded, bytes kept */
	DEC(hdr_dec, "=?utf-8?X?bad?=", "=?utf-8?X?bad?=");
	DEC(hdr_dec, "=?utf-8?B?broken", "=?utf-8?B?broken");
	DEC(hdr_dec, "a=?utf-8?q?b c?=", "a=?utf-8?q?b c?=");
	DEC(hdr_dec, "plain  text", "plain text"); /* runs of white space: one space (search) */

	/* ---- quoted-printable, RFC 2045 6.7 ---- */
	DEC(mime_decode_qp, "a=3Db", "a=b");
	DEC(mime_decode_qp, "Gr=FC=DFe", "Gr\xfc\xdf" "e");
	DEC(mime_decode_qp, "soft=\r\nbreak", "softbreak");
	DEC(mime_decode_qp, "soft= \t\r\nbreak", "softbreak"); /* transport padding (rule 3) */
	DEC(mime_decode_qp, "soft=\nbreak", "softbreak");
	DEC(mime_decode_qp, "hard\r\nbreak", "hard\r\nbreak");
	DEC(mime_decode_qp, "=e9", "\xe9"); /* lower case hex tolerated (6.7 note) */
	DEC(mime_decode_qp, "=ZZ", "=ZZ");
	DEC(mime_decode_qp, "end=", "end");
	DEC(mime_decode_qp, "x=4", "x=4");
	DEC(mime_decode_qp, "a_b", "a_b"); /* '_' is a space only in RFC 2047 Q */
	DEC(mime_decode_qp, "", "");

	/* ---- base64, RFC 2045 6.8 ---- */
	DEC(mime_decode_base64, "aGVsbG8=", "hello");
	DEC(mime_decode_base64, "aGVs\r\nbG8=", "hello");
	DEC(mime_decode_base64, "aG!V*s bG8=", "hello"); /* junk ignored */
	DEC(mime_decode_base64, "aG\0VsbG8=", "hello");
	DEC(mime_decode_base64, "aGVsbG8", "hello"); /* padding missing */
	DEC(mime_decode_base64, "YQ==", "a");
	DEC(mime_decode_base64, "YWI=", "ab");
	DEC(mime_decode_base64, "aGk=aGk=", "hi"); /* '=' ends the data */
	DEC(mime_decode_base64, "+/+/", "\xfb\xff\xbf");
	DEC(mime_decode_base64, "", "");

	/* ---- charsets to UTF-8 ---- */
	DEC(latin1, "caf\xe9", "caf\xc3\xa9");
	DEC(cp1252, "\x80" "uro \x93q\x94", "\xe2\x82\xac" "uro \xe2\x80\x9cq\xe2\x80\x9d");
	DEC(unknown_cs, "caf\xe9", "caf\xe9");

	/* ---- case folding for SEARCH ---- */
	DEC(fold, "HeLLo", "hello");
	DEC(fold, "\xc3\x89" "COLE", "\xc3\xa9" "cole");
	DEC(fold, "\xce\x9a\xce\x91\xce\x9b", "\xce\xba\xce\xb1\xce\xbb"); /* Greek */

	/* ---- unfolding (RFC 5322 2.2.3) for ENVELOPE strings ---- */
	DEC(unfold, "a\r\n b", "a b");
	DEC(unfold, "folded\r\n\tsubject\r\n  line", "folded subject line");
	DEC(unfold, "  x  ", "x");
	DEC(unfold, "tab\there", "tab\there");

	/* ---- IMAP strings, RFC 3501 4.3 ---- */
	DEC(nstring, "abc", "\"abc\"");
	DEC(nstring, "", "\"\"");
	DEC(nstring, "a\"b", "{3}\r\na\"b");
	DEC(nstring, "a\\b", "{3}\r\na\\b");
	DEC(nstring, "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9");
	DEC(nstring, "a\r\nb", "{4}\r\na\r\nb");
	{
		struct buf b;
		buf_init(&b);
		ok(mime_put_nstring(&b, NULL, 0) == 0 && b.len == 3 && memcmp(b.s, "NIL", 3) == 0, "NULL is NIL");
		buf_free(&b);
	}

	/* ---- dates, RFC 5322 3.3 and 4.3 ---- */
	DATE("Mon, 3 Nov 2025 10:20:30 +0100", 1762161630);
	DATE("Fri, 7 Nov 2025 11:11:11 -0800", 1762542671);
	DATE("Fri,\r\n 7 Nov 2025 11:11:11 +0000", 1762513871);
	DATE("Tue, 4 Nov 2025 08:00:00 +0100 (CET)", 1762239600);
	DATE("Thu, 1 Jan 1970 00:00:00 +0000", 0);
	DATE("Wed, 1 Jan 2025 10:00:00 +0530", 1735705800);
	DATE("29 Feb 2024 12:00:00 GMT", 1709208000);
	DATE("29 Feb 2024 12:00:00 UT", 1709208000);
	DATE("29 Feb 2024 12:00:00 -0000", 1709208000);
	DATE("31 Dec 2016 23:59:60 +0000", 1483228800); /* leap second */
	DATE("7 Nov 98 11:11 EST", 910455060);         /* obs: 2-digit year, no seconds, named zone */
	DATE("1 Jan 100 00:00:00 +0000", 946684800);   /* obs 3-digit year: + 1900 */
	DATE("31 Dec 49 23:59:59 +0000", 2524607999);  /* 00-49: 20xx */
	DATE("1 Jan 50 00:00:00 +0000", -631152000);   /* 50-99: 19xx */
	DATE("1 Jan 2000 00:00:00 A", 946684800);      /* military zone: as -0000 (4.3) */
	DATE("  sat ,  1  jan  2000  00 : 00 : 00  +0000", 946684800); /* obs FWS, case */
	BADDATE("yesterday afternoon");
	BADDATE("");
	BADDATE("32 Jan 2025 00:00:00 +0000");
	BADDATE("0 Jan 2025 00:00:00 +0000");
	BADDATE("1 Foo 2025 00:00:00 +0000");
	BADDATE("1 Jan 2025 24:00:00 +0000");
	BADDATE("1 Jan 2025 10:61:00 +0000");
	BADDATE("1 Jan 2025");
	BADDATE("1 Jan 2025 10:00:00 +01");
	return done_testing();
}
