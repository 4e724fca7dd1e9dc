/* FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2): FLAGS UID INTERNALDATE
 * RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT ENVELOPE BODY BODYSTRUCTURE
 * BODY[...] BODY.PEEK[...] with sections "", HEADER, TEXT, HEADER.FIELDS
 * (..), HEADER.FIELDS.NOT (..), part paths (1.2, 1.2.MIME, 2.HEADER...) and
 * partial <o.n>, the macros FAST/ALL/FULL.  Structure comes from libmime
 * (imap/mime/mime.h); top-level sections straight from libmbox.
 * Bodies are served as libmbox shows them: metadata headers hidden, CRLF.
 * Implicit \Seen is written (one rewrite) before the responses, which then
 * carry the new FLAGS.  Messages another session expunged (the client
 * has not been told yet) are answered with empty data (put_response) and
 * the result is OK [EXPUNGEISSUED] (RFC 5530), as Dovecot does: the client
 * gets everything that still exists.  NO only for a real error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "mime.h"
#include "sort.h"

enum { A_FLAGS, A_UID, A_IDATE, A_SIZE, A_BODY, A_ENVELOPE, A_STRUCT, A_BODYPLAIN,
       A_BINARY, A_BINSIZE,    /* BINARY[..], BINARY.SIZE[..]: RFC 3516, imap/binary.c */
       A_MODSEQ };             /* RFC 7162 */
enum { S_ALL, S_HEADER, S_TEXT, S_FIELDS, S_FIELDS_NOT, S_MIME };

struct fatt {
	int kind;
	int section;
	int peek;
	int rfc822;            /* 0 BODY[..], 1 RFC822, 2 .HEADER, 3 .TEXT */
	int partial;
	int lit8;              /* BINARY: decoded, sent as a literal8 */
	char path[IMAP_SECTION_PATH_MAX];   /* "1.2" of BODY[1.2.HEADER], "" at the top */
	size_t pathlen;
	uint64_t off, len;
	const char *fields[IMAP_FETCH_FIELDS_MAX];
	size_t flen[IMAP_FETCH_FIELDS_MAX];
	size_t nfields;
};

struct fetch {
	struct fatt a[IMAP_FETCH_ATTS_MAX];
	size_t n;
	int want_flags, want_uid, sets_seen, need_mime, want_modseq;
};

static int add(struct fetch *f, int kind)
{
	if (f->n >= IMAP_FETCH_ATTS_MAX)
		return -1;
	memset(&f->a[f->n], 0, sizeof f->a[f->n]);
	f->a[f->n].kind = kind;
	f->n++;
	return 0;
}

static int parse_fields(struct imap_parser *ps, struct fatt *a)
{
	if (imap_sp(ps) < 0 || imap_peek(ps) != '(')
		return -1;
	ps->p++;
	do {
		if (a->nfields >= IMAP_FETCH_FIELDS_MAX ||
		    imap_astring(ps, &a->fields[a->nfields], &a->flen[a->nfields]) < 0)
			return -1;
		a->nfields++;
	} while (imap_sp(ps) == 0);
	if (imap_peek(ps) != ')')
		return -1;
	ps->p++;
	return 0;
}

/* "1.2.HEADER.FIELDS" -> path "1.2", keyword "HEADER.FIELDS" */
static int split_path(struct fatt *a, const char **p, size_t *n)
{
	size_t i = 0, end = 0;

	while (i < *n && (*p)[i] >= '1' && (*p)[i] <= '9') {
		while (i < *n && (*p)[i] >= '0' && (*p)[i] <= '9')
			i++;
		end = i;
		if (i < *n && (*p)[i] == '.')
			i++;
		else
			break;
	}
	if (end >= IMAP_SECTION_PATH_MAX || (end && i == *n && (*p)[*n - 1] == '.'))
		return -1;
	memcpy(a->path, *p, end);
	a->pathlen = end;
	*p += i;
	*n -= i;
	return 0;
}

