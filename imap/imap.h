/* imapd internals: the session, the command reader and tokenizer, output
 * helpers, sequence sets, the selected mailbox's view.  One file per job:
 * imap_parse.c imap_out.c imap_seq.c imap_cmd.c imap_view.c imap_name.c,
 * then cmd_*.c per command family (RFC 3501 section 6). */
#ifndef FACTEUR_IMAP_H
#define FACTEUR_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "conf.h"
#include "io.h"
#include "net.h"
#include "str.h"
#include "mbox.h"

/* session states (bit masks for the command table) */
#define IMAP_S_NOTAUTH 1
#define IMAP_S_AUTH 2
#define IMAP_S_SELECTED 4
#define IMAP_S_ANY (IMAP_S_NOTAUTH | IMAP_S_AUTH | IMAP_S_SELECTED)
#define IMAP_S_LOGGED (IMAP_S_AUTH | IMAP_S_SELECTED)

/* handler outcomes: the dispatcher writes the generic tagged replies */
enum imap_res {
	IMAP_OK,        /* "tag OK NAME completed." */
	IMAP_DONE,      /* the handler wrote its tagged reply */
	IMAP_BAD,       /* "tag BAD Syntax error in arguments." */
	IMAP_LOGOUT,    /* reply written; end the session */
	IMAP_LOGIN,     /* pre-auth child: login accepted, stop at once */
	IMAP_FATAL      /* BYE written (or peer gone); end the session */
};

/* One message as the client sees it (its sequence number is index + 1). */
struct imap_vmsg {
	uint32_t uid;
	uint32_t flags;      /* MBOX_F_* */
	uint64_t keywords;
	uint32_t idx;        /* hint: index in scan->msgs */
	unsigned recent : 1;
	unsigned gone : 1;   /* expunged elsewhere, EXPUNGE not yet sent */
	unsigned changed : 1; /* flags changed elsewhere, FETCH not yet sent */
};

struct imap_view {
	struct imap_vmsg *v;
	size_t count, cap;
	uint32_t uidvalidity, uidnext;
	size_t recent;
	size_t nkw_sent;     /* keywords announced in FLAGS */
	int uv_placeholder;  /* uidvalidity invented for an empty mailbox */
	/* SELECT answered from the index's counters: v is built at the next
	 * command (imap_view_materialize) from this index as it was then */
	struct mbox_peek *lazy;
	size_t lazy_unseen;  /* the first unseen then (0 none) */
};

/* A command as read: the line(s) with literals inlined as {n}CRLF+bytes. */
struct imap_parser {
	char *p, *end;
	char *arena;         /* bump allocator for decoded strings */
	size_t arena_len, arena_cap;
};

struct imap_sess {
	struct io *io;
	struct conf *conf;
	struct peer peer;
	int state;
	int login_ok;        /* plaintext login allowed (LOGINDISABLED otherwise) */
	int tls;             /* the session runs under TLS (lib/tls.h) */
	int tls_offer;       /* STARTTLS may be offered (before TLS) */
	int resumed;         /* after STARTTLS: no second greeting */
	int enabled_utf8;
	/* ENABLE IMAP4rev2 (RFC 9051): no \Recent, ESEARCH for SEARCH,
	 * UTF-8 mailbox names; IMAP4rev1 otherwise */
	int rev2;
	/* SEARCHRES (RFC 5182): the UIDs SEARCH RETURN (SAVE) kept, for "$" */
	uint32_t *saved;
	size_t nsaved;
	int condstore, qresync;  /* RFC 7162, enabled (condstore.c) */
	/* set while RETURN (UPDATE) searches are kept (context.c): called
	 * before each command and while idling (end 0), and when the mailbox
	 * closes (end 1); a hook, so that the layers below the commands do not
	 * call up into them */
	void (*updates)(struct imap_sess *s, int end);
	unsigned errors;
	unsigned auth_fails;
	char user[256];
	char home[PATH_MAX];
	char root[PATH_MAX];  /* folder root: ~/mail */
	char spool[PATH_MAX]; /* INBOX */
	/* the selected mailbox */
	char sel_name[1024];
	char sel_path[PATH_MAX]; /* its file; mb.fd < 0 while an INBOX does not exist yet */
	int readonly;
	struct mbox mb;
	struct mbox_scan sc;
	struct imap_view view;
	int bye;              /* session must end after this command */
	struct buf cmd;       /* the current command */
};

