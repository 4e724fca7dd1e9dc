/* /etc/facteur.conf: `key = value` lines, `#` comments, Postfix/Dovecot key
 * names so the lab's settings map one to one.  No file at all: defaults.
 * Any unknown key, malformed value or unreadable file is an error that names
 * the file and line. */
#ifndef FACTEUR_CONF_H
#define FACTEUR_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "net.h"

#define CONF_DEFAULT_PATH "/etc/facteur.conf"
/* smtpd_forbid_bare_newline values (Postfix 3.9 meanings) */
#define CONF_BARELF_NO 0       /* a bare LF ends a line */
#define CONF_BARELF_NORMAL 1   /* ... but DATA ends only on CRLF.CRLF */
#define CONF_BARELF_STRICT 2   /* a bare LF ends the session (521) */

/* tls_security_level (Postfix's names) */
#define CONF_TLS_NONE 0     /* no STARTTLS offered, no implicit TLS */
#define CONF_TLS_MAY 1      /* offered; plaintext login only from trusted networks */
#define CONF_TLS_ENCRYPT 2  /* login and mail only after TLS (local sessions excepted) */

struct conf {
	char myhostname[CONF_NAME_MAX];     /* default: gethostname(), FQDN if known */
	char mydomain[CONF_NAME_MAX];       /* default: myhostname minus first label */
	char myorigin[CONF_NAME_MAX];       /* domain for unqualified senders; default $myhostname */
	/* comma/space separated, $myhostname and $mydomain expanded, lower-cased;
	 * default "$myhostname, localhost.$mydomain, localhost" (Postfix) */
	char mydestination[CONF_LIST_MAX];
	struct netlist mynetworks;          /* default 127.0.0.0/8 [::1]/128 */
	struct netlist login_trusted_networks; /* loopback and local always trusted */
	uint64_t message_size_limit;        /* default 10240000 */
	char mail_spool_directory[PATH_MAX];/* default /var/mail */
	char mail_folders[PATH_MAX];        /* default ~/mail (a leading ~/ = home) */
	char mail_index_directory[PATH_MAX]; /* default ~/.libmbox/index; "" = no index */
	char alias_maps[PATH_MAX];          /* default /etc/aliases; "hash:" etc. stripped; "" = none */
	char auth[PATH_MAX];                /* "pam" (default) or "passwd-file:PATH" */
	char log[PATH_MAX];                 /* "syslog" (default) or a file path */
	char queue_directory[PATH_MAX];     /* default /var/spool/facteur */
	char default_privs[CONF_NAME_MAX];  /* unprivileged user for parsing; default nobody */
	char empty_directory[PATH_MAX];     /* chroot for pre-auth children; default /var/empty */
	/* group of the spool (Debian: /var/mail root:mail 2775), kept as the
	 * saved gid after login and worn only around dotlock and mailbox
	 * creation (Dovecot's key); default mail, "" = none */
	char mail_privileged_group[CONF_NAME_MAX];
	char pam_service[CONF_NAME_MAX];    /* default facteur */
	char sendmail_path[PATH_MAX];       /* injector, for bounces and tests; default PREFIX/libexec/facteur/sendmail */
	unsigned smtpd_timeout;             /* seconds, default 300 */
	/* Postfix smtpd_forbid_bare_newline: CONF_BARELF_*, default normal */
	int smtpd_forbid_bare_newline;
	/* smtpd_forbid_bare_newline_exclusions; default $mynetworks
	 * (bare_newline_excl_mynetworks set) */
	struct netlist bare_newline_exclusions;
	int bare_newline_excl_mynetworks;
	unsigned pop3_timeout;              /* seconds, default 600 */
	unsigned imap_timeout;              /* seconds, default 1800 */
	unsigned lock_timeout;              /* seconds; 0 = per-protocol default of bounds.h */
	unsigned auth_failure_delay;        /* milliseconds, default 2000 (Dovecot: 2 s) */
	/* TLS by stunnel (lib/tls.h); Postfix smtpd_tls_*, Dovecot ssl_* */
	char tls_cert_file[PATH_MAX];       /* default Debian's snakeoil certificate */
	char tls_key_file[PATH_MAX];        /* default Debian's snakeoil key */
	int tls_security_level;             /* CONF_TLS_*, default may */
	char stunnel_path[PATH_MAX];        /* default /usr/bin/stunnel4 */
	int smtpd_sasl_auth_enable;         /* SMTP AUTH on port 25; default no (Postfix) */
	/* outbound SMTP (issue 12), Postfix's names and defaults */
	char relayhost[CONF_NAME_MAX];      /* "" (MX lookup), host, [host], [host]:port */
	char smtp_helo_name[CONF_NAME_MAX]; /* default $myhostname */
	char inet_protocols[16];            /* ipv4, ipv6, all (default) */
	char smtp_bind_address[64];         /* source address of connections; "" any */
	unsigned smtp_connect_timeout;      /* 30 s */
	unsigned smtp_helo_timeout;         /* 300 s: greeting and EHLO/HELO */
	unsigned smtp_mail_timeout;         /* 300 s */
	unsigned smtp_rcpt_timeout;         /* 300 s */
	unsigned smtp_data_init_timeout;    /* 120 s: DATA's 354 */
	unsigned smtp_data_xfer_timeout;    /* 180 s: each write of the message */
	unsigned smtp_data_done_timeout;    /* 600 s: the reply to the final dot */
	unsigned smtp_quit_timeout;         /* 300 s (we wait at most 5 s) */
	unsigned minimal_backoff_time;      /* 300 s */
	unsigned maximal_backoff_time;      /* 4000 s */
	unsigned maximal_queue_lifetime;    /* 5 d */
	unsigned delay_warning_time;        /* 0 = no warning */
	unsigned default_process_limit;     /* 100: relay agents of a queue run at once */
	unsigned smtp_destination_concurrency_limit; /* 20: of them, to one next hop */
	char path[PATH_MAX];                /* the file read, "" when none */
};

