/* sendmail: the injector that mail, mutt, cron and scripts call.
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-bs] [-bp] [-q] [--] [rcpt...]
 * -q runs the queue (deferred remote recipients whose retry time has come);
 * -qf every one now, -qR domain / -qS sender those that match now.
 * It reads the message on stdin, adds From:, Date: and Message-ID: when
 * absent, and hands smtpd's record stream (rec.c) to the queue: directly
 * when the caller may write queue_directory (root, tests, the demo), else
 * as a file in queue_directory/maildrop (mode 1733, like early Postfix),
 * then asks the local smtpd for a queue run with ETRN; when smtpd is not
 * running, the periodic `sendmail -q` picks it up.  Not setuid.
 * Exit codes from sysexits.h.  Also `mailq` (= -bp) by its name. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "smtp.h"

static struct conf conf;

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

struct opts {
	int t, i, bs, bp, q;
	const char *from, *fullname;
	char **rcpts;
	int nrcpts;
};

/* Options that take a value, attached or as the next argument. */
static const char *optval(int argc, char **argv, int *i, const char *a)
{
	if (a[2])
		return a + 2;
	if (*i + 1 >= argc)
		die(EX_USAGE, "option %s needs a value", a);
	return argv[++*i];
}

/* -qRdomain or -qR domain (issue 12) */
static const char *optval3(int argc, char **argv, int *i, const char *a)
{
	if (a[3])
		return a + 3;
	if (*i + 1 >= argc)
		die(EX_USAGE, "option %s needs a value", a);
	return argv[++*i];
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	const char *base = strrchr(argv[0], '/');
	int i;

	base = base ? base + 1 : argv[0];
	memset(o, 0, sizeof *o);
	if (!strcmp(base, "mailq"))
		o->bp = 1;
	if (!strcmp(base, "newaliases"))
		exit(0);                 /* the text aliases file is read directly */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "-t"))
			o->t = 1;
		else if (!strcmp(a, "-i") || !strcmp(a, "-oi"))
			o->i = 1;
		else if (!strcmp(a, "-bs"))
			o->bs = 1;
		else if (!strcmp(a, "-bp"))
			o->bp = 1;
		else if (!strcmp(a, "-bm") || !strcmp(a, "-v") || !strncmp(a, "-od", 3) ||
			 !strncmp(a, "-oe", 3) || !strcmp(a, "-om") || !strcmp(a, "-Am") || !strcmp(a, "-Ac"))
			;
		else if (!strcmp(a, "-qf"))
			o->q = 1, retry_force(1, NULL, NULL);   /* issue 12: Postfix's flush */
		else if (!strncmp(a, "-qR", 3))
			o->q = 1, retry_force(0, optval3(argc, argv, &i, a), NULL);
		else if (!strncmp(a, "-qS", 3))
			o->q = 1, retry_force(0, NULL, optval3(argc, argv, &i, a));
		else if (!strncmp(a, "-q", 2))
			o->q = 1;
		else if (a[1] == 'f' || a[1] == 'r')
			o->from = optval(argc, argv, &i, a);
		else if (a[1] == 'F')
			o->fullname = optval(argc, argv, &i, a);
		else if (a[1] == 'c' || a[1] == 'N' || a[1] == 'R' || a[1] == 'V' || a[1] == 'B' ||
			 a[1] == 'C' || a[1] == 'X' || a[1] == 'o')
			(void)optval(argc, argv, &i, a);   /* accepted, ignored (or -c: config) */
		else
			die(EX_USAGE, "unknown option %s", a);
	}
	o->rcpts = argv + i;
	o->nrcpts = argc - i;
}

/* The message: stdin up to EOF (or a "." line without -i), LF line ends. */
static void read_message(const struct opts *o, struct buf *m)
{
	char line[SMTP_TEXT_CHUNK];
	int bol = 1;

	while (fgets(line, sizeof line, stdin)) {
		size_t n = strlen(line);
		int full = n > 0 && line[n - 1] == '\n';
		if (full) {
			n--;
			if (n > 0 && line[n - 1] == '\r')
				n--;
		}
		if (bol && full && !o->i && n == 1 && line[0] == '.')
			break;
		if (buf_add(m, line, n) < 0 || (full && buf_addc(m, '\n') < 0))
			die(EX_OSERR, "out of memory");
		if (m->len > conf.message_size_limit)
			die(EX_DATAERR, "message too big (message_size_limit %llu)",
			    (unsigned long long)conf.message_size_limit);
		bol = full;
	}
	if (ferror(stdin))
		die(EX_IOERR, "reading the message: %s", strerror(errno));
}

