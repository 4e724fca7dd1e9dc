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
/* An address as stored: SMTP_PATH_MAX octets plus room for SMTPUTF8. */
#define SMTP_ADDR_MAX (SMTP_PATH_MAX + 1)
/* ORCPT and ENVID values (RFC 3461 4.2 and 4.4: 500 and 100 octets). */
#define SMTP_XTEXT_MAX 501
/* A record between smtpd's child and parent (and in a maildrop file): a
 * DATA chunk plus room for its framing. */
#define SMTP_REC_MAX (SMTP_TEXT_CHUNK + 1024)
/* Alias nesting (Postfix: 1000 expansions, nesting a few levels). */
#define ALIAS_DEPTH_MAX 8
/* Recipients an alias may expand to. */
#define ALIAS_TARGETS_MAX 1000
/* Largest alias file read (it is read whole). */
#define ALIAS_FILE_MAX (4 * 1024 * 1024)
/* Expansions of one message, all recipients together. */
#define RCPT_EXPANDED_MAX (SMTP_RCPT_MAX * 4)
/* The envelope of a queue file: RCPT_EXPANDED_MAX lines of about 1.5 KiB. */
#define Q_ENV_MAX (16 * 1024 * 1024)
/* queue/tmp files of dead writers are removed once unchanged this long. */
#define QUEUE_TMP_STALE_SEC 600
/* A maildrop file that cannot be queued now is retried for a day. */
#define PICKUP_KEEP_SEC (24 * 3600)
/* run.request: past this its forcing lines are replaced by "force all". */
#define RUN_REQUEST_MAX 8192
/* Forcing texts (ETRN domains, -qR/-qS) a run keeps; past it, all. */
#define RETRY_FORCE_MAX 16
/* Deferred remote recipients of one queue file with a retry schedule. */
#define RETRY_MAX 4096
/* queue_directory/defer/ID: one "INDEX TIME" line of < 32 bytes each. */
#define RETRY_FILE_MAX (RETRY_MAX * 32)
/* Queue files one delivery child appends to one mailbox under one lock:
 * a bound on the lock's hold time and on the descriptors it keeps. */
#define DELIVER_GROUP_MAX 64
/* After a session, the mailbox lock is waited for this long only; a
 * mailbox held longer is left to the queue runner's full lock_timeout. */
#define SMTP_QUICK_LOCK_MS 2000
/* smtpd: queue ids a session holds for delivery after it; a session that
 * goes on or idles this long hands them to the worker. */
#define RECV_PEND_MAX 16
#define RECV_PEND_WAIT_MS 200

/* --- outbound SMTP --- */
/* MX hosts and addresses tried per next hop: more than any real domain
 * needs, and a hostile DNS answer cannot make a delivery try more. */
#define MX_HOSTS_MAX 16
#define MX_ADDRS_MAX 32
/* A DNS answer: they are small here; TCP fallback gives at most this. */
#define MX_ANSWER_MAX 65536
/* The text of a remote reply kept for the log, mailq and a DSN. */
#define CLIENT_TEXT_MAX 400
/* Recipients per transaction (Postfix smtp_destination_recipient_limit). */
#define CLIENT_RCPT_MAX 50
/* A remote's reply line (RFC 5321 4.5.3.1.5 gives 512 octets; longer ones
 * are cut) and the lines of one reply (a hostile server cannot make us
 * read for ever). */
#define CLIENT_REPLY_LINE_MAX 2048
#define CLIENT_REPLY_LINES_MAX 200
/* Connections the relay agent keeps open across a pass, and how long. */
#define RELAY_CACHE_MAX 8
#define RELAY_CACHE_IDLE_MS 60000
/* default_process_limit and smtp_destination_concurrency_limit: at most */
#define CONF_COUNT_MAX 1000
/* relay jobs waiting for an agent (each holds its queue file open) before
 * the runner stops reading the queue and waits for results */
#define RELAY_WAIT_MAX 256

/* --- POP3 (RFC 1939, RFC 2449) --- */
/* RFC 2449 section 4: a command line is at most 255 octets with CRLF. */
#define POP3_CMD_MAX 255
/* RFC 1939 section 3: an argument is at most 40 characters. */
#define POP3_ARG_MAX 40
/* RFC 5034 section 4: SASL responses are not bound by the 255 rule; a
 * POP3 line (command or SASL response) is read into SASL_LINE_MAX. */
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
/* Literals in one command (APPEND of many messages, MULTIAPPEND). */
#define IMAP_SEGMENTS_MAX 1000
/* Before login a literal can only be a user name or a password. */
#define IMAP_PREAUTH_LITERAL_MAX (AUTH_USER_MAX + AUTH_PASS_MAX + 1024)
/* Ranges of one sequence set (a client lists UIDs one by one at worst). */
#define IMAP_SEQ_RANGES_MAX 100000
/* FETCH items in one command, header field names in one section, and
 * the depth of a section part path (BODY[1.2.3...]; MIME_DEPTH_MAX is
 * 100, but no client asks for more than a few levels). */
#define IMAP_FETCH_ATTS_MAX 64
#define IMAP_FETCH_FIELDS_MAX 256
#define IMAP_SECTION_PATH_MAX 64
/* Keywords in one flag list of STORE or APPEND (a mailbox has at most
 * MBOX_KW_MAX of them). */