struct imap_cmd {
	const char *tag;
	size_t taglen;
	const char *name;    /* canonical verb */
	int uid;             /* UID prefix */
	struct imap_parser ps;
};

/* imap_cmd.c */
int imap_loop(struct imap_sess *s);
int imap_run_one(struct imap_sess *s, struct buf *cmd);
void imap_tagged(struct imap_sess *s, const struct imap_cmd *c, const char *status,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* a NO [code] reply for a failed mailbox operation, from errno */
void imap_no_errno(struct imap_sess *s, struct imap_cmd *c, int e);
/* the capability list for the current state (no leading "CAPABILITY ") */
void imap_capabilities(struct imap_sess *s, struct buf *b);

/* imap_parse.c */
#define IMAP_RD_OK 1
#define IMAP_RD_EOF 0
#define IMAP_RD_ERR (-1)     /* read error or timeout: end */
#define IMAP_RD_AGAIN 2      /* a reply was sent (bad line, literal refused); read on */
int imap_read_command(struct imap_sess *s, struct buf *cmd);
void imap_parser_init(struct imap_parser *ps, char *p, size_t len);
void imap_parser_free(struct imap_parser *ps);
int imap_eol(struct imap_parser *ps);                 /* at end of command */
int imap_sp(struct imap_parser *ps);                  /* one space: 0, else -1 */
int imap_peek(struct imap_parser *ps);                /* next char or -1 */
int imap_atom(struct imap_parser *ps, const char **p_r, size_t *len_r);
int imap_astring(struct imap_parser *ps, const char **p_r, size_t *len_r);
int imap_string(struct imap_parser *ps, const char **p_r, size_t *len_r);
/* a "list-mailbox": astring plus % and * */
int imap_list_mailbox(struct imap_parser *ps, const char **p_r, size_t *len_r);
/* NUL-terminated copy in the arena (NULL if the bytes hold a NUL) */
char *imap_dupz(struct imap_parser *ps, const char *p, size_t len);
/* one flag: 1 system flag (*flag_r), 2 \Recent, 0 keyword, -1 invalid */
int imap_flag_parse(const char *p, size_t len, uint32_t *flag_r);
/* a flag list "(\Seen kw)": system flags into *flags_r, keyword names
 * (pointers into the command) into kw[0..*nkw), at most kwmax */
int imap_flag_list(struct imap_parser *ps, uint32_t *flags_r, const char **kw, size_t *nkw,
		   size_t kwmax, int allow_recent);
int imap_date_parse(const char *p, size_t len, int64_t *t_r);      /* 1-Feb-1994 */
int imap_datetime_parse(const char *p, size_t len, int64_t *t_r);  /* "dd-Mon-yyyy hh:mm:ss +zzzz" */
/* RFC 3501 ATOM-CHAR: any CHAR except atom-specials (the parser and the
 * output's choice of atom or string both use it) */
static inline int imap_is_atom_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\]", c);
}