/* Length of the header block (up to and including its empty line, or all). */
static size_t header_len(const struct buf *m)
{
	const char *p = m->s, *end = m->s + m->len;

	if (m->len && m->s[0] == '\n')
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return m->len;
		if (nl + 1 < end && nl[1] == '\n')
			return (size_t)(nl + 2 - m->s);
		p = nl + 1;
	}
	return m->len;
}

static int has_header(const char *h, size_t hl, const char *name)
{
	size_t n = strlen(name), i = 0;

	while (i < hl) {
		const char *nl = memchr(h + i, '\n', hl - i);
		size_t e = nl ? (size_t)(nl - h) : hl;
		if (e - i > n && str_iprefix(h + i, e - i, name) && h[i + n] == ':')
			return 1;
		i = e + 1;
	}
	return 0;
}

struct rlist {
	char **v;
	int n, cap;
};

static void radd(struct rlist *l, const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
		if (!l->v)
			die(EX_OSERR, "out of memory");
	}
	/* unqualified: @myorigin, as Postfix's append_at_myorigin */
	if (!memchr(p, '@', n)) {
		size_t k = n + 2 + strlen(conf.myorigin);
		l->v[l->n] = malloc(k);
		if (l->v[l->n] && snprintf(l->v[l->n], k, "%.*s@%s", (int)n, p, conf.myorigin) < 0)
			l->v[l->n][0] = '\0';
	} else
		l->v[l->n] = strndup(p, n);
	if (!l->v[l->n])
		die(EX_OSERR, "out of memory");
	l->n++;
}

/* One address list (RFC 5322 3.4), simply: comments dropped, <addr>
 * preferred over the display name, "group:" prefixes and ';' skipped. */
static void parse_addrs(const char *p, size_t n, struct rlist *l)
{
	char tok[1024];
	size_t i = 0, t = 0;
	int depth = 0, quoted = 0, angle = 0, got_angle = 0;

	for (i = 0; i <= n; i++) {
		char ch = i < n ? p[i] : ',';
		if (quoted) {
			if (ch == '"')
				quoted = 0;
			continue;
		}
		if (depth) {
			depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
			continue;
		}
		if (ch == '"' && !angle) {
			quoted = 1;
			continue;
		}
		if (ch == '(') {
			depth = 1;
			continue;
		}
		if (ch == '<') {
			angle = 1;
			got_angle = 1;
			t = 0;
			continue;
		}
		if (ch == '>') {
			angle = 0;
			continue;
		}
		if (ch == ':' && !angle && !got_angle) {
			t = 0;               /* a group name */
			continue;
		}
		if ((ch == ',' || ch == ';') && !angle) {
			radd(l, tok, t);
			t = 0;
			got_angle = 0;
			continue;
		}
		if (got_angle && !angle)
			continue;
		if ((ch == '\n' || ch == '\r') || (ch == ' ' && !angle && t == 0))
			continue;
		if (t < sizeof tok - 1)
			tok[t++] = ch;
	}
}

/* -t: addresses of To, Cc, Bcc; Bcc lines are removed from the headers. */
static void take_header_rcpts(struct buf *m, size_t *hl, struct rlist *l)
{
	size_t i = 0;

	while (i < *hl) {
		const char *h = m->s + i;
		size_t e = i, next;
		int bcc;
		/* the field with its continuation lines */
		for (;;) {
			const char *nl = memchr(m->s + e, '\n', *hl - e);
			e = nl ? (size_t)(nl - m->s) + 1 : *hl;
			if (e >= *hl || (m->s[e] != ' ' && m->s[e] != '\t'))
				break;
		}
		next = e;
		bcc = str_iprefix(h, e - i, "Bcc:");
		if (str_iprefix(h, e - i, "To:") || str_iprefix(h, e - i, "Cc:") || bcc) {
			const char *colon = memchr(h, ':', e - i);
			parse_addrs(colon + 1, (size_t)(m->s + e - colon - 1), l);
		}
		if (bcc) {
			memmove(m->s + i, m->s + e, m->len - e);
			m->len -= e - i;
			*hl -= e - i;
			next = i;
		}
		i = next;
	}
}

static void sender_name(const struct opts *o, char *out, size_t outlen, char *full, size_t fulllen)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw ? pw->pw_name : "unknown";

	full[0] = '\0';
	if (o->fullname)
		str_copyz(full, fulllen, o->fullname);
	else if (pw && pw->pw_gecos && pw->pw_gecos[0])
		str_copy(full, fulllen, pw->pw_gecos, strcspn(pw->pw_gecos, ","));
	if (o->from) {
		const char *f = o->from;
		size_t n = strlen(f);
		if (n >= 2 && f[0] == '<' && f[n - 1] == '>')
			f++, n -= 2;
		if (n && (n >= SMTP_ADDR_MAX || !addr_clean(f, n)))
			die(EX_USAGE, "bad sender address %s", o->from);
		if (n && !memchr(f, '@', n)) {
			if (snprintf(out, outlen, "%.*s@%s", (int)n, f, conf.myorigin) >= (int)outlen)
				die(EX_USAGE, "sender address too long");
		} else
			str_copy(out, outlen, f, n);
		return;
	}
	if (snprintf(out, outlen, "%s@%s", user, conf.myorigin) >= (int)outlen)
		die(EX_SOFTWARE, "sender address too long");
}

