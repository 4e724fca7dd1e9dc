/* libmime: message structure for IMAP (RFC 3501 7.4.2, RFC 2045-2049,
 * RFC 2231, RFC 2047, RFC 5322).  The one public header of imap/mime/.
 *
 * Input everywhere is a message as clients see it: (p, len) with CRLF line
 * ends (mbox_msg_load(MBOX_PART_ALL)); bare LF is tolerated.  The parser
 * builds a tree of offsets into p and never reads past len; serializers
 * walk the tree (Dovecot's split of message-parser and imap-bodystructure).
 * All functions return 0 (or a count / boolean) and -1 with errno on
 * failure (ENOMEM, EINVAL for a bad section spec); none prints.
 *
 * Typical use by the IMAP server:
 *	struct mime_part *m = mime_parse(p, len);
 *	mime_envelope(p, len, m, &out);              ENVELOPE value
 *	mime_bodystructure(p, len, m, 1, &out);      BODYSTRUCTURE (0: BODY)
 *	mime_section(p, len, m, "1.2.MIME", 8, &tmp, &sp, &sn);  BODY[1.2.MIME]
 *	mime_search_text(p, len, m, MIME_SEARCH_BODY, NULL, "word", 4);
 *	mime_free(m);
 */
#ifndef FACTEUR_MIME_H
#define FACTEUR_MIME_H

#include <stddef.h>
#include <time.h>

#include "str.h"

/* part flags */
#define MIME_PART_MULTIPART 0x01 /* children are the body parts */
#define MIME_PART_MESSAGE 0x02   /* message/rfc822 or message/global: one child, the nested message */
#define MIME_PART_TEXT 0x04      /* text/ * (BODYSTRUCTURE carries a line count) */
#define MIME_PART_DIGEST 0x08    /* multipart/digest: children default to message/rfc822 */
#define MIME_PART_IS_MSG 0x10    /* this part is a whole message (root or nested): has an envelope */

/* One part: header block and body as offsets into the message buffer.
 * hdr_len includes the blank line ending the header, if any.  For a part
 * of a multipart, the CRLF before the next boundary line belongs to the
 * boundary (RFC 2046 5.1.1), not to the part. */
struct mime_part {
	struct mime_part *parent, *children, *next;
	size_t hdr_off, hdr_len;
	size_t body_off, body_len;
	size_t body_lines;       /* LF count in the body (as Dovecot counts lines) */
	unsigned flags;
	unsigned depth;          /* 0 for the root */
	unsigned nchildren;
};

/* parse.c: the part tree.  Never fails on bad input (malformed MIME gets
 * the tolerant reading of mature servers); NULL only with ENOMEM.
 * Depth is capped at MIME_DEPTH_MAX and the count at MIME_PARTS_MAX
 * (lib/bounds.h): past them, parts are leaves. */
struct mime_part *mime_parse(const char *p, size_t len);
void mime_free(struct mime_part *root);

/* hdr.c: header fields of a header block (h, hlen). */
struct mime_field {
	const char *name, *value; /* value: raw, folding CRLFs kept, no final CRLF */
	size_t namelen, valuelen;
};
/* Next field from *pos: 1 and f filled, 0 at the end. */
int mime_hdr_next(const char *h, size_t hlen, size_t *pos, struct mime_field *f);
/* First field called name (case-insensitive): 1 found, 0 absent. */
int mime_hdr_find(const char *h, size_t hlen, const char *name, const char **v_r, size_t *vlen_r);
/* Unfolds for ENVELOPE and BODYSTRUCTURE strings: a fold and the white
 * space after it become one space (as Dovecot does), the ends are
 * trimmed; other white space, TAB included, is text (RFC 5322 3.2.5) and
 * kept (Dovecot turns TAB into a space). */
int mime_unfold(const char *v, size_t n, struct buf *out);

/* envelope.c: the ENVELOPE of a message part (the root, or the child of a
 * MIME_PART_MESSAGE part), RFC 3501 7.4.2, appended to out. */
int mime_envelope(const char *p, size_t len, const struct mime_part *msg, struct buf *out);

/* bodystructure.c: BODY (extended = 0) or BODYSTRUCTURE (extended = 1)
 * of a message part, appended to out. */
int mime_bodystructure(const char *p, size_t len, const struct mime_part *msg, int extended,
		       struct buf *out);

