/* Passing one descriptor between our own processes over a unix socket
 * (SCM_RIGHTS): smtpd's session child hands the client socket to its root
 * parent for STARTTLS, the relay runner hands each agent a read-only queue
 * file.  A stream socket carries a descriptor only together with data, so
 * it travels with a few bytes of payload, of a length both sides state. */
#ifndef FACTEUR_FDPASS_H
#define FACTEUR_FDPASS_H

#include <stddef.h>

/* fdpass.c */
/* Sends fd with the n bytes at p (n >= 1) in one sendmsg (MSG_NOSIGNAL,
 * EINTR retried).  0, or -1 with errno: EINVAL for n == 0, EMSGSIZE when
 * only part of the bytes went, else sendmsg's. */
int fdpass_send(int sock, int fd, const void *p, size_t n);
/* Receives what fdpass_send sent: exactly n bytes into p and exactly one
 * descriptor (SOL_SOCKET/SCM_RIGHTS), opened close-on-exec.  The fd, or -1
 * with errno: EPIPE at EOF, EPROTO when no descriptor came, or more than
 * one, or other control data, or it was truncated (MSG_CTRUNC), or fewer
 * than n bytes; else recvmsg's.  On -1 every descriptor that did arrive is
 * closed. */
int fdpass_recv(int sock, void *p, size_t n);

#endif