static void put(int fd, int type, const void *p, size_t n)
{
	if (rec_put(fd, type, p, n) < 0)
		die(EX_CANTCREAT, "writing the queue: %s", strerror(errno));
}

/* The record stream smtpd's child would send. */
static void write_records(int fd, const char *sender, struct rlist *r, const struct buf *m)
{
	char rec[2 + SMTP_ADDR_MAX];
	size_t off;
	int i;

	put(fd, REC_MAIL, sender, strlen(sender));
	put(fd, REC_MAILP, "--0", 3);
	for (i = 0; i < r->n; i++) {
		size_t n = strlen(r->v[i]);
		rec[0] = 0;
		memcpy(rec + 1, r->v[i], n + 1);
		put(fd, REC_RCPT, rec, n + 2);
	}
	for (off = 0; off < m->len; off += SMTP_TEXT_CHUNK)
		put(fd, REC_DATA, m->s + off, m->len - off > SMTP_TEXT_CHUNK ? SMTP_TEXT_CHUNK : m->len - off);
	put(fd, REC_END, NULL, 0);
}

/* Tells a running smtpd to run the queue now (ETRN); quiet if none. */
static void trigger(void)
{
	struct sockaddr_in sa;
	char buf[1024];
	struct pollfd pf;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), i;
	const char *cmds = "EHLO localhost\r\nETRN localhost\r\nQUIT\r\n";

	if (fd < 0)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(25);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    write(fd, cmds, strlen(cmds)) == (ssize_t)strlen(cmds)) {
		/* wait (bounded) for the replies so the ETRN is seen */
		pf.fd = fd;
		pf.events = POLLIN;
		for (i = 0; i < 20 && poll(&pf, 1, 500) > 0; i++)
			if (read(fd, buf, sizeof buf) <= 0)
				break;
	}
	close(fd);
}

static int queue_writable(void)
{
	char q[PATH_MAX];

	if (queue_mkdirs(&conf) < 0 && geteuid() == 0)
		die(EX_CANTCREAT, "%s: %s", conf.queue_directory, strerror(errno));
	if (geteuid() == 0)
		return 1;
	if (queue_path(&conf, NULL, q, sizeof q) < 0)
		return 0;
	return access(q, W_OK) == 0;
}

