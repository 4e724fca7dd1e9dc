/* Who is on the other end of fd 0, and network lists. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"

/* Parses one address (v4, v6, v6 in brackets) into family/bytes. */
static int parse_addr(const char *s, size_t len, int *fam_r, unsigned char *addr_r)
{
	char tmp[64];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof tmp)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(addr_r, 0, 16);
	if (inet_pton(AF_INET, tmp, addr_r) == 1) {
		*fam_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, addr_r) == 1) {
		*fam_r = AF_INET6;
		return 0;
	}
	return -1;
}

static int parse_one(struct netmask *m, const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	uint32_t bits;
	unsigned max;

	/* Postfix writes [::1]/128: the bracket closes before the slash */
	if (parse_addr(s, alen, &m->family, m->addr) < 0)
		return -1;
	max = m->family == AF_INET ? 32 : 128;
	if (slash) {
		if (parse_u32(slash + 1, len - alen - 1, max, &bits) < 0)
			return -1;
		m->bits = bits;
	} else {
		m->bits = max;
	}
	return 0;
}

int net_parse_list(struct netlist *nl, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	nl->count = 0;
	while (*p) {
		size_t len;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " \t,");
		if (nl->count == NET_LIST_MAX) {
			snprintf(err, errlen, "more than %d networks", NET_LIST_MAX);
			return -1;
		}
		if (parse_one(&nl->nets[nl->count], p, len) < 0) {
			snprintf(err, errlen, "bad network \"%.*s\"", (int)(len > 60 ? 60 : len), p);
			return -1;
		}
		nl->count++;
		p += len;
	}
	return 0;
}

/* The peer as family + bytes; v4-mapped v6 addresses count as v4. */
static int peer_bytes(const struct peer *p, int *fam_r, unsigned char *addr_r)
{
	memset(addr_r, 0, 16);
	if (p->local)
		return -1;
	if (p->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&p->ss;
		*fam_r = AF_INET;
		memcpy(addr_r, &sin->sin_addr, 4);
		return 0;
	}
	if (p->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&p->ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			*fam_r = AF_INET;
			memcpy(addr_r, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			*fam_r = AF_INET6;
			memcpy(addr_r, &sin6->sin6_addr, 16);
		}
		return 0;
	}
	return -1;
}

static int mask_match(const struct netmask *m, int fam, const unsigned char *a)
{
	unsigned full = m->bits / 8, rest = m->bits % 8;

	if (m->family != fam)
		return 0;
	if (memcmp(m->addr, a, full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((m->addr[full] & mask) != (a[full] & mask))
			return 0;
	}
	return 1;
}

int net_match(const struct netlist *nl, const struct peer *p)
{
	unsigned char a[16];
	int fam;
	size_t i;

	if (peer_bytes(p, &fam, a) < 0)
		return 0;
	for (i = 0; i < nl->count; i++)
		if (mask_match(&nl->nets[i], fam, a))
			return 1;
	return 0;
}

int net_is_loopback(const struct peer *p)
{
	unsigned char a[16];
	int fam;

	if (peer_bytes(p, &fam, a) < 0)
		return 0;
	if (fam == AF_INET)
		return a[0] == 127;
	return IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a);
}

int net_login_trusted(const struct netlist *trusted, const struct peer *p)
{
	return p->local || net_is_loopback(p) || net_match(trusted, p);
}

static void format_addr(const struct sockaddr_storage *ss, char *addr, size_t alen, char *port,
			size_t plen)
{
	unsigned pt = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, addr, (socklen_t)alen);
		pt = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, sin6->sin6_addr.s6_addr + 12, addr, (socklen_t)alen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, addr, (socklen_t)alen);
		pt = ntohs(sin6->sin6_port);
	} else {
		snprintf(addr, alen, "local");
	}
	snprintf(port, plen, "%u", pt);
}

/* The test hook: only for a non-socket fd 0, and only a valid address. */
static void test_peer(struct peer *p)
{
	const char *env = getenv("FACTEUR_TEST_PEER");
	int fam;
	unsigned char a[16];

	if (!env || parse_addr(env, strlen(env), &fam, a) < 0)
		return;
	memset(&p->ss, 0, sizeof p->ss);
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
	}
	p->local = 0;
	format_addr(&p->ss, p->addr, sizeof p->addr, p->port, sizeof p->port);
}

static struct peer pinned;
static int have_pinned;

void net_pin_peer(const struct peer *p)
{
	pinned = *p;
	have_pinned = 1;
}

void net_get_peer(struct peer *p)
{
	socklen_t len = sizeof p->ss;
	struct sockaddr_storage me;
	socklen_t mlen = sizeof me;
	int type;
	socklen_t tlen = sizeof type;

	if (have_pinned) {
		*p = pinned;
		return;
	}
	memset(p, 0, sizeof *p);
	p->local = 1;
	snprintf(p->addr, sizeof p->addr, "local");
	snprintf(p->local_addr, sizeof p->local_addr, "local");
	/* fail closed: only a descriptor that is no socket at all (a pipe, a
	 * terminal: a user of this machine) is local; a socket whose peer
	 * cannot be told (ENOTCONN after a reset, EINVAL) or a UNIX socket is
	 * an unknown client, trusted for nothing */
	if (getpeername(0, (struct sockaddr *)&p->ss, &len) < 0) {
		if (errno == ENOTSOCK) {
			test_peer(p);
			return;
		}
		p->is_socket = 1;
		p->local = 0;
		snprintf(p->addr, sizeof p->addr, "unknown");
		return;
	}
	p->is_socket = 1;
	if (p->ss.ss_family != AF_INET && p->ss.ss_family != AF_INET6) {
		p->local = 0;
		snprintf(p->addr, sizeof p->addr, "unknown");
		return;
	}
	p->local = 0;
	format_addr(&p->ss, p->addr, sizeof p->addr, p->port, sizeof p->port);
	if (getsockname(0, (struct sockaddr *)&me, &mlen) == 0) {
		char port[8];
		format_addr(&me, p->local_addr, sizeof p->local_addr, port, sizeof port);
	}
	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM) {
		int one = 1;
		/* a peer server loses 40 ms per reply to Nagle + delayed ACK */
		p->is_tcp = 1;
		setsockopt(0, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
}
