/* TLS by stunnel4 (the TLS code is not ours).  The root process that owns
 * the client socket starts stunnel in inetd mode with that socket on its
 * stdin/stdout; stunnel loads the key as root, drops to default_privs and
 * connects its plaintext side to a unix socket we listen on in a fresh 0700
 * directory; we accept that one connection (checking it comes from the
 * stunnel we started), remove the socket and put the connection on fds 0
 * and 1.  From then on the program reads and writes plaintext as before and
 * never holds the client socket again.  Used for implicit TLS (RFC 8314:
 * the program is started with -T) and for STARTTLS/STLS (RFC 3207, 2595,
 * 3501 6.2.1): the session's pre-auth child answers the go-ahead and ends,
 * discarding whatever the client pipelined; the root parent calls
 * tls_begin and starts a fresh child on the plaintext channel. */
#ifndef FACTEUR_TLS_H
#define FACTEUR_TLS_H

#include <stddef.h>
#include "conf.h"


/* tls.c */
/* May TLS be offered?  1 yes; 0 no, with the reason in why ("" when
 * tls_security_level is none): stunnel missing, certificate or key not
 * readable.  Opens the files to be sure, so call it as root. */
int tls_usable(const struct conf *c, char *why, size_t whylen);
/* tls_usable for a session with peer p: 0 when p is not a network
 * socket; logs the reason when TLS cannot be offered. */
struct peer;
int tls_offer(const struct conf *c, const struct peer *p);
/* Puts stunnel between the client (fd 0) and us, as above.  Before that it
 * pins the peer (net_pin_peer), so net_get_peer keeps answering the real
 * client address.  timeout_sec bounds the handshake.  0, or -1 (logged; the
 * session must end: the client socket may be half-way in a handshake). */
int tls_begin(const struct conf *c, unsigned timeout_sec);
/* May the client send a password in plaintext (LOGIN, USER/PASS, AUTH
 * PLAIN)?  Over TLS always; else never at tls_security_level encrypt
 * (local sessions excepted), and from login_trusted_networks at may or
 * none (Dovecot's disable_plaintext_auth). */
int tls_plaintext_ok(const struct conf *c, const struct peer *p, int tls);
/* The handshake deadline for a protocol idle timeout. */
unsigned tls_handshake_sec(unsigned idle_sec);
/* STARTTLS in smtpd: the session child hands the client socket to the
 * root parent over their unix socket (lib/fdpass.h, one byte).  0 or -1
 * with errno; recv returns the fd (close-on-exec) only if it is a stream
 * socket, -1 else. */
int tls_send_fd(int sock, int fd);
int tls_recv_fd(int sock);
/* The argument that tells a program it runs behind implicit TLS (from the
 * xinetd drop-in only): "-T" anywhere in argv. */
int tls_argv_implicit(int argc, char **argv);

#endif
