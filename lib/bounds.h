/* Every limit of facteur in one place, each with the reason for its value.
 * (Not named limits.h: that would shadow the system header.)
 * Config keys may lower some of them (never raise them past what is here). */
#ifndef FACTEUR_BOUNDS_H
#define FACTEUR_BOUNDS_H

/* --- SMTP (RFC 5321) --- */
/* 4.5.3.1.4 gives 512 octets for a command line, and 4.5.3.1.6 lets
 * extensions (DSN ORCPT, SMTPUTF8) make it longer; Postfix accepts 2048
 * (line_length_limit).  Longer gets "500 5.5.6" and the session goes on. */
#define SMTP_CMD_MAX 2048
/* 4.5.3.1.6: a text line is 1000 octets with CRLF.  Longer lines in DATA
 * are accepted anyway (as Postfix does) and read in chunks of this size. */
#define SMTP_TEXT_CHUNK 65536
/* 4.5.3.1.8 demands at least 100 recipients; Postfix's default is 1000. */
#define SMTP_RCPT_MAX 1000
/* Postfix smtpd_hard_error_limit: after this many errors the session ends. */
#define SMTP_ERRORS_MAX 20
/* Commands in one session, a bound against endless NOOP/RSET loops. */
#define SMTP_COMMANDS_MAX 10000
/* 4.5.3.2.7: the server should wait 5 minutes for a command. */
#define SMTP_IDLE_SEC 300
/* 4.5.3.2.6: 10 minutes for the DATA termination. */
#define SMTP_DATA_IDLE_SEC 600
/* Postfix smtpd_min_data_rate: each byte of a DATA/BDAT body (or of an
 * IMAP command's literals) extends its deadline by 1/500 s, so a slow
 * client finishes and a trickling one ends. */
#define MIN_DATA_RATE 500
/* 4.5.3.1.3: a path is 256 octets; local part 64 (4.5.3.1.1), domain 255. */
#define SMTP_PATH_MAX 256
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
/* mbox-interop.md 7.3: total time to get a delivery lock. */
#define SMTP_LOCK_TIMEOUT_MS 60000

/* --- POP3 (RFC 1939, RFC 2449) --- */
/* RFC 2449 section 4: a command line is at most 255 octets with CRLF. */
#define POP3_CMD_MAX 255
/* RFC 1939 section 3: an argument is at most 40 characters. */
#define POP3_ARG_MAX 40
/* RFC 5034 section 4: SASL responses are not bound by the 255 rule. */
#define POP3_SASL_MAX 4096
/* RFC 1939 section 3: the autologout timer is at least 10 minutes. */
#define POP3_IDLE_SEC 600
/* Unknown or wrong-state commands before the server gives up. */
#define POP3_ERRORS_MAX 20
/* mbox-interop.md 7.3 */
#define POP3_LOCK_TIMEOUT_MS 20000

/* --- IMAP (RFC 3501, RFC 7162 section 4) --- */
/* RFC 7162 section 4 asks for at least 8192; Dovecot uses 64 KiB. */
#define IMAP_LINE_MAX 65536
/* RFC 3501 5.4: autologout no sooner than 30 minutes once logged in. */
#define IMAP_IDLE_SEC 1800
/* Before login a silent client is dropped sooner (Dovecot: 3 minutes). */
#define IMAP_PREAUTH_IDLE_SEC 180
#define IMAP_ERRORS_MAX 20
/* mbox-interop.md 7.3 */
#define IMAP_LOCK_TIMEOUT_MS 20000
/* RFC 2046 5.1.1 / Dovecot message-parser.h: MIME nesting and part count. */
#define MIME_DEPTH_MAX 100
#define MIME_PARTS_MAX 10000
/* An RFC 2231 parameter merged from continuations: a file name or charset
 * needs far less; the cap keeps a FETCH reply linear in the message. */
#define MIME_PARAM_VALUE_MAX 8192

/* --- authentication --- */
/* Login names and passwords; longer ones are refused before PAM sees them. */
#define AUTH_USER_MAX 255
#define AUTH_PASS_MAX 1024
/* Failed logins before the connection is closed. */
#define AUTH_FAILS_MAX 3
/* Address space of a child reading client input before login (and of
 * smtpd's session child): its buffers are a few 64 KiB lines; what is left
 * is for libc.  A parser bug that allocates without bound stops here. */
#define PREAUTH_MEM_MAX (256UL * 1024 * 1024)
/* Delay after each failed login (Dovecot auth_failure_delay is 2 s). */
#define AUTH_FAIL_DELAY_MS 2000

/* --- mailboxes and config --- */
/* message_size_limit default, the lab's value (Postfix's default too). */
#define DEFAULT_MESSAGE_SIZE_LIMIT 10240000
/* One config line. */
#define CONF_LINE_MAX 4096

#endif
