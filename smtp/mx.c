/* Where mail for a next hop goes: relayhost or MX lookup (RFC 5321 5.1),
 * with glibc's resolver only (res_query, ns_parserr).  MX hosts in order
 * of preference, equals shuffled; no MX = the domain's own A/AAAA; a null
 * MX (RFC 7505) is a permanent failure; our own name or address among the
 * MX hosts drops it and every worse one ("mail loops back to myself" when
 * nothing is left), as RFC 5321 5.1 and Postfix do. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "dyn.h"
#include "smtp.h"


struct mxname {
	char name[NS_MAXDNAME];
	int pref;
};

static int want(const struct conf *c, int family)
{
	if (!strcmp(c->inet_protocols, "ipv4"))
		return family == AF_INET;
	if (!strcmp(c->inet_protocols, "ipv6"))
		return family == AF_INET6;
	return 1;
}

static void why_set(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(why, len, fmt, ap) < 0 && len)
		why[0] = '\0';
	va_end(ap);
}

/* libresolv's parser, loaded by mx_route before any lookup (dyn.h) */
static const struct dyn_resolv *rv;

/* One query: answer length, 0 no data, -1 host not found, -2 try again. */
static int query(const char *name, int type, unsigned char *ans, size_t len)
{
	int n;

	h_errno = 0;
	n = res_query(name, ns_c_in, type, ans, (int)len);
	if (n >= 0)
		return n > (int)len ? (int)len : n;
	if (h_errno == HOST_NOT_FOUND)
		return -1;
	if (h_errno == NO_DATA)
		return 0;
	return -2;
}

static int add_addr(struct mx_route *r, const char *host, int pref, int family, const void *a, int port)
{
	struct mx_addr *m;

	if (r->n >= MX_ADDRS_MAX)
		return 0;
	m = &r->v[r->n];
	memset(m, 0, sizeof *m);
	str_copyz(m->host, sizeof m->host, host);
	m->pref = pref;
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&m->sa;
		s->sin_family = AF_INET;
		s->sin_port = htons((unsigned short)port);
		memcpy(&s->sin_addr, a, 4);
		m->salen = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&m->sa;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons((unsigned short)port);
		memcpy(&s->sin6_addr, a, 16);
		m->salen = sizeof *s;
	}
	if (!inet_ntop(family, a, m->ip, sizeof m->ip))
		return -1;
	r->n++;
	return 1;
}

/* A and AAAA of host: 1 some, 0 none, -1 not found, -2 temporary. */
static int host_addrs(const struct conf *c, const char *host, int pref, int port, struct mx_route *r)
{
	static unsigned char ans[MX_ANSWER_MAX];
	static const int types[2] = { ns_t_a, ns_t_aaaa };
	int t, found = 0, notfound = 0, temp = 0;

	for (t = 0; t < 2; t++) {
		int family = types[t] == ns_t_a ? AF_INET : AF_INET6, n, i;
		ns_msg msg;
		if (!want(c, family))
			continue;
		n = query(host, types[t], ans, sizeof ans);
		if (n == -1)
			notfound = 1;
		if (n == -2)
			temp = 1;
		if (n <= 0 || rv->initparse(ans, n, &msg) < 0)
			continue;
		for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
			ns_rr rr;
			if (rv->parserr(&msg, ns_s_an, i, &rr) < 0)
				break;
			if ((int)ns_rr_type(rr) != types[t] || ns_rr_rdlen(rr) != (family == AF_INET ? 4 : 16))
				continue;
			if (add_addr(r, host, pref, family, ns_rr_rdata(rr), port) > 0)
				found = 1;
		}
	}
	if (found)
		return 1;
	return temp ? -2 : notfound ? -1 : 0;
}

/* Is this address one of our interfaces' (a loop)? */
static int is_self_addr(const struct mx_addr *m)
{
	struct ifaddrs *ifa, *i;
	int self = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !self; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != m->sa.ss_family)
			continue;
		if (m->sa.ss_family == AF_INET)
			self = !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				       &((const struct sockaddr_in *)&m->sa)->sin_addr, 4);
		else
			self = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				       &((const struct sockaddr_in6 *)&m->sa)->sin6_addr, 16);
	}
	freeifaddrs(ifa);
	return self;
}

static int pref_cmp(const void *a, const void *b)
{
	const struct mxname *x = a, *y = b;

	return x->pref - y->pref;
}

/* Splits "[host]:port", "host:port", "host".  1 bracketed, 0 not, -1 bad. */
static int parse_nexthop(const char *nh, char *host, size_t hlen, int *port_r)
{
	const char *p = nh, *end;
	int br = 0;

	*port_r = 25;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return -1;
		br = 1;
		if (str_copy(host, hlen, p + 1, (size_t)(end - p - 1)) < 0)
			return -1;
		p = end + 1;
	} else {
		end = strchr(p, ':');
		if (str_copy(host, hlen, p, end ? (size_t)(end - p) : strlen(p)) < 0)
			return -1;
		p = end ? end : p + strlen(p);
	}
	if (*p == ':') {
		char *e;
		long v = strtol(p + 1, &e, 10);
		if (*e || v <= 0 || v > 65535)
			return -1;
		*port_r = (int)v;
	} else if (*p) {
		return -1;
	}
	return host[0] ? br : -1;
}

/* [1.2.3.4] or [IPv6:...] (or a bare address in brackets): 1 added, 0 not
 * an address, -1 an address of a family inet_protocols leaves out. */
