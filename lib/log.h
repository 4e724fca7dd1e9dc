/* Logging: syslog (facility mail) or a file (tests), never stderr, which
 * under xinetd is the client's socket.  Every line carries the program name
 * and a per-connection id so one session can be grepped out. */
#ifndef FACTEUR_LOG_H
#define FACTEUR_LOG_H

#include <stdarg.h>
#include <syslog.h>

/* log.c */
/* dest: "syslog" or a file path (opened O_APPEND; falls back to syslog if it
 * cannot be opened).  ident: "smtpd", "pop3d"... Makes a new connection id. */
void log_open(const char *ident, const char *dest);
/* Before closing every descriptor (a detached child): glibc closes its
 * syslog socket itself, else it would later close, as its socket, whatever
 * file has taken that number (a runner's lock).  log_open again after. */
void log_close(void);
/* A new id after fork when one process serves several sessions (not needed
 * under xinetd). */
void log_new_id(void);
const char *log_id(void);
/* The descriptor the log writes to (the file, or the syslog socket as
 * opened by log_open), -1 if none is known; a hint: glibc may reconnect its
 * socket elsewhere, so check it (priv_is_log_sink) before relying on it. */
int log_sink_fd(void);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A line in Postfix's or Dovecot's shape, without the "ID: " prefix, for
 * the tools that parse theirs (fail2ban's postfix and dovecot filters):
 * the caller puts log_id() in the line itself (session=<ID>). */
void log_msg_shaped(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Session transcript (when log_debug is on): dir '<' from client, '>' to
 * client; bytes made printable. */
void log_trace(char dir, const char *p, unsigned long n);
extern int log_debug;

#endif
