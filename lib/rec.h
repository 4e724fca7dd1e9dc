/* Typed records between a process and its privileged parent (pop3d/imapd
 * pre-auth child -> root parent, smtpd session child -> root parent, and
 * sendmail's maildrop files): a type byte, a 4-byte big-endian length, the
 * payload.  Nothing to tokenise, every length explicit (qmail-queue's
 * "don't parse", OpenSMTPD's imsg).  Each user names its own types; a
 * reader states the largest payload it accepts. */
#ifndef FACTEUR_REC_H
#define FACTEUR_REC_H

#include <stddef.h>
#include "bounds.h"

#define REC_HDR 5

/* rec.c */
/* Writes one record (small ones in one write).  0, or -1 (EMSGSIZE over
 * REC_LEN_MAX, or the write's errno). */
int rec_put(int fd, int type, const void *p, size_t n);
/* Reads a header: 1 read, 0 clean EOF, -1 error, a truncated header or a
 * length over max (EMSGSIZE). */
int rec_get_hdr(int fd, int *type_r, size_t *len_r, size_t max);
/* Reads exactly n bytes: 1, 0 EOF before any byte, -1 error or EOF after
 * some (EPIPE). */
int rec_read_full(int fd, void *p, size_t n);
/* A whole record into buf (payload at most max): 1, 0 clean EOF before a
 * record, -1 error or bad record. */
int rec_get(int fd, int *type_r, void *buf, size_t max, size_t *len_r);

#endif
