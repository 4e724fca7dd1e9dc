/* What a RCPT address becomes: mydestination decides local or not; a local
 * part goes through the aliases, then to a user (getpwnam or the
 * passwd-file, case-insensitive), whose mailbox is in mail_spool_directory.
 * postmaster is always accepted (RFC 5321 4.5.1). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "log.h"
#include "smtp.h"


struct expand {
	const struct conf *c;
	struct rcpt_list *list;
	const char *orig, *orcpt, *domain;
	unsigned notify;
	int depth;
	const char *self;          /* the alias being expanded */
	size_t selflen;
	int err;                   /* RCPT_TEMP / RCPT_TOOMANY */
	size_t hits;               /* recipients found, duplicates included */
};

static char self_addr[64];

void rcpt_set_self(const char *local_addr)
{
	if (str_copyz(self_addr, sizeof self_addr, local_addr ? local_addr : "") < 0)
		self_addr[0] = '\0';
}

/* mydestination, or an address literal naming this host: loopback or the
 * address the client connected to (Postfix: inet_interfaces). */
static int is_local(const struct conf *c, const char *d, size_t len)
{
	char ip[64];
	unsigned char bin[16];

	if (len < 3 || d[0] != '[')
		return conf_is_local_domain(c, d, len);
	if (!addr_literal_ok(d, len) || len - 2 >= sizeof ip)
		return 0;
	memcpy(ip, d + 1, len - 2);
	ip[len - 2] = '\0';
	if (inet_pton(AF_INET, ip, bin) == 1)
		return bin[0] == 127 || !strcmp(ip, self_addr);
	if (str_iprefix(ip, len - 2, "IPv6:") && inet_pton(AF_INET6, ip + 5, bin) == 1) {
		unsigned char self[16];
		static const unsigned char lo[16] = { [15] = 1 };
		return !memcmp(bin, lo, 16) ||
		       (inet_pton(AF_INET6, self_addr, self) == 1 && !memcmp(bin, self, 16));
	}
	return 0;
}

void rcpt_list_free(struct rcpt_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int add(struct expand *x, char kind, const char *user, const char *addr, size_t alen)
{
	struct rcpt_list *l = x->list;
	struct q_rcpt *r;
	size_t i;

	x->hits++;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind != kind)
			continue;
		if (kind == RCPT_OK ? !strcmp(l->v[i].user, user)
				    : str_ieq(l->v[i].addr, strlen(l->v[i].addr), addr, alen))
			return 0;
	}
	if (l->n >= RCPT_EXPANDED_MAX) {
		x->err = RCPT_TOOMANY;
		return -1;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct q_rcpt *v = realloc(l->v, ncap * sizeof *v);
		if (!v) {
			x->err = RCPT_TEMP;
			return -1;
		}
		l->v = v;
		l->cap = ncap;
	}
	r = &l->v[l->n];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->state = Q_PENDING;
	r->notify = x->notify;
	if (str_copyz(r->user, sizeof r->user, user) < 0 ||
	    str_copy(r->addr, sizeof r->addr, addr, alen) < 0 ||
	    str_copyz(r->orig, sizeof r->orig, x->orig) < 0 ||
	    str_copyz(r->orcpt, sizeof r->orcpt, x->orcpt) < 0) {
		x->err = RCPT_UNKNOWN;
		return -1;
	}
	l->n++;
	return 0;
}

/* A local user: name as found, address user@domain. */
static int add_user(struct expand *x, const char *name)
{
	char a[SMTP_ADDR_MAX];
	int n = snprintf(a, sizeof a, "%s@%s", name, x->domain);

	if (n < 0 || (size_t)n >= sizeof a) {
		x->err = RCPT_UNKNOWN;
		return -1;
	}
	return add(x, RCPT_OK, name, a, (size_t)n);
}

static int expand_local(struct expand *x, const char *name, size_t len, int top);

static int on_target(void *arg, const char *t, size_t len)
{
	struct expand *x = arg;
	size_t at = addr_at(t, len);

	if (len >= SMTP_ADDR_MAX || !addr_clean(t, len)) {
		log_msg(LOG_WARNING, "alias %.*s: bad target ignored", (int)x->selflen, x->self);
		return 0;
	}
	if (at < len && !is_local(x->c, t + at + 1, len - at - 1))
		return add(x, RCPT_REMOTE, "", t, len);
	/* an alias that names itself means the user of that name */
	if (str_ieq(t, at, x->self, x->selflen)) {
		char name[CONF_NAME_MAX];
		if (str_copy(name, sizeof name, t, at) < 0)
			return 0;
		return expand_local(x, name, at, -1);
	}
	return expand_local(x, t, at, 0);
}

/* top: 1 the client's address, 0 an alias target, -1 no alias lookup */
static int expand_local(struct expand *x, const char *name, size_t len, int top)
{
	struct auth_user u;
	char lname[CONF_NAME_MAX];
	const char *oself = x->self;
	size_t oselflen = x->selflen;
	int r;

	if (len == 0 || str_copy(lname, sizeof lname, name, len) < 0 || strchr(lname, '/')) {
		x->err = RCPT_UNKNOWN;
		return -1;
	}
	if (top >= 0) {
		if (x->depth >= ALIAS_DEPTH_MAX) {
			log_msg(LOG_WARNING, "alias %s: nested too deep", lname);
			x->err = RCPT_UNKNOWN;
			return -1;
		}
		x->depth++;
		x->self = lname;
		x->selflen = len;
		r = alias_lookup(x->c, lname, len, on_target, x);
		x->self = oself;
		x->selflen = oselflen;
		x->depth--;
		if (r < 0) {
			if (!x->err)
				x->err = RCPT_TEMP;
			return -1;
		}
		if (r == 1)
			return x->err ? -1 : 0;
	}
	if (auth_lookup(x->c, lname, &u) == 0)
		return add_user(x, u.name);
	if (errno != ENOENT) {
		x->err = RCPT_TEMP;
		return -1;
	}
	if (str_ieq(lname, len, "postmaster", 10) && top == 1)
		return expand_local(x, "root", 4, -1);
	/* an alias target that names nobody bounces at delivery (Postfix) */
	if (top == 0 || (top == -1 && x->depth > 0))
		return add_user(x, lname);
	x->err = RCPT_UNKNOWN;
	return -1;
}

int rcpt_resolve(const struct conf *c, const char *addr, unsigned notify, const char *orcpt,
		 int relay_ok, struct rcpt_list *list)
{
	struct expand x;
	size_t len = strlen(addr), at = addr_at(addr, len);
	size_t before = list->n;

	memset(&x, 0, sizeof x);
	x.c = c;
	x.list = list;
	x.orig = addr;
	x.orcpt = orcpt ? orcpt : "";
	x.notify = notify;
	x.domain = at < len ? addr + at + 1 : c->myhostname;
	if (at < len && !is_local(c, addr + at + 1, len - at - 1)) {
		if (!relay_ok)
			return RCPT_DENIED;
		if (add(&x, RCPT_REMOTE, "", addr, len) < 0)
			return x.err;
		return RCPT_REMOTE;
	}
	x.self = "";
	if (expand_local(&x, addr, at, 1) < 0) {
		list->n = before;    /* all or nothing for one RCPT */
		return x.err ? x.err : RCPT_UNKNOWN;
	}
	/* an alias whose every target was refused delivers nowhere */
	if (x.hits == 0)
		return RCPT_UNKNOWN;
	return RCPT_OK;
}
