/* LIST and LSUB (RFC 3501 6.3.8-9; LIST-EXTENDED RFC 5258: selection
 * options SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE, several patterns,
 * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS), CHILDINFO; LIST-STATUS
 * RFC 5819; SPECIAL-USE RFC 6154),
 * SUBSCRIBE and UNSUBSCRIBE (6.3.6-7).  Hierarchy separator "/"; "*"
 * matches anything, "%" anything but "/".  INBOX is the spool and is listed
 * first; folders come from libmbox's folder walk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"


/* Wildcard match by dynamic programming over pattern positions, so that
 * patterns full of '*' cost O(pattern x name), never backtracking:
 * row[j] = pat[0..j) matches the name read so far. */
static int match(const char *pat, const char *name)
{
	char buf[2 * 1200], *cur = buf, *next = buf + 1200, *t;
	size_t np = strlen(pat), j;

	if (np >= 1200)
		return 0;
	cur[0] = 1;
	for (j = 0; j < np; j++)
		cur[j + 1] = cur[j] && (pat[j] == '*' || pat[j] == '%');
	for (; *name; name++) {
		next[0] = 0;
		for (j = 0; j < np; j++) {
			if (pat[j] == '*')
				next[j + 1] = next[j] || cur[j + 1];
			else if (pat[j] == '%')
				next[j + 1] = next[j] || (cur[j + 1] && *name != '/');
			else
				next[j + 1] = cur[j] && pat[j] == *name;
		}
		t = cur;
		cur = next;
		next = t;
	}
	return cur[np];
}

/* INBOX is case-insensitive, also in the pattern's leading letters:
 * "inbox", "In%" and "i*" all list it, as Dovecot does */
static int match_name(const char *pat, const char *name)
{
	char p[1100];
	size_t i;

	if (!strcmp(name, "INBOX") && strlen(pat) < sizeof p) {
		memcpy(p, pat, strlen(pat) + 1);
		for (i = 0; i < 5 && p[i] && p[i] != '*' && p[i] != '%'; i++)
			if (p[i] >= 'a' && p[i] <= 'z')
				p[i] = (char)(p[i] - 'a' + 'A');
		return match(p, name);
	}
	return match(pat, name);
}

struct listopt {
	int rev2;             /* patterns in UTF-8: names are matched in UTF-8 */
	int lsub, sel_subscribed, sel_special, ret_subscribed, ret_special;
	int recursive;        /* RECURSIVEMATCH */
	int status;           /* RETURN (STATUS (..)): item bits (RFC 5819) */
	const char *pat[IMAP_LIST_PATTERNS_MAX];
	size_t npat;
	struct mbox_folder_list subs;
};

/* a stored (modified UTF-7) name against a pattern as the client wrote it */
static int match_stored(const struct listopt *o, const char *pat, const char *name)
{
	char u[IMAP_NAME_MAX * 2 + 1];

	if (o->rev2 && imap_mutf7_to_utf8(name, strlen(name), u, sizeof u) >= 0)
		return match_name(pat, u);
	return match_name(pat, name);
}

static int subscribed(const struct listopt *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->subs.count; i++)
		if (!strcmp(o->subs.f[i].name, name))
			return 1;
	return 0;
}

/* LIST-STATUS: the STATUS of a selectable mailbox right after its LIST
 * line; one that cannot be read (locked, gone) is left out (RFC 5819) */
static void put_status(struct imap_sess *s, const struct listopt *o, const char *name)
{
	char path[PATH_MAX], canon[1024];
	int r = imap_name_resolve_stored(s, name, strlen(name), path, sizeof path, canon,
					 sizeof canon);

	if (r >= 0)
		imap_status_put(s, canon, path, r == 1, o->status);
}

