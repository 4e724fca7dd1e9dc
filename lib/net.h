/* The peer's address and network lists (mynetworks, login_trusted_networks). */
#ifndef FACTEUR_NET_H
#define FACTEUR_NET_H

#include <stddef.h>
#include "bounds.h"
#include <sys/socket.h>
#include <netinet/in.h>


struct netmask {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network bytes */
	unsigned bits;          /* prefix length */
};

struct netlist {
	size_t count;
	struct netmask nets[NET_LIST_MAX];
};

struct peer {
	int is_socket;          /* fd 0 is a socket */
	int is_tcp;             /* ... and a TCP one (TCP_NODELAY was set) */
	int local;              /* not a network peer: a pipe, a terminal */
	struct sockaddr_storage ss;
	char addr[64];          /* "127.0.0.1", "::1" or "local" */
	char port[8];
	char local_addr[64];    /* our side, for Received headers */
};

/* net.c */
/* Parses "127.0.0.0/8, [::1]/128 192.168.0.0/24" (Postfix forms; a bare
 * address is /32 or /128).  -1 with a reason in err. */
int net_parse_list(struct netlist *nl, const char *text, char *err, size_t errlen);
/* Does the peer fall in the list?  A local (non-socket) peer never does;
 * callers decide what local means. */
int net_match(const struct netlist *nl, const struct peer *p);
/* Loopback address (127/8, ::1, ::ffff:127.x)? */
int net_is_loopback(const struct peer *p);
/* Plaintext login allowed: local, loopback, or in login_trusted_networks. */
int net_login_trusted(const struct netlist *trusted, const struct peer *p);
/* Fills p from getpeername(0).  When fd 0 is not a socket the session is
 * local, unless the environment has FACTEUR_TEST_PEER=ADDR (a test hook
 * honoured only then, never over a real socket peer).  A socket without an
 * IPv4/IPv6 peer (UNIX, or getpeername failing) is "unknown", not local.
 * Sets TCP_NODELAY on a TCP socket.  Never fails. */
void net_get_peer(struct peer *p);
/* From now on net_get_peer returns a copy of p: for a session whose fds
 * 0/1 became the plaintext side of stunnel (lib/tls.h), a unix socket that
 * must not make the client look local. */
void net_pin_peer(const struct peer *p);

#endif