static int literal(const struct conf *c, const char *host, int port, struct mx_route *r)
{
	unsigned char a[16];
	const char *h = host;

	if (!strncasecmp(h, "IPv6:", 5))
		h += 5;
	if (inet_pton(AF_INET, h, a) == 1)
		return want(c, AF_INET) ? add_addr(r, host, 0, AF_INET, a, port) : -1;
	if (inet_pton(AF_INET6, h, a) == 1)
		return want(c, AF_INET6) ? add_addr(r, host, 0, AF_INET6, a, port) : -1;
	return 0;
}

static void shuffle_equals(struct mxname *v, size_t n)
{
	size_t i = 0, j, k;

	while (i < n) {
		for (j = i + 1; j < n && v[j].pref == v[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t x = i + (size_t)random() % (k - i + 1);
			struct mxname t = v[k];
			v[k] = v[x];
			v[x] = t;
		}
		i = j;
	}
}

int mx_route(const struct conf *c, const char *nexthop, struct mx_route *r, char *why, size_t whylen)
{
	static unsigned char ans[MX_ANSWER_MAX];
	static struct mxname names[MX_HOSTS_MAX];
	static int seeded;
	char host[NS_MAXDNAME];
	size_t nn = 0, i;
	int port, br, n, k, temp = 0, selfpref = -1;
	ns_msg msg;

	memset(r, 0, sizeof *r);
	if (!rv && !(rv = dyn_resolv())) {
		why_set(why, whylen, "4.3.0 cannot load the resolver: %s", dyn_error());
		return MX_TEMP;
	}
	if (!seeded++)
		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	br = parse_nexthop(nexthop, host, sizeof host, &port);
	if (br < 0) {
		/* a configuration error (relayhost): keep the mail */
		why_set(why, whylen, "4.3.5 bad next hop %s (relayhost?)", nexthop);
		return MX_TEMP;
	}
	r->port = port;
	k = literal(c, host, port, r);
	if (k > 0)
		return 0;
	if (k < 0) {
		/* as Postfix: a configuration matter (relayhost), keep the mail */
		why_set(why, whylen, "4.4.4 no usable address for %s (inet_protocols = %s)", host,
			c->inet_protocols);
		return MX_TEMP;
	}
	if (br) {
		k = host_addrs(c, host, 0, port, r);
		goto addrs;
	}
	n = query(host, ns_t_mx, ans, sizeof ans);
	if (n == -1) {
		why_set(why, whylen, "5.1.2 Host or domain name not found. Name service error for name=%s type=MX: %s",
			host, "Host not found");
		return MX_PERM;
	}
	if (n == -2) {
		why_set(why, whylen, "4.4.3 Host or domain name not found. Name service error for name=%s type=MX: %s",
			host, "Host not found, try again");
		return MX_TEMP;
	}
	if (n > 0 && rv->initparse(ans, n, &msg) == 0) {
		for (k = 0; k < ns_msg_count(msg, ns_s_an) && nn < MX_HOSTS_MAX; k++) {
			ns_rr rr;
			const unsigned char *d;
			if (rv->parserr(&msg, ns_s_an, k, &rr) < 0)
				break;
			if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
				continue;
			d = ns_rr_rdata(rr);
			names[nn].pref = (d[0] << 8) | d[1];
			if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), d + 2, names[nn].name,
				      sizeof names[nn].name) < 0)
				continue;
			nn++;
		}
	}
	if (nn == 0) {
		/* RFC 5321 5.1: no MX, the domain itself is the host */
		k = host_addrs(c, host, 0, port, r);
		goto addrs;
	}
	/* RFC 7505: a single MX "." says the domain takes no mail */
	if (nn == 1 && names[0].name[0] == '\0') {
		why_set(why, whylen, "5.1.10 Domain %s does not accept mail (nullMX)%s", host, "");
		return MX_PERM;
	}
	qsort(names, nn, sizeof names[0], pref_cmp);
	shuffle_equals(names, nn);
	for (i = 0; i < nn; i++) {
		size_t first = r->n, j;
		if (selfpref >= 0 && names[i].pref >= selfpref)
			break;
		if (!names[i].name[0])
			continue;
		if (!strcasecmp(names[i].name, c->myhostname)) {
			selfpref = names[i].pref;
			break;
		}
		k = host_addrs(c, names[i].name, names[i].pref, port, r);
		if (k == -2)
			temp = 1;
		/* one of ours: this MX and all worse ones go (RFC 5321 5.1) */
		for (j = first; j < r->n && port == 25; j++)
			if (is_self_addr(&r->v[j])) {
				selfpref = names[i].pref;
				r->n = first;
				break;
			}
	}
	if (r->n > 0)
		return 0;
	if (selfpref >= 0) {
		why_set(why, whylen, "5.4.6 mail for %s loops back to myself%s", host, "");
		return MX_PERM;
	}
	if (temp) {
		why_set(why, whylen, "4.4.3 cannot find the address of the MX hosts of %s", host);
		return MX_TEMP;
	}
	why_set(why, whylen, "4.4.4 no address found for the MX hosts of %s", host);
	return MX_TEMP;
addrs:
	if (k > 0)
		return 0;
	if (k == -1) {
		why_set(why, whylen, "5.1.2 Host or domain name not found. Name service error for name=%s type=A: %s",
			host, "Host not found");
		return MX_PERM;
	}
	if (k == -2) {
		why_set(why, whylen, "4.4.3 Host or domain name not found. Name service error for name=%s type=A: %s",
			host, "Host not found, try again");
		return MX_TEMP;
	}
	why_set(why, whylen, "5.1.2 no address for %s", host);
	return MX_PERM;
}