static void put_entry(struct imap_sess *s, const struct listopt *o, const char *name,
		      int is_dir, int children, int exists)
{
	const char *use = imap_special_use(s, name);
	const char *sep = "";
	int i, any = 0;

	for (i = 0; i < (int)o->npat; i++)
		any |= match_stored(o, o->pat[i], name);
	if (!any)
		return;
	if (o->sel_special && !use)
		return;
	if ((o->lsub || o->sel_subscribed) && !subscribed(o, name))
		return;
	imap_put(s, "* %s (", o->lsub ? "LSUB" : "LIST");
	if (!exists) {
		imap_put(s, "%s", o->lsub ? "\\Noselect" : "\\NonExistent");
		sep = " ";
	} else if (!o->lsub) {
		if (is_dir)
			imap_put(s, "\\Noselect %s", children ? "\\HasChildren" : "\\HasNoChildren");
		else if (!strcmp(name, "INBOX"))
			imap_put(s, "\\HasNoChildren");
		else
			imap_put(s, "\\NoInferiors");
		sep = " ";
	}
	if (use && exists) {
		imap_put(s, "%s%s", sep, use);
		sep = " ";
	}
	if ((o->sel_subscribed || o->ret_subscribed) && subscribed(o, name))
		imap_put(s, "%s\\Subscribed", sep);
	imap_put(s, ") \"/\" ");
	imap_put_mailbox(s, name);
	imap_put(s, "\r\n");
	if (o->status && exists && !is_dir && !o->lsub)
		put_status(s, o, name);
}

static int any_match(const struct listopt *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->npat; i++)
		if (match_stored(o, o->pat[i], name))
			return 1;
	return 0;
}

/* RFC 3501 6.3.9: "foo/bar" subscribed, "foo" not, LSUB "" "%" must list
 * "foo" with \Noselect.  Each such parent once. */
static void lsub_parents(struct imap_sess *s, const struct listopt *o)
{
	char pre[1100];
	size_t i, j, k;

	for (i = 0; i < o->subs.count; i++) {
		const char *nm = o->subs.f[i].name;
		if (any_match(o, nm) || !imap_utf7_valid(nm, strlen(nm)))
			continue;
		for (k = 0; nm[k] && k < sizeof pre; k++) {
			int dup = 0;
			if (nm[k] != '/' || k == 0)
				continue;
			memcpy(pre, nm, k);
			pre[k] = '\0';
			if (subscribed(o, pre) || !any_match(o, pre))
				continue;
			/* listed already for an earlier subscription? */
			for (j = 0; j < i && !dup; j++)
				dup = !any_match(o, o->subs.f[j].name) &&
				      !strncmp(o->subs.f[j].name, pre, k) && o->subs.f[j].name[k] == '/';
			if (dup)
				continue;
			imap_put(s, "* LSUB (\\Noselect) \"/\" ");
			imap_put_mailbox(s, pre);
			imap_put(s, "\r\n");
		}
	}
}

/* selection options (RFC 5258 3.1, RFC 6154): unknown ones are BAD, as
 * RECURSIVEMATCH without an option it could apply to */
static int parse_select(struct imap_parser *ps, struct listopt *o)
{
	const char *p;
	size_t n;
	int other = 0;

	ps->p++;   /* '(' */
	if (imap_peek(ps) != ')') {
		do {
			if (imap_atom(ps, &p, &n) < 0)
				return -1;
			if (str_ieq(p, n, "SUBSCRIBED", 10))
				o->sel_subscribed = other = 1;
			else if (str_ieq(p, n, "SPECIAL-USE", 11))
				o->sel_special = other = 1;
			else if (str_ieq(p, n, "RECURSIVEMATCH", 14))
				o->recursive = 1;
			else if (!str_ieq(p, n, "REMOTE", 6))
				return -1;   /* REMOTE: no remote mailboxes here */
		} while (imap_sp(ps) == 0);
	}
	if (imap_peek(ps) != ')' || (o->recursive && !other))
		return -1;
	ps->p++;
	return 0;
}