/* imap_out.c */
void imap_put(struct imap_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_putn(struct imap_sess *s, const char *p, size_t n);
void imap_puts(struct imap_sess *s, const char *str);
void imap_put_u64(struct imap_sess *s, uint64_t v);
void imap_put_astring(struct imap_sess *s, const char *p, size_t n);
void imap_put_qstring(struct imap_sess *s, const char *p, size_t n); /* quoted or literal */
void imap_put_nstring(struct imap_sess *s, const char *p, size_t n); /* NULL -> NIL */
void imap_put_literal(struct imap_sess *s, const char *p, size_t n);
void imap_put_flags(struct imap_sess *s, const struct imap_vmsg *m);
/* a keyword from the file is shown only if it is a valid atom */
int imap_kw_ok(const char *k);
void imap_put_mailbox(struct imap_sess *s, const char *name);
void imap_put_datetime(struct imap_sess *s, int64_t t);            /* "dd-Mon-yyyy hh:mm:ss +zzzz" */
/* "* n FETCH ([UID u ]FLAGS (...))" for view message i */
void imap_put_fetch_flags(struct imap_sess *s, size_t i, int with_uid);
/* n numbers in the given order, ascending runs as "a:b" */
void imap_put_ordered_set(struct imap_sess *s, const uint32_t *v, size_t n);

/* imap_seq.c: sequence sets, "1:3,7,9:*" */
struct imap_seq {
	struct { uint32_t lo, hi; } *r;
	size_t n;
	int dollar;
};
/* 0, or -1 on syntax error */
int imap_seq_parse(struct imap_parser *ps, struct imap_seq *set);
void imap_seq_free(struct imap_seq *set);
/* star = the value of '*' (largest seq or UID): sorts and merges */
void imap_seq_resolve(struct imap_seq *set, uint32_t star);
int imap_seq_has(const struct imap_seq *set, uint32_t x, uint32_t star);
/* "$" (RFC 5182): a set parsed as "$" becomes the saved result, as UIDs
 * (uid) or as the sequence numbers those messages have now; call before
 * imap_seq_resolve.  0, -1 out of memory. */
int imap_seq_dollar(struct imap_sess *s, struct imap_seq *set, int uid);

/* condstore.c: RFC 7162 */
struct imap_cs_select {
	int condstore, qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seq known;
	int has_known;
};
struct imap_cs_fetch {
	int changedsince, vanished;
	uint64_t since;
};
void imap_cs_enable(struct imap_sess *s, int qresync);
uint64_t imap_cs_highest(const struct imap_sess *s);
uint64_t imap_cs_modseq(struct imap_sess *s, size_t i);   /* of view message i */
int imap_cs_number(struct imap_parser *ps, uint64_t *v);
int imap_cs_vanished_earlier(struct imap_sess *s, const struct imap_seq *set);
int imap_cs_select_params(struct imap_sess *s, struct imap_parser *ps, struct imap_cs_select *q);
void imap_cs_select_free(struct imap_cs_select *q);
int imap_cs_select_report(struct imap_sess *s, struct imap_cs_select *q);
int imap_cs_fetch_mods(struct imap_sess *s, struct imap_parser *ps, struct imap_cs_fetch *f);
void imap_cs_expunged(struct imap_sess *s, size_t seq, uint32_t uid);
void imap_cs_expunged_end(struct imap_sess *s);

/* imap_view.c: the selected mailbox */
#define IMAP_SYNC_EXPUNGE 1   /* EXPUNGE responses may be sent now */
int imap_view_open(struct imap_sess *s, const char *name, const char *path, int readonly);
void imap_view_close(struct imap_sess *s);
/* a SELECT answered from the counters: the view as announced, now; -1:
 * BYE sent (the index no longer readable) */
int imap_view_materialize(struct imap_sess *s);
/* rescan; report changes; 0, -1 (BYE sent: session over) */
int imap_view_sync(struct imap_sess *s, int flags);
/* the scan index of view message i, or -1 if it is no longer in the file */
long imap_view_index(struct imap_sess *s, size_t i);
long imap_scan_find_uid(const struct mbox_scan *sc, uint32_t uid);
/* Changes the selected mailbox: under the write lock, rescans, lets mark()
 * set requests in s->sc (by UID), rewrites.  Retries on ESTALE.  The lock is
 * released before it returns.  -1 with errno (EAGAIN: busy). */
typedef int (*imap_mark_fn)(struct imap_sess *s, void *arg);
int imap_view_write(struct imap_sess *s, imap_mark_fn mark, void *arg);
/* Before a rewrite that gives UIDs: a mailbox without UIDVALIDITY gets
 * the next value of the user's state (~/mail/.imap/dovecot-uidvalidity,
 * shared with Dovecot), never one a deleted namesake had. */
void imap_uv_prepare(struct imap_sess *s, struct mbox_scan *sc);
/* "* FLAGS" and "* OK [PERMANENTFLAGS" lines */
void imap_view_flags_lines(struct imap_sess *s);
uint32_t imap_view_max_uid(const struct imap_sess *s);
/* a read lock held across a long FETCH/SEARCH, dropped every so often */
void imap_view_read_begin(struct imap_sess *s);
void imap_view_read_release(struct imap_sess *s, size_t upcoming);
void imap_view_read_tick(struct imap_sess *s);
void imap_view_read_end(struct imap_sess *s);
/* mbox_msg_load of scan entry k, only under the read lock taken above */
int imap_view_load(struct imap_sess *s, long k, int parts, char **p_r, size_t *len_r);
/* EXPUNGE, CLOSE, MOVE: removes the \Deleted messages (every one with
 * force), only those in uids if given; report: EXPUNGE responses now */
int imap_view_expunge(struct imap_sess *s, const struct imap_seq *uids, int force, int report);
/* the view entries the set names (by UID for a UID command): sel[i] = 1;
 * -1 if a sequence number is out of range */
int imap_view_select(struct imap_sess *s, struct imap_cmd *c, struct imap_seq *set, unsigned char *sel);

/* imap_append.c: APPEND, COPY and MOVE into the mailbox at path; UIDs
 * of the n messages in uids_r (0 for one not appended) */
int imap_append_to(struct imap_sess *s, const char *path, int create, const struct mbox_append *a,
		   size_t n, uint32_t *uidvalidity_r, uint32_t *uids_r);

/* imap_name.c: mailbox names */
/* Resolves a client mailbox name: INBOX -> spool, else a path under the
 * folder root.  1 = INBOX, 0 = folder, -1 = refused (NO). canon_r gets the
 * canonical name (INBOX upper-cased). */
int imap_name_resolve(struct imap_sess *s, const char *name, size_t len, char *path_r,
		      size_t pathmax, char *canon_r, size_t canonmax);
/* the same for a name that is already in the stored form (no UTF-8) */
int imap_name_resolve_stored(struct imap_sess *s, const char *name, size_t len, char *path_r,
			     size_t pathmax, char *canon_r, size_t canonmax);
int imap_utf7_valid(const char *p, size_t len);
/* utf7.c: mailbox names UTF-8 <-> modified UTF-7; length, or -1 (invalid,
 * too long); the output is NUL-terminated */
int imap_utf8_to_mutf7(const char *in, size_t len, char *out, size_t outmax);
int imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t outmax);
/* the SPECIAL-USE of a mailbox: as given at CREATE (special_use.c), else by name */
const char *imap_special_use(const struct imap_sess *s, const char *name);
/* special_use.c: CREATE-SPECIAL-USE (RFC 6154) */
const char *imap_special_use_name(const char *p, size_t n);
const char *imap_special_use_stored(const struct imap_sess *s, const char *name);
int imap_special_use_set(const struct imap_sess *s, const char *name, const char *use,
			 const char *from);