/* conf.c */
/* Fills in every default. */
void conf_defaults(struct conf *c);
/* The same for a struct still all zero (static storage, as the servers'):
 * no memset of its 60 KB, so the pages of the fields left empty are never
 * touched (a page fault each at every exec). */
void conf_defaults_zeroed(struct conf *c);
/* Loads path over the defaults.  path == NULL means CONF_DEFAULT_PATH, and
 * then a missing file is fine; an explicit path must exist.  On error writes
 * "FILE:LINE: reason" into err and returns -1. */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Sets one key from text, as a config line would (for tests and -o). */
int conf_set(struct conf *c, const char *key, const char *value, char *err, size_t errlen);
/* Is domain (not NUL-terminated) one of mydestination?  Case-insensitive. */
int conf_is_local_domain(const struct conf *c, const char *dom, size_t len);
/* Expands mail_folders for a user: "~/mail" -> "/home/u/mail". */
int conf_folder_root(const struct conf *c, const char *home, char *out, size_t outlen);
/* Expands mail_index_directory for a user ("" when there is none). */
int conf_index_dir(const struct conf *c, const char *home, char *out, size_t outlen);
/* The spool mailbox path for a user name. */
int conf_spool_path(const struct conf *c, const char *user, char *out, size_t outlen);
/* The one mailbox-lock wait rule of the three servers: lock_timeout when
 * set, else the caller's protocol default (bounds.h); never more than
 * LOCK_TIMEOUT_MAX_MS.  Milliseconds. */
unsigned conf_lock_ms(const struct conf *c, unsigned default_ms);
/* Common option parsing: "-c FILE" anywhere in argv.  Returns the file or
 * NULL; leaves other arguments alone. */
const char *conf_argv_path(int argc, char **argv);
/* The smtpd_forbid_bare_newline mode for this client (NO when excluded). */
int conf_bare_newline(const struct conf *c, const struct peer *p);

#endif