/* section.c: BODY[spec] (spec without brackets and partial: "", "TEXT",
 * "1.2", "1.2.MIME", "2.HEADER.FIELDS (From To)", "HEADER.FIELDS.NOT (X)").
 * The result is (*p_r, *len_r): it points into p, or into tmp for
 * HEADER.FIELDS.  Returns 0, 1 if the part does not exist (*len_r = 0:
 * send an empty string, as Dovecot does), -1/EINVAL for a bad spec. */
int mime_section(const char *p, size_t len, const struct mime_part *root, const char *spec,
		 size_t speclen, struct buf *tmp, const char **p_r, size_t *len_r);
/* The part a path such as "1.2" designates (NULL if none): the navigation
 * of RFC 3501 6.4.5 (a non-multipart message has one part, number 1). */
const struct mime_part *mime_part_find(const struct mime_part *root, const char *path,
				       size_t pathlen);

/* decode.c */
/* Content-Transfer-Encoding of a part: base64 and quoted-printable are
 * decoded, anything else copied.  Appends to out. */
int mime_decode_body(const char *p, size_t len, const struct mime_part *part, struct buf *out);
int mime_decode_qp(const char *in, size_t n, struct buf *out);
int mime_decode_base64(const char *in, size_t n, struct buf *out);
/* Charset conversion to UTF-8 with iconv; unknown charset or bad bytes:
 * the input is kept (8-bit bytes as is).  Appends to out. */
int mime_to_utf8(const char *charset, size_t cslen, const char *in, size_t n, struct buf *out);
/* An unfolded header value with RFC 2047 encoded words decoded to UTF-8. */
int mime_decode_header(const char *v, size_t n, struct buf *out);

/* search.c: SEARCH substring matching, case-insensitive on decoded UTF-8
 * (RFC 3501 6.4.4).  where: MIME_SEARCH_HEADER (field name given; an
 * empty needle matches when the field exists), MIME_SEARCH_BODY (decoded
 * text of every text part), MIME_SEARCH_TEXT (all headers and the body).
 * Returns 1 match, 0 no match, -1 error. */
#define MIME_SEARCH_HEADER 1
#define MIME_SEARCH_BODY 2
#define MIME_SEARCH_TEXT 3
int mime_search_text(const char *p, size_t len, const struct mime_part *root, int where,
		     const char *hdrname, const char *needle, size_t nlen);
/* Case folding used by search, exposed for tests: UTF-8 in, folded UTF-8 out. */
int mime_fold(const char *in, size_t n, struct buf *out);

/* date.c: the Date: header (RFC 5322 3.3, obsolete zones tolerated) of
 * the root as a time_t (UTC).  0, or -1 if absent or unparsable. */
int mime_header_date(const char *p, size_t len, const struct mime_part *root, time_t *t_r);
int mime_parse_date(const char *v, size_t n, time_t *t_r);
/* The day of the Date: header as written, its time and zone ignored
 * (RFC 3501 SENTON/SENTBEFORE/SENTSINCE), in days since 1970-01-01.
 * 0, or -1 if absent or unparsable. */
int mime_header_sent_day(const char *p, size_t len, const struct mime_part *root,
			 long long *day_r);

/* imapstr.c: IMAP strings: NIL for NULL, a quoted string when safe, else a
 * literal {n}CRLF (CR, LF, NUL, 8-bit, '"', '\\', or longer than 1024). */
int mime_put_nstring(struct buf *out, const char *s, size_t n);

/* sortkey.c: SORT and THREAD facts (RFC 5256, RFC 5957).  Sort strings
 * compare with strcmp after mime_sort_fold (titlecase, Latin-1 letters
 * decomposed, as Dovecot's i;unicode-casemap). */
int mime_sort_fold(const char *in, size_t n, struct buf *out);
/* The base subject (RFC 5256 2.1) of a raw Subject value, folded, appended
 * to out; *reply_r = 1 when it was a reply or forward (leader, "(fwd)"). */
int mime_base_subject(const char *v, size_t n, struct buf *out, int *reply_r);
/* First address of a field in a header block, folded, appended to out:
 * its mailbox (local part), or with display its decoded display name,
 * else mailbox@host (RFC 5957).  Nothing when absent.  0, -1 ENOMEM. */
int mime_sort_addr(const char *h, size_t hlen, const char *field, int display,
		   struct buf *out);
/* The msg-ids of a Message-ID/References/In-Reply-To value, without <>
 * and white space, one space between; at most max.  The count. */
size_t mime_msgids(const char *v, size_t n, struct buf *out, size_t max);

#endif
