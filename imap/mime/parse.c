/* The part tree: one pass over each region, offsets and lengths into the
 * message, one allocation per part.  A multipart's region is cut at its
 * own boundary lines before its children are parsed, so a child never
 * runs past an outer boundary even when its own final boundary is
 * missing (as Dovecot's message-parser does).  Depth and part count are
 * bounded by MIME_DEPTH_MAX and MIME_PARTS_MAX (lib/bounds.h). */
#include "mime_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"


/* internal flag: the close delimiter is the last line, cut before its EOL */
#define PARSE_CLOSED_AT_END 0x100

struct pctx {
	const char *p;
	unsigned nparts;
};

static struct mime_part *part_new(struct pctx *c, struct mime_part *parent)
{
	struct mime_part *m;

	if (c->nparts >= MIME_PARTS_MAX)
		return NULL;
	m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	c->nparts++;
	m->parent = parent;
	m->depth = parent ? parent->depth + 1 : 0;
	return m;
}

void mime_free(struct mime_part *m)
{
	while (m) {
		struct mime_part *next = m->next;
		mime_free(m->children); /* depth bounded by MIME_DEPTH_MAX */
		free(m);
		m = next;
	}
}

static size_t count_lines(const char *s, size_t n)
{
	size_t lines = 0;
	const char *e = s + n, *lf;

	while (s < e && (lf = memchr(s, '\n', (size_t)(e - s))) != NULL) {
		lines++;
		s = lf + 1;
	}
	return lines; /* Dovecot counts LFs: a last line without one is not counted */
}

/* Header block from off: up to and including the first empty line. */
static size_t header_end(const char *p, size_t off, size_t end)
{
	size_t i = off;
	const char *lf;

	while (i < end) {
		if (p[i] == '\n')
			return i + 1;
		if (p[i] == '\r' && i + 1 < end && p[i + 1] == '\n')
			return i + 2;
		lf = memchr(p + i, '\n', end - i);
		if (lf == NULL)
			return end;
		i = (size_t)(lf - p) + 1;
	}
	return end;
}

int part_ctype(const char *p, const struct mime_part *m, struct params *pr)
{
	const char *v;
	size_t vl;

	if (mime_hdr_find(p + m->hdr_off, m->hdr_len, "Content-Type", &v, &vl) &&
	    params_parse(pr, v, vl, 1) < 0)
		return -1;
	if (pr->v1len > 0 && pr->v2len > 0)
		return 0;
	/* absent, or syntactically invalid ("garbage", no subtype): RFC 2045
	 * 5.2 recommends the default then (Dovecot keeps "garbage" ""), and
	 * in a digest the default is message/rfc822 (RFC 2046 5.1.5) */
	params_free(pr);
	params_init(pr);
	if (m->parent && (m->parent->flags & MIME_PART_DIGEST))
		return params_parse(pr, "message/rfc822", 14, 1);
	return params_parse(pr, "text/plain; charset=us-ascii", 28, 1);
}

static int parse_part(struct pctx *c, struct mime_part *m, size_t off, size_t end);

/* Start of the CRLF (or LF) ending the line before ls, which belongs to
 * the boundary; from is the lowest allowed result. */
static size_t cut_eol(const char *p, size_t from, size_t ls)
{
	if (ls > from && p[ls - 1] == '\n') {
		ls--;
		if (ls > from && p[ls - 1] == '\r')
			ls--;
	}
	return ls;
}

/* "--" boundary ["--"] LWSP* EOL (RFC 2046 5.1.1).  Exact, not a prefix
 * match: "--L10" is not a boundary of "L1" (Dovecot gets there by trying
 * the innermost boundary first). */