/* return options (RFC 5258 3.2, RFC 5819, RFC 6154) */
static int parse_return(struct imap_parser *ps, struct listopt *o)
{
	const char *p;
	size_t n;

	if (imap_peek(ps) != '(')
		return -1;
	ps->p++;
	if (imap_peek(ps) != ')') {
		do {
			if (imap_atom(ps, &p, &n) < 0)
				return -1;
			if (str_ieq(p, n, "SUBSCRIBED", 10))
				o->ret_subscribed = 1;
			else if (str_ieq(p, n, "SPECIAL-USE", 11))
				o->ret_special = 1;
			else if (str_ieq(p, n, "STATUS", 6)) {
				if (imap_sp(ps) < 0 || (o->status = imap_status_items(ps, o->rev2)) <= 0)
					return -1;
			} else if (!str_ieq(p, n, "CHILDREN", 8))
				return -1;   /* CHILDREN: always given */
		} while (imap_sp(ps) == 0);
	}
	if (imap_peek(ps) != ')')
		return -1;
	ps->p++;
	return 0;
}

/* RECURSIVEMATCH with SUBSCRIBED: a name that matches a pattern, is not
 * subscribed itself but has subscribed names below it is listed with
 * CHILDINFO ("SUBSCRIBED") (RFC 5258 3.5), each once, unless those names
 * match a pattern and are listed themselves. */