static void submit(const char *sender, struct rlist *r, const struct buf *m)
{
	char path[PATH_MAX], final[PATH_MAX];
	struct timeval tv;
	int fd, n;

	gettimeofday(&tv, NULL);
	if (queue_writable()) {
		struct recv_ctx x;
		struct peer peer;
		/* a private temp file holds the records, then the queue reads them */
		n = snprintf(path, sizeof path, "%s/tmp/s%ld.%ld", conf.queue_directory, (long)getpid(), (long)tv.tv_usec);
		if (n < 0 || (size_t)n >= sizeof path)
			die(EX_SOFTWARE, "queue_directory too long");
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			die(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		unlink(path);
		write_records(fd, sender, r, m);
		lseek(fd, 0, SEEK_SET);
		memset(&peer, 0, sizeof peer);
		peer.local = 1;
		str_copyz(peer.addr, sizeof peer.addr, "local");
		memset(&x, 0, sizeof x);
		x.c = &conf;
		x.peer = &peer;
		x.relay_ok = 1;
		x.local_uid = (long long)getuid();
		x.outfd = -1;
		if (receive_loop(&x, fd) < 0 || x.queued != 1)
			die(EX_TEMPFAIL, "cannot queue the message (see the mail log)");
		close(fd);
		runner_request(&conf);
		return;
	}
	n = snprintf(path, sizeof path, "%s/maildrop/t%ld.%ld", conf.queue_directory, (long)getpid(), (long)tv.tv_usec);
	if (n < 0 || (size_t)n >= sizeof path ||
	    snprintf(final, sizeof final, "%s/maildrop/m%ld.%ld.%ld", conf.queue_directory, (long)tv.tv_sec,
		     (long)tv.tv_usec, (long)getpid()) >= (int)sizeof final)
		die(EX_SOFTWARE, "queue_directory too long");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		die(EX_TEMPFAIL, "cannot write to %s/maildrop: %s", conf.queue_directory, strerror(errno));
	write_records(fd, sender, r, m);
	if (fsync(fd) < 0 || close(fd) < 0 || rename(path, final) < 0) {
		unlink(path);
		die(EX_TEMPFAIL, "maildrop: %s", strerror(errno));
	}
	trigger();
}

static void add_headers(const struct opts *o, const char *sender, struct buf *m)
{
	struct buf h;
	size_t hl = header_len(m);
	char full[256], date[64];
	struct timeval tv;
	struct tm tm;
	time_t now = time(NULL);
	int addfrom = !has_header(m->s, hl, "From"), adddate = !has_header(m->s, hl, "Date"),
	    addmid = !has_header(m->s, hl, "Message-ID");
	char dummy[SMTP_ADDR_MAX];

	if (!addfrom && !adddate && !addmid && hl > 0)
		return;
	buf_init(&h);
	sender_name(o, dummy, sizeof dummy, full, sizeof full);
	if (addfrom) {
		if (full[0])
			buf_printf(&h, "From: %s <%s>\n", full, sender[0] ? sender : dummy);
		else
			buf_printf(&h, "From: %s\n", sender[0] ? sender : dummy);
	}
	if (adddate && str_rfc5322_date((long long)now, date, sizeof date) == 0)
		buf_printf(&h, "Date: %s\n", date);
	if (addmid) {
		gettimeofday(&tv, NULL);
		localtime_r(&now, &tm);
		buf_printf(&h, "Message-ID: <%04d%02d%02d%02d%02d%02d.%lX%lX@%s>\n", tm.tm_year + 1900, tm.tm_mon + 1,
			   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (long)getpid(),
			   conf.myhostname);
	}
	/* no header block at all: ours, then the empty line, then the body */
	if (hl == 0 && buf_addc(&h, '\n') < 0)
		die(EX_OSERR, "out of memory");
	if (buf_add(&h, m->s, m->len) < 0)
		die(EX_OSERR, "out of memory");
	buf_free(m);
	*m = h;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct buf m;
	struct rlist r = { 0 };
	char sender[SMTP_ADDR_MAX], full[256], err[512];
	size_t hl;
	int i;

	parse_args(argc, argv, &o);
	conf_defaults_zeroed(&conf);   /* static: still zero */
	if (conf_load(&conf, conf_argv_path(argc, argv), err, sizeof err) < 0)
		die(EX_CONFIG, "%s", err);
	log_open("sendmail", conf.log);
	if (o.bs) {
		char self[PATH_MAX], prog[PATH_MAX + 8];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		char *slash;
		const char *cf = conf_argv_path(argc, argv);
		if (n <= 0)
			die(EX_OSERR, "cannot find smtpd");
		self[n] = '\0';
		slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(prog, sizeof prog, "%s/smtpd", self);
		if (cf)
			execl(prog, "smtpd", "-b", "-c", cf, (char *)NULL);
		else
			execl(prog, "smtpd", "-b", (char *)NULL);
		die(EX_OSERR, "%s: %s", prog, strerror(errno));
	}
	if (o.bp)
		return queue_list(&conf, 1) < 0 ? EX_NOPERM : 0;
	if (o.q) {
		if (!queue_writable())
			die(EX_NOPERM, "only the queue owner may run the queue");
		return runner_run(&conf) < 0 ? EX_TEMPFAIL : 0;
	}
	buf_init(&m);
	read_message(&o, &m);
	hl = header_len(&m);
	for (i = 0; i < o.nrcpts; i++)
		parse_addrs(o.rcpts[i], strlen(o.rcpts[i]), &r);
	if (o.t)
		take_header_rcpts(&m, &hl, &r);
	if (r.n == 0)
		die(EX_USAGE, "no recipients");
	sender_name(&o, sender, sizeof sender, full, sizeof full);
	if (o.from && (!strcmp(o.from, "<>") || !o.from[0]))
		sender[0] = '\0';
	for (i = 0; i < r.n; i++) {
		struct rcpt_list l = { 0 };
		size_t n = strlen(r.v[i]);
		int v;
		if (n >= SMTP_ADDR_MAX || !addr_clean(r.v[i], n))
			die(EX_DATAERR, "bad recipient address %s", r.v[i]);
		v = rcpt_resolve(&conf, r.v[i], 0, "", 1, &l);
		rcpt_list_free(&l);
		if (v == RCPT_UNKNOWN)
			die(EX_NOUSER, "%s: unknown user", r.v[i]);
		if (v == RCPT_TEMP)
			die(EX_TEMPFAIL, "%s: lookup failure, try again", r.v[i]);
		if (v != RCPT_OK && v != RCPT_REMOTE)
			die(EX_UNAVAILABLE, "%s: refused", r.v[i]);
	}
	add_headers(&o, sender, &m);
	submit(sender, &r, &m);
	buf_free(&m);
	for (i = 0; i < r.n; i++)
		free(r.v[i]);
	free(r.v);
	return 0;
}