#define IMAP_FLAGLIST_KW_MAX 64
/* A mailbox name (a path under mail_folders; Linux allows 255 octets per
 * level, clients use far less). */
#define IMAP_NAME_MAX 512
/* LIST patterns in one command (RFC 5258 allows several). */
#define IMAP_LIST_PATTERNS_MAX 16
/* SEARCH: nodes of the search key tree, and its nesting (parentheses,
 * NOT, OR), so a query costs a bounded amount per message. */
#define SEARCH_NODES_MAX 512
#define SEARCH_DEPTH_MAX 64
/* Messages served per read lock in long commands (FETCH 1:*): writers
 * get the lock between chunks. */
#define IMAP_READ_CHUNK 512
/* IDLE looks at the mailbox this often (no inotify on every file system). */
#define IMAP_IDLE_POLL_MS 2000
/* MULTIAPPEND: messages in one APPEND (one transaction, held in memory
 * as literals up to message_size_limit each); CATENATE: parts of one. */
#define IMAP_MULTIAPPEND_MAX 1000
#define IMAP_CATENATE_PARTS_MAX 256
/* SORT keys in one command; RETURN (UPDATE) searches kept per session
 * (each re-run after every change, RFC 5267 4.3). */
#define IMAP_SORT_KEYS_MAX 16
#define IMAP_UPDATES_MAX 16
/* Message ids kept from one References: field (THREAD REFERENCES). */
#define IMAP_REFS_MAX 1024
/* Bytes read of ~/mail/.imap/special-use (CREATE-SPECIAL-USE state). */
#define IMAP_SPECIAL_USE_FILE_MAX (256 * 1024)
/* Parameters kept per Content-Type/Disposition field; more are dropped. */
#define MIME_PARAMS_MAX 64
/* RFC 2046 5.1.1 allows 70 octets of boundary; broken mailers get more. */
#define MIME_BOUNDARY_MAX 200
/* Quoted strings this long or more go out as literals: clients cope and
 * no quoting corner case remains. */
#define IMAPSTR_QUOTED_MAX 1024
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
/* One SASL line, the same for the three servers: the base64 of
 * authzid NUL authcid NUL password at their limits is about 2 KiB. */
#define SASL_LINE_MAX 4096
/* A crypt(3) hash read from the passwd-file (they are under 200 bytes;
 * CRYPT_OUTPUT_SIZE is 384). */
#define AUTH_HASH_MAX 512
/* The longest TLS handshake (and stunnel's plaintext connection). */
#define TLS_HANDSHAKE_SEC 60

/* --- processes, buffers, records --- */
/* lib/io.h buffers: a line (and an IMAP command segment) is at most this. */
#define IO_INBUF 65536
#define IO_OUTBUF 65536
/* No record payload is larger: a 64 KiB chunk of client input plus its
 * framing (lib/rec.h). */
#define REC_LEN_MAX (65536 + 1024)
/* The context a pre-auth child is given (lib/priv.h). */
#define PRIV_CTX_MAX 1024

/* --- mailboxes --- */
/* Every mailbox lock wait, whatever lock_timeout says (Dovecot's
 * mbox_lock_timeout default is 5 minutes): conf_lock_ms() is the one rule. */
#define LOCK_TIMEOUT_MAX_MS 300000
/* mbox-interop.md 7.4: a dotlock is stale when its pid is dead and it is
 * this old (a), or when it is this old whatever it holds (b, liblockfile). */
#define LOCK_STALE_PID_SEC 5
#define LOCK_STALE_AGE_SEC 300
/* procmail breaks only dotlocks this small; we read no more of one. */
#define LOCK_CONTENT_MAX 16
/* Dotlock retries: a random back-off growing between these. */
#define LOCK_BACKOFF_MIN_MS 50
#define LOCK_BACKOFF_MAX_MS 2000
/* Kernel lock busy: poll it every 1..10 ms (a bounded wait on the first
 * lock only, mbox-interop.md 3): writers of one mailbox then follow each
 * other within milliseconds instead of sleeping the dotlock back-off. */
#define LOCK_KWAIT_MIN_MS 1
#define LOCK_KWAIT_MAX_MS 10
/* Our dotlock temporaries left by dead processes go after this long. */
#define LOCK_TEMP_STALE_SEC 60
/* A From_ line's sender longer than this becomes MAILER-DAEMON. */
#define MBOX_SENDER_MAX 998
/* A generated metadata block (X-IMAPbase, X-UID, Status, X-Keywords). */
#define MBOX_META_MAX 8192
/* Folders: nesting, how many are listed, the subscriptions file. */
#define FOLDER_DEPTH_MAX 32
#define FOLDER_COUNT_MAX 100000
#define FOLDER_SUBS_FILE_MAX (4 << 20)

/* --- config --- */
/* message_size_limit default, the lab's value (Postfix's default too). */
#define DEFAULT_MESSAGE_SIZE_LIMIT 10240000
/* One config line, one name (a host, a user), one list value. */
#define CONF_LINE_MAX 4096
#define CONF_NAME_MAX 256
#define CONF_LIST_MAX 4096
/* Networks in mynetworks / login_trusted_networks. */
#define NET_LIST_MAX 64

#endif
