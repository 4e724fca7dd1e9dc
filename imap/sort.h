/* SORT, THREAD and their per-view facts (imap/sortfacts.c, imap/cmd_sort.c,
 * imap/cmd_thread.c): RFC 5256, RFC 5957, RFC 5267 (ESORT). */
#ifndef FACTEUR_IMAP_SORT_H
#define FACTEUR_IMAP_SORT_H

#include <stdint.h>
#include "imap.h"

/* strings of a fact, folded for strcmp (mime_sort_fold) except the ids */
enum { SF_SUBJECT, SF_FROM, SF_TO, SF_CC, SF_DFROM, SF_DTO,
       SF_MSGID,  /* the Message-ID without <>, or "" */
       SF_REFS,   /* References ids (else the first In-Reply-To), space separated */
       SF_NSTR };

struct imap_sortfact {
	uint32_t uid;
	unsigned ok : 1;     /* read (else every string is empty) */
	unsigned reply : 1;  /* the subject was a reply or forward (RFC 5256 2.1) */
	int64_t sent;        /* Date: as time_t, INT64_MIN when none */
	size_t str[SF_NSTR];
};

/* facts_r (malloc'ed, view.count entries): the facts of view message i,
 * NULL for one expunged elsewhere.  Valid until the next call.  0, -1. */
int imap_sortfacts(struct imap_sess *s, const struct imap_sortfact ***facts_r);
const char *imap_sortfact_str(const struct imap_sortfact *f, int k);

/* one matched message, as SORT and THREAD order them */
struct imap_sortmsg {
	uint32_t i;          /* view index: sequence number - 1 */
	const struct imap_sortfact *f;
	int64_t arrival, date; /* INTERNALDATE; Date: or else INTERNALDATE */
	uint64_t size;
};
/* The messages matching the search keys at c->ps (after the charset):
 * IMAP_OK with m_r and n_r set, or IMAP_BAD / IMAP_DONE (reply written). */
enum imap_res imap_sort_select(struct imap_sess *s, struct imap_cmd *c,
			       struct imap_sortmsg **m_r, size_t *n_r);
/* "UTF-8" or "US-ASCII" then SP: 0; -1 BAD; 1 NO [BADCHARSET] written */
int imap_sort_charset(struct imap_sess *s, struct imap_cmd *c);
/* SORT's "(keys) charset search-keys" at c->ps: *idx_r (malloc'ed) gets
 * the view indexes of the matches in sort order. */
enum imap_res imap_sort_run(struct imap_sess *s, struct imap_cmd *c, uint32_t **idx_r,
			    size_t *n_r);

/* esearch.c: RETURN options (after "RETURN") and the ESEARCH response */
#define IMAP_R_MIN 1
#define IMAP_R_MAX 2
#define IMAP_R_ALL 4
#define IMAP_R_COUNT 8
#define IMAP_R_PARTIAL 16
#define IMAP_R_UPDATE 32
#define IMAP_R_CONTEXT 64
#define IMAP_R_SAVE 128      /* SEARCHRES (RFC 5182), SEARCH only */
struct imap_ret {
	int opts;
	uint32_t plo, phi;   /* PARTIAL plo:phi */
};
int imap_return_opts(struct imap_parser *ps, struct imap_ret *r);
/* hit: the numbers to show, in result order; COUNT before ALL, or last;
 * modseq: the highest of the matches when a MODSEQ key was given, else 0 */
void imap_put_esearch(struct imap_sess *s, struct imap_cmd *c, const struct imap_ret *r,
		      const uint32_t *hit, size_t n, int count_last, uint64_t modseq);

/* context.c: RETURN (UPDATE) results kept and updated (RFC 5267 4.3) */
typedef enum imap_res (*imap_search_fn)(struct imap_sess *s, struct imap_cmd *c, uint32_t **idx_r,
					size_t *n_r);
/* run: the search to run again (imap_search_keys, imap_sort_run) */
int imap_context_add(struct imap_sess *s, struct imap_cmd *c, int sort, imap_search_fn run,
		     const char *src, size_t len, const uint32_t *idx, size_t n);

/* catenate.c: the bytes an IMAP URL of the user's own names (RFC 5092,
 * CATENATE), appended to out.  0, -1 (bad or unknown URL). */
int imap_url_fetch(struct imap_sess *s, const char *url, size_t n, struct buf *out);

/* binary.c: BINARY[path] of a message (p, len) parsed as root: the
 * decoded bytes appended to out.  1 (decoded from base64/QP), 0 (as
 * stored); -1 EILSEQ for an encoding that
 * cannot be undone (NO [UNKNOWN-CTE]), ENOMEM. */
struct mime_part;
int imap_binary_section(const char *p, size_t len, const struct mime_part *root, const char *path,
			size_t pathlen, struct buf *out);

#endif