/* CREATE's " (USE (\\Attr ..))": 0, -1 BAD, 1 NO [USEATTR] written */
int imap_create_params(struct imap_sess *s, struct imap_cmd *c, const char **use_r);

/* cmd handler signature */
typedef enum imap_res (*imap_handler)(struct imap_sess *s, struct imap_cmd *c);
enum imap_res cmd_capability(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_starttls(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_noop(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_logout(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_id(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_enable(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_login(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_authenticate(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_namespace(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_idle(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_select(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_examine(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_close(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_unselect(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_check(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_expunge(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_create(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_delete(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_rename(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_subscribe(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_unsubscribe(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_list(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_lsub(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_status(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_append(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_fetch(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_store(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_search(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_copy(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_move(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_sort(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_thread(struct imap_sess *, struct imap_cmd *);
enum imap_res cmd_cancelupdate(struct imap_sess *, struct imap_cmd *);
/* context.c: RETURN (UPDATE) searches (RFC 5267): report their changes
 * (before a command, while idling); forget them all (mailbox closed) */
void imap_context_notify(struct imap_sess *s);

/* cmd_mailbox.c: STATUS, shared with LIST ... RETURN (STATUS (..)) */
/* "(MESSAGES ..)": item bits, -1 bad; DELETED only in IMAP4rev2 (Dovecot 2.3
 * has SIZE, RFC 8438, but not DELETED) */
int imap_status_items(struct imap_parser *ps, int rev2);
/* "* STATUS" of one mailbox: 0; 1 not selectable; -1 errno (nothing written) */
int imap_status_put(struct imap_sess *s, const char *canon, const char *path, int inbox,
		    int items);
/* cmd_search.c: the search keys up to the end of the command, run over
 * the view; *idx_r (malloc'ed) gets the view indexes of the matches, in
 * order.  IMAP_OK, IMAP_BAD, or IMAP_DONE (NO written). */
enum imap_res imap_search_keys(struct imap_sess *s, struct imap_cmd *c, uint32_t **idx_r,
			       size_t *n_r);
/* cmd_fetch.c */
int imap_select_set(struct imap_sess *s, struct imap_cmd *c, struct imap_seq *set,
		    unsigned char *sel);
void imap_fetch_flags(struct imap_sess *s, size_t i, int with_uid);

#endif