static int is_boundary(const char *l, size_t n, const char *bnd, size_t blen, int *close_r)
{
	size_t i;

	if (n < blen + 2 || l[0] != '-' || l[1] != '-' || memcmp(l + 2, bnd, blen) != 0)
		return 0;
	i = blen + 2;
	*close_r = n >= i + 2 && l[i] == '-' && l[i + 1] == '-';
	if (*close_r)
		i += 2;
	while (i < n && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
		i++;
	return i == n || l[i] == '\n';
}

static int parse_multipart(struct pctx *c, struct mime_part *m, const char *bnd, size_t blen)
{
	const char *p = c->p;
	size_t i = m->body_off, end = m->body_off + m->body_len, child_start = 0, le;
	struct mime_part **tail = &m->children, *k;
	int open = 0;

	while (i < end) {
		const char *lf = memchr(p + i, '\n', end - i);
		le = lf ? (size_t)(lf - p) + 1 : end;
		int close;
		if (is_boundary(p + i, le - i, bnd, blen, &close)) {
			if (open) {
				k = part_new(c, m);
				if (k == NULL)
					return c->nparts >= MIME_PARTS_MAX ? 0 : -1;
				*tail = k;
				tail = &k->next;
				m->nchildren++;
				size_t cut = cut_eol(p, child_start, i);
				if (parse_part(c, k, child_start, cut) < 0)
					return -1;
				/* Dovecot keeps the CRLF ending a nested close
				 * delimiter in the nested multipart */
				if (k->flags & PARSE_CLOSED_AT_END) {
					k->body_len += i - cut;
					k->body_lines++;
				}
			}
			if (close) {
				if (le == end && p[le - 1] != '\n')
					m->flags |= PARSE_CLOSED_AT_END;
				return 0; /* the rest is the epilogue */
			}
			open = 1;
			child_start = le;
		}
		i = le;
	}
	if (open) { /* no final boundary: the last part runs to the end */
		k = part_new(c, m);
		if (k == NULL)
			return c->nparts >= MIME_PARTS_MAX ? 0 : -1;
		*tail = k;
		m->nchildren++;
		return parse_part(c, k, child_start, end);
	}
	return 0;
}

static int parse_part(struct pctx *c, struct mime_part *m, size_t off, size_t end)
{
	struct params ct;
	const char *bnd;
	size_t bl;
	int ret = 0;

	m->hdr_off = off;
	m->body_off = header_end(c->p, off, end);
	m->hdr_len = m->body_off - off;
	m->body_len = end - m->body_off;
	m->body_lines = count_lines(c->p + m->body_off, m->body_len);
	params_init(&ct);
	if (part_ctype(c->p, m, &ct) < 0) {
		params_free(&ct);
		return -1;
	}
	if (str_ieq(ct.s.s + ct.v1off, ct.v1len, "text", 4))
		m->flags |= MIME_PART_TEXT;
	if (str_ieq(ct.s.s + ct.v1off, ct.v1len, "multipart", 9)) {
		bnd = params_get(&ct, "boundary", &bl);
		if (str_ieq(ct.s.s + ct.v2off, ct.v2len, "digest", 6))
			m->flags |= MIME_PART_DIGEST;
		/* without a usable boundary: a multipart with no parts (Dovecot
		 * then shows one empty text/plain part) */
		m->flags |= MIME_PART_MULTIPART;
		if (bnd != NULL && bl > 0 && bl <= MIME_BOUNDARY_MAX && m->depth < MIME_DEPTH_MAX)
			ret = parse_multipart(c, m, bnd, bl);
	} else if (str_ieq(ct.s.s + ct.v1off, ct.v1len, "message", 7) &&
		   (str_ieq(ct.s.s + ct.v2off, ct.v2len, "rfc822", 6) ||
		    str_ieq(ct.s.s + ct.v2off, ct.v2len, "global", 6))) {
		m->flags |= MIME_PART_MESSAGE;
		if (m->depth < MIME_DEPTH_MAX) {
			struct mime_part *k = part_new(c, m);
			if (k != NULL) {
				k->flags |= MIME_PART_IS_MSG;
				m->children = k;
				m->nchildren = 1;
				ret = parse_part(c, k, m->body_off, end);
			} else if (c->nparts < MIME_PARTS_MAX) {
				ret = -1;
			}
		}
	}
	params_free(&ct);
	return ret;
}

struct mime_part *mime_parse(const char *p, size_t len)
{
	struct pctx c = { p, 0 };
	struct mime_part *root = part_new(&c, NULL);

	if (root == NULL)
		return NULL;
	root->flags |= MIME_PART_IS_MSG;
	if (parse_part(&c, root, 0, len) < 0) {
		int e = errno;
		mime_free(root);
		errno = e ? e : ENOMEM;
		return NULL;
	}
	return root;
}

/* RFC 3501 6.4.5 part numbers, navigated as Dovecot's imap-msgpart.c
 * does: a non-multipart part has only the number 1 (and then nothing
 * more unless it is message/rfc822); going on inside a message/rfc822
 * part continues with the numbers of its nested message. */
const struct mime_part *mime_part_find(const struct mime_part *m, const char *path, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t num;
		size_t s = i;
		while (i < n && path[i] != '.')
			i++;
		if (parse_u32(path + s, i - s, 1000000, &num) < 0 || num == 0)
			return NULL;
		if (i < n)
			i++; /* the dot */
		if (m->flags & MIME_PART_MULTIPART) {
			m = m->children;
			while (m != NULL && --num > 0)
				m = m->next;
			if (m == NULL)
				return NULL;
		} else if (num != 1 || (i < n && !(m->flags & MIME_PART_MESSAGE))) {
			return NULL;
		}
		if ((m->flags & MIME_PART_MESSAGE) && i < n) {
			if (m->children == NULL)
				return NULL;
			m = m->children;
		}
	}
	return m;
}