/* "<off.len>" after a section: a partial fetch (len > 0) */
static int parse_partial(struct imap_parser *ps, struct fatt *a)
{
	const char *d = ++ps->p, *dot;

	while (ps->p < ps->end && *ps->p != '>')
		ps->p++;
	if (ps->p >= ps->end)
		return -1;
	dot = memchr(d, '.', (size_t)(ps->p - d));
	if (!dot || parse_u64(d, (size_t)(dot - d), UINT32_MAX, &a->off) < 0 ||
	    parse_u64(dot + 1, (size_t)(ps->p - dot - 1), UINT32_MAX, &a->len) < 0 || a->len == 0)
		return -1;
	a->partial = 1;
	ps->p++;
	return 0;
}

/* "[1.2]<0.100>" of BINARY (partial only when allowed) */
static int parse_binary(struct imap_parser *ps, struct fatt *a, int partial)
{
	const char *p;
	size_t n;

	ps->p++;   /* '[' */
	if (imap_peek(ps) != ']' &&
	    (imap_atom(ps, &p, &n) < 0 || split_path(a, &p, &n) < 0 || n != 0 || !a->pathlen))
		return -1;
	if (imap_peek(ps) != ']')
		return -1;
	ps->p++;
	if (imap_peek(ps) == '<')
		return partial ? parse_partial(ps, a) : -1;
	return 0;
}

