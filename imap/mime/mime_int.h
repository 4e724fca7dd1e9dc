/* Internals shared by the files of imap/mime/ (not for the IMAP server). */
#ifndef FACTEUR_MIME_INT_H
#define FACTEUR_MIME_INT_H

#include "bounds.h"
#include "mime.h"

/* rfc822.c: a tokenizer on {p, end} (Dovecot's rfc822-parser shape). */
struct rfc822 {
	const char *p, *end;
};
#define RFC822_ATOM 0    /* RFC 5322 atext */
#define RFC822_DOTATOM 1 /* atext and '.' (also obs-phrase words) */
#define RFC822_TOKEN 2   /* RFC 2045 token: tspecials excluded */
void rfc822_init(struct rfc822 *r, const char *p, size_t n);
/* Skips white space, folding and comments; the text of the last comment
 * replaces *comment when comment is not NULL. */
int rfc822_skip(struct rfc822 *r, struct buf *comment);
/* At '"': appends the unescaped content, returns 1; else 0. */
int rfc822_quoted(struct rfc822 *r, struct buf *out);
/* Appends an atom of the given kind: 1, or 0 if none there. */
int rfc822_atom(struct rfc822 *r, struct buf *out, int kind);
/* An address as ENVELOPE wants it; NULL fields are NIL.  A group start
 * has only mailbox (the group name), a group end has all NULL. */
struct rfc822_addr {
	const char *name, *adl, *mailbox, *host;
	size_t namelen, adllen, mailboxlen, hostlen;
};
typedef int rfc822_addr_cb(void *ctx, const struct rfc822_addr *a);
/* Parses an address-list (RFC 5322 3.4, obsolete forms tolerated); calls
 * cb for each address; -1 if cb failed or ENOMEM. */
int rfc822_addr_list(const char *v, size_t n, rfc822_addr_cb *cb, void *ctx);

/* params.c: Content-Type / Content-Disposition values. */
struct params {
	struct buf s; /* value, then attr/value strings */
	size_t n;
	size_t aoff[MIME_PARAMS_MAX], alen[MIME_PARAMS_MAX], voff[MIME_PARAMS_MAX], vlen[MIME_PARAMS_MAX];
	size_t v1off, v1len, v2off, v2len; /* "type" "/" "subtype", or the disposition */
};
void params_init(struct params *pr);
void params_free(struct params *pr);
/* type/subtype (ct = 1) or a single token (disposition), then ;attr=value
 * with RFC 2231 continuations merged: 0, -1 ENOMEM. */
int params_parse(struct params *pr, const char *v, size_t n, int ct);
/* Value of attr (case-insensitive), NULL if absent. */
const char *params_get(const struct params *pr, const char *attr, size_t *len_r);
#define PARAM_A(pr, i) ((pr)->s.s + (pr)->aoff[i])
#define PARAM_V(pr, i) ((pr)->s.s + (pr)->voff[i])

/* Part helpers (parse.c). */
static inline const char *part_hdr(const char *p, const struct mime_part *m) { return p + m->hdr_off; }
/* Content-Type of a part, with its defaults (RFC 2045 5.2, 2046 5.1.5). */
int part_ctype(const char *p, const struct mime_part *m, struct params *pr);

#endif