static void childinfo(struct imap_sess *s, const struct listopt *o, const struct mbox_folder_list *l)
{
	char pre[1100];
	size_t i, j, k;

	for (i = 0; i < o->subs.count; i++) {
		const char *nm = o->subs.f[i].name;
		if (any_match(o, nm))
			continue;   /* listed itself: no need for CHILDINFO (as Dovecot) */
		for (k = 1; nm[k] && k < sizeof pre; k++) {
			int dup = 0, is_dir = 0, exists = 0;
			if (nm[k] != '/')
				continue;
			memcpy(pre, nm, k);
			pre[k] = '\0';
			if (subscribed(o, pre) || !any_match(o, pre) || !imap_utf7_valid(pre, k))
				continue;
			for (j = 0; j < i && !dup; j++)
				dup = !any_match(o, o->subs.f[j].name) &&
				      !strncmp(o->subs.f[j].name, pre, k) && o->subs.f[j].name[k] == '/';
			if (dup)
				continue;
			for (j = 0; j < l->count && !exists; j++)
				if (!strcmp(l->f[j].name, pre)) {
					exists = 1;
					is_dir = l->f[j].is_dir;
				}
			imap_put(s, "* LIST (%s) \"/\" ", !exists ? "\\NonExistent" :
				 is_dir ? "\\Noselect \\HasChildren" : "\\HasChildren");
			imap_put_mailbox(s, pre);
			imap_put(s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
		}
	}
}

static enum imap_res do_list(struct imap_sess *s, struct imap_cmd *c, int lsub)
{
	struct listopt o;
	struct mbox_folder_list l;
	char joined[IMAP_LIST_PATTERNS_MAX][1100];
	const char *ref, *p;
	size_t rl, n, i;

	memset(&o, 0, sizeof o);
	o.lsub = lsub;
	o.rev2 = s->rev2;
	if (!lsub && imap_peek(&c->ps) == '(' && (parse_select(&c->ps, &o) < 0 || imap_sp(&c->ps) < 0))
		return IMAP_BAD;
	if (imap_astring(&c->ps, &ref, &rl) < 0 || imap_sp(&c->ps) < 0)
		return IMAP_BAD;
	if (!lsub && imap_peek(&c->ps) == '(') {
		c->ps.p++;
		do {
			if (o.npat >= IMAP_LIST_PATTERNS_MAX || imap_list_mailbox(&c->ps, &p, &n) < 0 ||
			    !(o.pat[o.npat++] = imap_dupz(&c->ps, p, n)))
				return IMAP_BAD;
		} while (imap_sp(&c->ps) == 0);
		if (imap_peek(&c->ps) != ')')
			return IMAP_BAD;
		c->ps.p++;
	} else {
		if (imap_list_mailbox(&c->ps, &p, &n) < 0)
			return IMAP_BAD;
		o.pat[o.npat++] = imap_dupz(&c->ps, p, n);
	}
	if (!lsub && imap_sp(&c->ps) == 0) {
		const char *kw;
		size_t kl;
		if (imap_atom(&c->ps, &kw, &kl) < 0 || !str_ieq(kw, kl, "RETURN", 6) ||
		    imap_sp(&c->ps) < 0 || parse_return(&c->ps, &o) < 0)
			return IMAP_BAD;
	}
	if (!imap_eol(&c->ps) || memchr(ref, '\0', rl))
		return IMAP_BAD;
	/* the reference is a prefix of every pattern */
	for (i = 0; i < o.npat; i++) {
		int jl;
		if (!o.pat[i])
			return IMAP_BAD;
		if (!rl)
			continue;
		jl = snprintf(joined[i], sizeof joined[i], "%.*s%s", (int)rl, ref, o.pat[i]);
		if (jl < 0 || (size_t)jl >= sizeof joined[i])
			return IMAP_BAD;
		o.pat[i] = joined[i];
	}
	/* LIST "" "": the hierarchy delimiter */
	if (!lsub && o.npat == 1 && !o.pat[0][0]) {
		imap_put(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		return IMAP_OK;
	}
	if ((lsub || o.sel_subscribed || o.ret_subscribed) && mbox_subs_read(s->root, &o.subs) < 0)
		memset(&o.subs, 0, sizeof o.subs);
	if (mbox_folder_list(s->root, &l) < 0) {
		int e = errno;
		mbox_folder_list_free(&o.subs);
		imap_no_errno(s, c, e);
		return IMAP_DONE;
	}
	put_entry(s, &o, "INBOX", 0, 0, 1);
	for (i = 0; i < l.count; i++) {
		if (!strcasecmp(l.f[i].name, "INBOX") || !imap_utf7_valid(l.f[i].name, strlen(l.f[i].name)))
			continue;
		put_entry(s, &o, l.f[i].name, l.f[i].is_dir, l.f[i].has_children, 1);
	}
	/* subscribed names that do not exist (any more) */
	if (lsub || o.sel_subscribed)
		for (i = 0; i < o.subs.count; i++) {
			const char *nm = o.subs.f[i].name;
			size_t j;
			int found = !strcmp(nm, "INBOX");
			for (j = 0; j < l.count && !found; j++)
				found = !strcmp(l.f[j].name, nm);
			if (!found && imap_utf7_valid(nm, strlen(nm)))
				put_entry(s, &o, nm, 0, 0, 0);
		}
	if (lsub)
		lsub_parents(s, &o);
	if (o.sel_subscribed && o.recursive)
		childinfo(s, &o, &l);
	mbox_folder_list_free(&l);
	mbox_folder_list_free(&o.subs);
	return IMAP_OK;
}

enum imap_res cmd_list(struct imap_sess *s, struct imap_cmd *c)
{
	return do_list(s, c, 0);
}

enum imap_res cmd_lsub(struct imap_sess *s, struct imap_cmd *c)
{
	return do_list(s, c, 1);
}

static enum imap_res do_subscribe(struct imap_sess *s, struct imap_cmd *c, int on)
{
	const char *n;
	size_t nl;
	char path[PATH_MAX], canon[1024];

	if (imap_astring(&c->ps, &n, &nl) < 0 || !imap_eol(&c->ps))
		return IMAP_BAD;
	/* unsubscribing a name that is invalid now must still be possible */
	if (imap_name_resolve(s, n, nl, path, sizeof path, canon, sizeof canon) < 0) {
		if (on || str_copy(canon, sizeof canon, n, nl) < 0 || memchr(n, '\0', nl)) {
			imap_tagged(s, c, "NO", "[CANNOT] Invalid mailbox name.");
			return IMAP_DONE;
		}
	}
	if (mbox_subs_set(s->root, canon, on) < 0) {
		imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	return IMAP_OK;
}

enum imap_res cmd_subscribe(struct imap_sess *s, struct imap_cmd *c)
{
	return do_subscribe(s, c, 1);
}

enum imap_res cmd_unsubscribe(struct imap_sess *s, struct imap_cmd *c)
{
	return do_subscribe(s, c, 0);
}