static int parse_section(struct imap_parser *ps, struct fatt *a)
{
	const char *p;
	size_t n;

	ps->p++;   /* '[' */
	if (imap_peek(ps) == ']') {
		a->section = S_ALL;
	} else {
		if (imap_atom(ps, &p, &n) < 0 || split_path(a, &p, &n) < 0)
			return -1;
		if (n == 0 && a->pathlen) {
			a->section = S_ALL;
		} else if (str_ieq(p, n, "HEADER", 6)) {
			a->section = S_HEADER;
		} else if (str_ieq(p, n, "TEXT", 4)) {
			a->section = S_TEXT;
		} else if (str_ieq(p, n, "MIME", 4) && a->pathlen) {
			a->section = S_MIME;
		} else if (str_ieq(p, n, "HEADER.FIELDS", 13)) {
			a->section = S_FIELDS;
			if (parse_fields(ps, a) < 0)
				return -1;
		} else if (str_ieq(p, n, "HEADER.FIELDS.NOT", 17)) {
			a->section = S_FIELDS_NOT;
			if (parse_fields(ps, a) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	if (imap_peek(ps) != ']')
		return -1;
	ps->p++;
	if (imap_peek(ps) == '<')
		return parse_partial(ps, a);
	return 0;
}

/* an attribute name: letters, digits and dots ('[' is an atom char) */
static int att_name(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	char *q = ps->p;

	while (q < ps->end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
			       (*q >= '0' && *q <= '9') || *q == '.'))
		q++;
	if (q == ps->p)
		return -1;
	*p_r = ps->p;
	*len_r = (size_t)(q - ps->p);
	ps->p = q;
	return 0;
}

static int parse_att(struct imap_parser *ps, struct fetch *f)
{
	const char *p;
	size_t n;
	char *save = ps->p;

	if (att_name(ps, &p, &n) < 0)
		return -1;
	/* the atom stops at '[': BODY[ and BODY.PEEK[ */
	if (str_ieq(p, n, "FLAGS", 5))
		return add(f, A_FLAGS);
	if (str_ieq(p, n, "UID", 3))
		return add(f, A_UID);
	if (str_ieq(p, n, "MODSEQ", 6))
		return add(f, A_MODSEQ);   /* RFC 7162 3.1.4.2 */
	if (str_ieq(p, n, "INTERNALDATE", 12))
		return add(f, A_IDATE);
	if (str_ieq(p, n, "RFC822.SIZE", 11))
		return add(f, A_SIZE);
	if (str_ieq(p, n, "RFC822", 6) || str_ieq(p, n, "RFC822.HEADER", 13) ||
	    str_ieq(p, n, "RFC822.TEXT", 11)) {
		if (add(f, A_BODY) < 0)
			return -1;
		f->a[f->n - 1].rfc822 = n == 6 ? 1 : p[7] == 'H' || p[7] == 'h' ? 2 : 3;
		f->a[f->n - 1].section = n == 6 ? S_ALL : f->a[f->n - 1].rfc822 == 2 ? S_HEADER : S_TEXT;
		f->a[f->n - 1].peek = f->a[f->n - 1].rfc822 == 2;
		return 0;
	}
	if (str_ieq(p, n, "ENVELOPE", 8))
		return add(f, A_ENVELOPE);
	if (str_ieq(p, n, "BODYSTRUCTURE", 13))
		return add(f, A_STRUCT);
	if (str_ieq(p, n, "BODY", 4) && imap_peek(ps) != '[')
		return add(f, A_BODYPLAIN);
	if ((str_ieq(p, n, "BINARY", 6) || str_ieq(p, n, "BINARY.PEEK", 11) ||
	     str_ieq(p, n, "BINARY.SIZE", 11)) && imap_peek(ps) == '[') {
		int size = n == 11 && (p[7] == 'S' || p[7] == 's');
		if (add(f, size ? A_BINSIZE : A_BINARY) < 0)
			return -1;
		f->a[f->n - 1].peek = n == 11;
		return parse_binary(ps, &f->a[f->n - 1], !size);
	}
	if ((str_ieq(p, n, "BODY", 4) || str_ieq(p, n, "BODY.PEEK", 9)) && imap_peek(ps) == '[') {
		if (add(f, A_BODY) < 0)
			return -1;
		f->a[f->n - 1].peek = n == 9;
		return parse_section(ps, &f->a[f->n - 1]);
	}
	ps->p = save;
	return -1;
}

static int parse_atts(struct imap_parser *ps, struct fetch *f)
{
	const char *p;
	size_t n;
	char *save = ps->p;

	if (imap_peek(ps) == '(') {
		ps->p++;
		do {
			if (parse_att(ps, f) < 0)
				return -1;
		} while (imap_sp(ps) == 0);
		if (imap_peek(ps) != ')')
			return -1;
		ps->p++;
		return 0;
	}
	if (att_name(ps, &p, &n) == 0 && imap_peek(ps) != '[') {
		if (str_ieq(p, n, "FAST", 4) || str_ieq(p, n, "ALL", 3) || str_ieq(p, n, "FULL", 4)) {
			if (add(f, A_FLAGS) < 0 || add(f, A_IDATE) < 0 || add(f, A_SIZE) < 0)
				return -1;
			if (n == 4 && (p[1] == 'a' || p[1] == 'A'))
				return 0;
			if (add(f, A_ENVELOPE) < 0)
				return -1;
			return n == 4 ? add(f, A_BODYPLAIN) : 0;
		}
	}
	ps->p = save;
	return parse_att(ps, f);
}

/* HEADER.FIELDS filter: keeps (or drops) whole fields, continuation lines
 * included; the empty line that ends the header is always kept */
static int field_match(const struct fatt *a, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t nl, i;

	if (!colon)
		return 0;
	nl = (size_t)(colon - line);
	while (nl > 0 && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
		nl--;
	for (i = 0; i < a->nfields; i++)
		if (str_ieq(line, nl, a->fields[i], a->flen[i]))
			return 1;
	return 0;
}

static int filter_header(const struct fatt *a, const char *h, size_t hl, struct buf *out)
{
	const char *p = h, *end = h + hl;
	int keep = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		size_t len = (size_t)(next - p);
		if (len <= 2 && (p[0] == '\r' || p[0] == '\n'))
			break;   /* the empty line */
		if (p[0] != ' ' && p[0] != '\t')
			keep = field_match(a, p, len) == (a->section == S_FIELDS);
		if (keep && buf_add(out, p, len) < 0)
			return -1;
		p = next;
	}
	return buf_add(out, "\r\n", 2);
}

/* The spec libmime's mime_section takes: "1.2.HEADER.FIELDS (A B)" */
static int mime_spec(const struct fatt *a, struct buf *spec)
{
	static const char *const kw[] = { "", "HEADER", "TEXT", "HEADER.FIELDS",
					  "HEADER.FIELDS.NOT", "MIME" };
	size_t i;

	buf_reset(spec);
	buf_add(spec, a->path, a->pathlen);
	if (a->section != S_ALL) {
		if (a->pathlen)
			buf_addc(spec, '.');
		buf_adds(spec, kw[a->section]);
	}
	if (a->section == S_FIELDS || a->section == S_FIELDS_NOT) {
		buf_adds(spec, " (");
		for (i = 0; i < a->nfields; i++) {
			if (i)
				buf_addc(spec, ' ');
			buf_add(spec, a->fields[i], a->flen[i]);
		}
		buf_addc(spec, ')');
	}
	return spec->s ? 0 : -1;
}

/* Structure and part sections of one message, from the whole text. */
static int load_mime(struct imap_sess *s, long k, struct fetch *f, struct buf *parts)
{
	struct mime_part *root;
	struct buf tmp, spec;
	char *p = NULL;
	size_t len = 0, j;
	int r = 0;

	if (imap_view_load(s, k, MBOX_PART_ALL, &p, &len) < 0)
		return -1;
	root = mime_parse(p, len);
	if (!root) {
		free(p);
		return -1;
	}
	buf_init(&tmp);
	buf_init(&spec);
	for (j = 0; j < f->n && r == 0; j++) {
		const struct fatt *a = &f->a[j];
		const char *sp;
		size_t sn;
		if (a->kind == A_ENVELOPE)
			r = mime_envelope(p, len, root, &parts[j]);
		else if (a->kind == A_STRUCT || a->kind == A_BODYPLAIN)
			r = mime_bodystructure(p, len, root, a->kind == A_STRUCT, &parts[j]);
		else if (a->kind == A_BINARY || a->kind == A_BINSIZE) {
			r = imap_binary_section(p, len, root, a->path, a->pathlen, &parts[j]);
			f->a[j].lit8 = r == 1;
			r = r < 0 ? -1 : 0;
		}
		else if (a->kind == A_BODY && (a->pathlen || a->section == S_MIME)) {
			buf_reset(&tmp);
			if (mime_spec(a, &spec) < 0 ||
			    mime_section(p, len, root, spec.s, spec.len, &tmp, &sp, &sn) < 0)
				sn = 0;   /* a part that is not there: an empty string */
			r = buf_add(&parts[j], sn ? sp : "", sn);
		}
	}
	buf_free(&tmp);
	buf_free(&spec);
	mime_free(root);
	free(p);
	return r < 0 ? -1 : 0;
}

/* The bytes of one body attribute, before anything is written. */
static int load_part(struct imap_sess *s, long k, const struct fatt *a, struct buf *out)
{
	int parts = a->section == S_ALL ? MBOX_PART_ALL : a->section == S_TEXT ? MBOX_PART_BODY :
		MBOX_PART_HEADER;
	char *p = NULL;
	size_t len = 0;
	int r;

	if (imap_view_load(s, k, parts, &p, &len) < 0)
		return -1;
	if (a->section == S_FIELDS || a->section == S_FIELDS_NOT)
		r = filter_header(a, p, len, out);
	else
		r = buf_add(out, p, len);
	free(p);
	return r;
}

static void put_section_name(struct imap_sess *s, const struct fatt *a)
{
	size_t i;

	if (a->rfc822) {
		imap_put(s, "%s", a->rfc822 == 1 ? "RFC822" : a->rfc822 == 2 ? "RFC822.HEADER" :
			 "RFC822.TEXT");
		return;
	}
	imap_put(s, "BODY[%.*s%s%s", (int)a->pathlen, a->path,
		 a->pathlen && a->section != S_ALL ? "." : "",
		 a->section == S_ALL ? "" : a->section == S_HEADER ? "HEADER" :
		 a->section == S_TEXT ? "TEXT" : a->section == S_MIME ? "MIME" :
		 a->section == S_FIELDS ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (");
	if (a->section == S_FIELDS || a->section == S_FIELDS_NOT) {
		for (i = 0; i < a->nfields; i++) {
			if (i)
				imap_putn(s, " ", 1);
			imap_put_astring(s, a->fields[i], a->flen[i]);
		}
		imap_putn(s, ")", 1);
	}
	imap_putn(s, "]", 1);
	if (a->partial)
		imap_put(s, "<%llu>", (unsigned long long)a->off);
}

/* The response for view message i.  m is its scan entry, or NULL when the
 * message is gone from the file (expunged by another session, EXPUNGE not
 * sent yet): then, as Dovecot does, every item is answered with what the
 * grammar allows for data that no longer exists (RFC 2180 4.1.3): the
 * UID and flags the client knows, the epoch, size 0, an empty ENVELOPE and
 * BODYSTRUCTURE, NIL for every body section. */
/* sep NAME n, and sep MODSEQ (n): the per-message items, without printf */
static void put_item_u64(struct imap_sess *s, const char *sep, const char *name, uint64_t n)
{
	imap_puts(s, sep);
	imap_puts(s, name);
	imap_putn(s, " ", 1);
	imap_put_u64(s, n);
}

static void put_modseq(struct imap_sess *s, const char *sep, const struct mbox_msg *m)
{
	imap_puts(s, sep);
	imap_putn(s, "MODSEQ (", 8);
	imap_put_u64(s, m && m->modseq ? m->modseq : imap_cs_highest(s));
	imap_putn(s, ")", 1);
}

static void put_response(struct imap_sess *s, const struct fetch *f, size_t i, int show_flags,
			 const struct mbox_msg *m, const struct buf *parts)
{
	const struct imap_vmsg *v = &s->view.v[i];
	const char *sep = "";
	size_t j;

	put_item_u64(s, "", "*", i + 1);
	imap_putn(s, " FETCH (", 8);
	if (f->want_uid) {
		put_item_u64(s, "", "UID", v->uid);
		sep = " ";
	}
	if (show_flags && !f->want_flags) {
		imap_puts(s, sep);
		imap_putn(s, "FLAGS ", 6);
		imap_put_flags(s, v);
		sep = " ";
	}

	for (j = 0; j < f->n; j++) {
		const struct fatt *a = &f->a[j];
		switch (a->kind) {
		case A_UID:
			if (f->want_uid)
				continue;
			put_item_u64(s, sep, "UID", v->uid);
			break;
		case A_FLAGS:
			imap_puts(s, sep);
			imap_putn(s, "FLAGS ", 6);
			imap_put_flags(s, v);
			break;
		case A_MODSEQ:
			put_modseq(s, sep, m);
			break;
		case A_IDATE:
			imap_put(s, "%sINTERNALDATE ", sep);
			if (m)
				imap_put_datetime(s, m->internaldate);
			else
				imap_put(s, "\"01-Jan-1970 00:00:00 +0000\"");
			break;
		case A_SIZE:
			put_item_u64(s, sep, "RFC822.SIZE", m ? m->hdr_size + m->body_size : 0);
			break;
		case A_BODY: {
			uint64_t off = a->partial ? a->off : 0, len = parts[j].len;
			imap_putn(s, sep, strlen(sep));
			put_section_name(s, a);
			imap_putn(s, " ", 1);
			if (!m) {
				imap_putn(s, "NIL", 3);
				break;
			}
			off = off < len ? off : len;
			len -= off;
			if (a->partial && len > a->len)
				len = a->len;
			imap_put_literal(s, parts[j].s + off, (size_t)len);
			break;
		}
		case A_BINARY: {
			uint64_t off = a->partial ? a->off : 0, len = parts[j].len;
			imap_put(s, "%sBINARY[%.*s]", sep, (int)a->pathlen, a->path);
			if (a->partial)
				imap_put(s, "<%llu>", (unsigned long long)a->off);
			if (!m) {
				imap_putn(s, " NIL", 4);
				break;
			}
			off = off < len ? off : len;
			len -= off;
			if (a->partial && len > a->len)
				len = a->len;
			{
				const char *d = parts[j].s ? parts[j].s + off : "";
				if (a->lit8 || (len && memchr(d, '\0', (size_t)len))) {
					/* binary content: a literal8 (RFC 3516 4.2) */
					imap_put(s, " ~{%llu}\r\n", (unsigned long long)len);
					io_put(s->io, d, (size_t)len);
				} else {
					imap_putn(s, " ", 1);
					imap_put_literal(s, d, (size_t)len);
				}
			}
			break;
		}
		case A_BINSIZE:
			imap_put(s, "%sBINARY.SIZE[%.*s] %zu", sep, (int)a->pathlen, a->path,
				 m ? parts[j].len : 0);
			break;
		case A_ENVELOPE:
		case A_STRUCT:
		case A_BODYPLAIN:
			imap_put(s, "%s%s ", sep, a->kind == A_ENVELOPE ? "ENVELOPE" :
				 a->kind == A_STRUCT ? "BODYSTRUCTURE" : "BODY");
			if (!m)
				imap_put(s, "%s", a->kind == A_ENVELOPE ?
					 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" :
					 a->kind == A_STRUCT ?
					 "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)" :
					 "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
			else
				imap_putn(s, parts[j].s ? parts[j].s : "NIL", parts[j].s ? parts[j].len : 3);
			break;
		default:
			continue;
		}
		sep = " ";
	}
	/* with CONDSTORE on, FLAGS always come with MODSEQ (RFC 7162 3.1.4.1) */
	if (s->condstore && !f->want_modseq && (f->want_flags || show_flags))
		put_modseq(s, sep, m);
	imap_putn(s, ")\r\n", 3);
}

/* One message: load every body part first, then write the response.
 * 0 = answered, 1 = answered as gone, -1 = error (errno; nothing written). */
static int fetch_one(struct imap_sess *s, struct fetch *f, size_t i, int show_flags,
		     struct buf *parts)
{
	long k = imap_view_index(s, i);
	size_t j;
	int tries;

	for (tries = 0; ; tries++) {
		int bad = 0;
		if (k < 0) {
			imap_view_read_release(s, 512);
			put_response(s, f, i, 0, NULL, parts);
			return 1;
		}
		for (j = 0; j < f->n; j++)
			buf_reset(&parts[j]);
		for (j = 0; j < f->n && !bad; j++)
			if (f->a[j].kind == A_BODY && !f->a[j].pathlen && f->a[j].section != S_MIME &&
			    load_part(s, k, &f->a[j], &parts[j]) < 0)
				bad = 1;
		if (!bad && f->need_mime && load_mime(s, k, f, parts) < 0)
			bad = 1;
		if (!bad)
			break;
		/* the file changed under us: rescan, find the message by UID */
		if (tries || errno != ESTALE)
			return -1;
		if (s->mb.lock == MBOX_LOCK_NONE)
			imap_view_read_tick(s);
		if (mbox_scan_update(&s->mb, &s->sc) < 0)
			return -1;
		k = imap_view_index(s, i);
	}
	{
		size_t total = 256;
		for (j = 0; j < f->n; j++)
			total += parts[j].len;
		imap_view_read_release(s, total);
	}
	put_response(s, f, i, show_flags, &s->sc.msgs[k], parts);
	return 0;
}

static int mark_seen(struct imap_sess *s, void *arg)
{
	const unsigned char *sel = arg;
	size_t i;

	for (i = 0; i < s->view.count; i++) {
		long k;
		if (!sel[i] || (k = imap_view_index(s, i)) < 0)
			continue;
		if (s->sc.msgs[k].flags & MBOX_F_SEEN)
			continue;
		s->sc.msgs[k].dirty = 1;
		s->sc.msgs[k].new_flags = s->sc.msgs[k].flags | MBOX_F_SEEN;
		s->sc.msgs[k].new_keywords = s->sc.msgs[k].keywords;
	}
	return 0;
}

enum imap_res cmd_fetch(struct imap_sess *s, struct imap_cmd *c)
{
	static struct fetch f;
	struct imap_seq set;
	struct buf parts[IMAP_FETCH_ATTS_MAX];
	unsigned char *sel;
	size_t i, j, gone = 0, seen_new = 0;
	unsigned char *flagged = NULL;
	struct imap_cs_fetch cs;
	int err = 0;

	memset(&f, 0, sizeof f);
	if (imap_seq_parse(&c->ps, &set) < 0)
		return IMAP_BAD;
	if (imap_sp(&c->ps) < 0 || parse_atts(&c->ps, &f) < 0 ||
	    imap_cs_fetch_mods(s, &c->ps, &cs) < 0 || !imap_eol(&c->ps) ||
	    (cs.vanished && (!c->uid || !cs.changedsince))) {
		imap_seq_free(&set);
		return IMAP_BAD;
	}
	for (j = 0; j < f.n; j++)
		if (f.a[j].kind == A_MODSEQ)
			f.want_modseq = 1;
	if (f.want_modseq || cs.changedsince)
		imap_cs_enable(s, 0);
	if (cs.changedsince && !f.want_modseq && add(&f, A_MODSEQ) == 0)
		f.want_modseq = 1;   /* CHANGEDSINCE implies MODSEQ (3.1.4.1) */
	sel = calloc(s->view.count + 1, 2);
	if (!sel) {
		imap_seq_free(&set);
		imap_no_errno(s, c, ENOMEM);
		return IMAP_DONE;
	}
	flagged = sel + s->view.count + 1;
	if (imap_view_select(s, c, &set, sel) < 0) {
		imap_seq_free(&set);
		free(sel);
		imap_tagged(s, c, "BAD", "Invalid message sequence number.");
		return IMAP_DONE;
	}
	if (cs.vanished && imap_cs_vanished_earlier(s, &set) < 0)
		err = ENOMEM;
	imap_seq_free(&set);
	f.want_uid = c->uid;
	if (cs.changedsince)
		for (i = 0; i < s->view.count; i++)
			if (sel[i] && imap_cs_modseq(s, i) <= cs.since)
				sel[i] = 0;
	for (j = 0; j < f.n; j++) {
		if (f.a[j].kind == A_FLAGS)
			f.want_flags = 1;
		if ((f.a[j].kind == A_BODY || f.a[j].kind == A_BINARY) && !f.a[j].peek)
			f.sets_seen = 1;
		if (f.a[j].kind == A_ENVELOPE || f.a[j].kind == A_STRUCT || f.a[j].kind == A_BODYPLAIN ||
		    f.a[j].kind == A_BINARY || f.a[j].kind == A_BINSIZE ||
		    (f.a[j].kind == A_BODY && (f.a[j].pathlen || f.a[j].section == S_MIME)))
			f.need_mime = 1;
	}
	/* implicit \Seen, written before the data is sent */
	if (f.sets_seen && !s->readonly) {
		for (i = 0; i < s->view.count; i++)
			if (sel[i] && !s->view.v[i].gone && !(s->view.v[i].flags & MBOX_F_SEEN)) {
				flagged[i] = 1;
				seen_new++;
			}
		if (seen_new && imap_view_write(s, mark_seen, sel) == 0) {
			for (i = 0; i < s->view.count; i++) {
				long k = imap_view_index(s, i);
				if (flagged[i] && k >= 0) {
					s->view.v[i].flags = s->sc.msgs[k].flags;
					s->view.v[i].keywords = s->sc.msgs[k].keywords;
				}
			}
		}
	}
	for (j = 0; j < f.n; j++)
		buf_init(&parts[j]);
	imap_view_read_begin(s);
	for (i = 0; i < s->view.count; i++) {
		if (!sel[i])
			continue;
		switch (fetch_one(s, &f, i, flagged[i], parts)) {
		case 1:
			gone++;
			break;
		case -1:
			err = errno;
			break;
		}
		imap_view_read_tick(s);
	}
	imap_view_read_end(s);
	for (j = 0; j < f.n; j++)
		buf_free(&parts[j]);
	free(sel);
	if (err == EILSEQ) {
		imap_tagged(s, c, "NO", "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding.");
		return IMAP_DONE;
	}
	if (err) {
		imap_no_errno(s, c, err);
		return IMAP_DONE;
	}
	if (gone) {
		imap_tagged(s, c, "OK", "[EXPUNGEISSUED] Some messages were already expunged.");
		return IMAP_DONE;
	}
	return IMAP_OK;
}
