/* /etc/facteur.conf: a table of keys, each with a parser and a default.
 * Format as Postfix's main.cf: `key = value`, `#` comments, and a line that
 * starts with white space continues the previous value. */
#include "conf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "str.h"

enum kind { K_STR, K_NETS, K_BARELF, K_BARELF_EXCL, K_SIZE, K_SECS, K_MSECS, K_AUTH, K_LOG, K_PATH, K_MAPS,
	    K_TLSLEVEL, K_BOOL, K_COUNT };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;     /* of the char array, for strings */
};

#define S(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define N(f) offsetof(struct conf, f), 0
static const struct key keys[] = {
	{"myhostname", K_STR, S(myhostname)},
	{"mydomain", K_STR, S(mydomain)},
	{"myorigin", K_STR, S(myorigin)},
	{"mydestination", K_STR, S(mydestination)},
	{"mynetworks", K_NETS, N(mynetworks)},
	{"login_trusted_networks", K_NETS, N(login_trusted_networks)},
	{"message_size_limit", K_SIZE, N(message_size_limit)},
	{"mail_spool_directory", K_PATH, S(mail_spool_directory)},
	{"mail_folders", K_STR, S(mail_folders)},
	{"mail_index_directory", K_STR, S(mail_index_directory)},
	{"alias_maps", K_MAPS, S(alias_maps)},
	{"auth", K_AUTH, S(auth)},
	{"log", K_LOG, S(log)},
	{"queue_directory", K_PATH, S(queue_directory)},
	{"default_privs", K_STR, S(default_privs)},
	{"empty_directory", K_PATH, S(empty_directory)},
	{"mail_privileged_group", K_STR, S(mail_privileged_group)},
	{"pam_service", K_STR, S(pam_service)},
	{"sendmail_path", K_PATH, S(sendmail_path)},
	{"smtpd_timeout", K_SECS, N(smtpd_timeout)},
	{"smtpd_forbid_bare_newline", K_BARELF, N(smtpd_forbid_bare_newline)},
	{"smtpd_forbid_bare_newline_exclusions", K_BARELF_EXCL, N(bare_newline_exclusions)},
	{"pop3_timeout", K_SECS, N(pop3_timeout)},
	{"imap_timeout", K_SECS, N(imap_timeout)},
	{"lock_timeout", K_SECS, N(lock_timeout)},
	{"auth_failure_delay", K_MSECS, N(auth_failure_delay)},
	{"tls_cert_file", K_PATH, S(tls_cert_file)},
	{"tls_key_file", K_PATH, S(tls_key_file)},
	{"tls_security_level", K_TLSLEVEL, N(tls_security_level)},
	{"stunnel_path", K_PATH, S(stunnel_path)},
	{"smtpd_sasl_auth_enable", K_BOOL, N(smtpd_sasl_auth_enable)},
	/* outbound SMTP (issue 12) */
	{"relayhost", K_STR, S(relayhost)},
	{"smtp_helo_name", K_STR, S(smtp_helo_name)},
	{"inet_protocols", K_STR, S(inet_protocols)},
	{"smtp_bind_address", K_STR, S(smtp_bind_address)},
	{"smtp_connect_timeout", K_SECS, N(smtp_connect_timeout)},
	{"smtp_helo_timeout", K_SECS, N(smtp_helo_timeout)},
	{"smtp_mail_timeout", K_SECS, N(smtp_mail_timeout)},
	{"smtp_rcpt_timeout", K_SECS, N(smtp_rcpt_timeout)},
	{"smtp_data_init_timeout", K_SECS, N(smtp_data_init_timeout)},
	{"smtp_data_xfer_timeout", K_SECS, N(smtp_data_xfer_timeout)},
	{"smtp_data_done_timeout", K_SECS, N(smtp_data_done_timeout)},
	{"smtp_quit_timeout", K_SECS, N(smtp_quit_timeout)},
	{"minimal_backoff_time", K_SECS, N(minimal_backoff_time)},
	{"maximal_backoff_time", K_SECS, N(maximal_backoff_time)},
	{"maximal_queue_lifetime", K_SECS, N(maximal_queue_lifetime)},
	{"delay_warning_time", K_SECS, N(delay_warning_time)},
	{"default_process_limit", K_COUNT, N(default_process_limit)},
	{"smtp_destination_concurrency_limit", K_COUNT, N(smtp_destination_concurrency_limit)},
};
#undef S
#undef N

static void set_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof *c);
	conf_defaults_zeroed(c);
}

void conf_defaults_zeroed(struct conf *c)
{
	char host[CONF_NAME_MAX];
	char err[128];
	const char *dot;

	if (gethostname(host, sizeof host) < 0 || !host[0])
		set_str(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	set_str(c->myhostname, sizeof c->myhostname, host);
	/* Postfix: mydomain is myhostname minus its first label, else localdomain */
	dot = strchr(host, '.');
	set_str(c->mydomain, sizeof c->mydomain, dot && dot[1] ? dot + 1 : "localdomain");
	set_str(c->myorigin, sizeof c->myorigin, "$myhostname");
	set_str(c->mydestination, sizeof c->mydestination, "$myhostname, localhost.$mydomain, localhost");
	net_parse_list(&c->mynetworks, "127.0.0.0/8 [::1]/128", err, sizeof err);
	c->login_trusted_networks.count = 0;
	c->message_size_limit = DEFAULT_MESSAGE_SIZE_LIMIT;
	set_str(c->mail_spool_directory, sizeof c->mail_spool_directory, "/var/mail");
	set_str(c->mail_folders, sizeof c->mail_folders, "~/mail");
	set_str(c->mail_index_directory, sizeof c->mail_index_directory, "~/.libmbox/index");
	set_str(c->alias_maps, sizeof c->alias_maps, "/etc/aliases");
	set_str(c->auth, sizeof c->auth, "pam");
	set_str(c->log, sizeof c->log, "syslog");
	set_str(c->queue_directory, sizeof c->queue_directory, "/var/spool/facteur");
	set_str(c->default_privs, sizeof c->default_privs, "nobody");
	set_str(c->empty_directory, sizeof c->empty_directory, "/var/empty");
	set_str(c->mail_privileged_group, sizeof c->mail_privileged_group, "mail");
	set_str(c->pam_service, sizeof c->pam_service, "facteur");
	set_str(c->sendmail_path, sizeof c->sendmail_path, FACTEUR_LIBEXEC "/sendmail");
	c->smtpd_timeout = SMTP_IDLE_SEC;
	c->smtpd_forbid_bare_newline = CONF_BARELF_NORMAL;
	c->bare_newline_excl_mynetworks = 1;
	c->pop3_timeout = POP3_IDLE_SEC;
	c->imap_timeout = IMAP_IDLE_SEC;
	c->lock_timeout = 0;
	c->auth_failure_delay = AUTH_FAIL_DELAY_MS;
	set_str(c->tls_cert_file, sizeof c->tls_cert_file, "/etc/ssl/certs/ssl-cert-snakeoil.pem");
	set_str(c->tls_key_file, sizeof c->tls_key_file, "/etc/ssl/private/ssl-cert-snakeoil.key");
	c->tls_security_level = CONF_TLS_MAY;
	set_str(c->stunnel_path, sizeof c->stunnel_path, "/usr/bin/stunnel4");
	c->smtpd_sasl_auth_enable = 0;
	/* outbound SMTP (issue 12): Postfix's defaults */
	set_str(c->smtp_helo_name, sizeof c->smtp_helo_name, "$myhostname");
	set_str(c->inet_protocols, sizeof c->inet_protocols, "all");
	c->smtp_connect_timeout = 30;
	c->smtp_helo_timeout = 300;
	c->smtp_mail_timeout = 300;
	c->smtp_rcpt_timeout = 300;
	c->smtp_data_init_timeout = 120;
	c->smtp_data_xfer_timeout = 180;
	c->smtp_data_done_timeout = 600;
	c->smtp_quit_timeout = 300;
	c->minimal_backoff_time = 300;
	c->maximal_backoff_time = 4000;
	c->maximal_queue_lifetime = 5 * 86400;
	c->delay_warning_time = 0;
	c->default_process_limit = 100;
	c->smtp_destination_concurrency_limit = 20;
}

/* "300", "300s", "5m", "1h", "2d", "500ms"; unit is what a bare number means
 * (1 = seconds, 1000 = the result is in milliseconds). */
static int parse_time(const char *v, int in_ms, unsigned *out)
{
	size_t n = strspn(v, "0123456789");
	uint64_t num, mult;
	const char *u = v + n;

	if (parse_u64(v, n, 100000000ULL, &num) < 0)
		return -1;
	if (!*u)
		mult = 1;
	else if (!strcmp(u, "ms"))
		mult = 0; /* marker: milliseconds */
	else if (!strcmp(u, "s"))
		mult = 1;
	else if (!strcmp(u, "m"))
		mult = 60;
	else if (!strcmp(u, "h"))
		mult = 3600;
	else if (!strcmp(u, "d"))
		mult = 86400;
	else
		return -1;
	if (in_ms) {
		if (mult == 0)
			*out = (unsigned)num;
		else if (!*u)
			*out = (unsigned)num; /* bare number: milliseconds */
		else if (num * mult * 1000 > 0xffffffffULL)
			return -1;
		else
			*out = (unsigned)(num * mult * 1000);
	} else {
		if (mult == 0)
			*out = (unsigned)(num / 1000);
		else if (num * mult > 0xffffffffULL)
			return -1;
		else
			*out = (unsigned)(num * mult);
	}
	return 0;
}

static int set_key(struct conf *c, const struct key *k, const char *v, char *err, size_t errlen)
{
	char *base = (char *)c;

	switch (k->kind) {
	case K_STR:
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "%s: value too long", k->name);
			return -1;
		}
		set_str(base + k->off, k->size, v);
		return 0;
	case K_PATH:
		if (v[0] != '/' || strlen(v) >= k->size) {
			snprintf(err, errlen, "%s: needs an absolute path", k->name);
			return -1;
		}
		set_str(base + k->off, k->size, v);
		return 0;
	case K_NETS: {
		char why[128];
		if (net_parse_list((struct netlist *)(base + k->off), v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
		return 0;
	}
	case K_BARELF:
		if (!strcmp(v, "normal") || !strcmp(v, "yes"))
			c->smtpd_forbid_bare_newline = CONF_BARELF_NORMAL;
		else if (!strcmp(v, "strict"))
			c->smtpd_forbid_bare_newline = CONF_BARELF_STRICT;
		else if (!strcmp(v, "no"))
			c->smtpd_forbid_bare_newline = CONF_BARELF_NO;
		else {
			snprintf(err, errlen, "%s: use normal, strict or no", k->name);
			return -1;
		}
		return 0;
	case K_BARELF_EXCL: {
		char why[128];
		/* Postfix's default refers to mynetworks as finally set */
		c->bare_newline_excl_mynetworks = !strcmp(v, "$mynetworks") || !strcmp(v, "${mynetworks}");
		if (!c->bare_newline_excl_mynetworks &&
		    net_parse_list(&c->bare_newline_exclusions, v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
		return 0;
	}
	case K_SIZE: {
		uint64_t n;
		size_t len = strlen(v);
		if (parse_u64(v, len, 1ULL << 40, &n) < 0 || n == 0) {
			snprintf(err, errlen, "%s: needs a positive number of bytes", k->name);
			return -1;
		}
		*(uint64_t *)(base + k->off) = n;
		return 0;
	}
	case K_SECS:
	case K_MSECS:
		if (parse_time(v, k->kind == K_MSECS, (unsigned *)(base + k->off)) < 0) {
			snprintf(err, errlen, "%s: needs a time like 300 or 5m", k->name);
			return -1;
		}
		return 0;
	case K_AUTH:
		if (strcmp(v, "pam") != 0 &&
		    (strncmp(v, "passwd-file:", 12) != 0 || v[12] != '/')) {
			snprintf(err, errlen, "auth: use \"pam\" or \"passwd-file:/absolute/path\"");
			return -1;
		}
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "auth: value too long");
			return -1;
		}
		set_str(base + k->off, k->size, v);
		return 0;
	case K_LOG:
		if (strcmp(v, "syslog") != 0 && v[0] != '/') {
			snprintf(err, errlen, "log: use \"syslog\" or an absolute file path");
			return -1;
		}
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "log: value too long");
			return -1;
		}
		set_str(base + k->off, k->size, v);
		return 0;
	case K_TLSLEVEL:
		if (!strcmp(v, "none"))
			*(int *)(base + k->off) = CONF_TLS_NONE;
		else if (!strcmp(v, "may"))
			*(int *)(base + k->off) = CONF_TLS_MAY;
		else if (!strcmp(v, "encrypt"))
			*(int *)(base + k->off) = CONF_TLS_ENCRYPT;
		else {
			snprintf(err, errlen, "%s: use none, may or encrypt", k->name);
			return -1;
		}
		return 0;
	case K_COUNT: {
		uint64_t n;
		if (parse_u64(v, strlen(v), CONF_COUNT_MAX, &n) < 0 || n == 0) {
			snprintf(err, errlen, "%s: needs a number from 1 to %u", k->name, CONF_COUNT_MAX);
			return -1;
		}
		*(unsigned *)(base + k->off) = (unsigned)n;
		return 0;
	}
	case K_BOOL:
		if (!strcmp(v, "yes"))
			*(int *)(base + k->off) = 1;
		else if (!strcmp(v, "no"))
			*(int *)(base + k->off) = 0;
		else {
			snprintf(err, errlen, "%s: use yes or no", k->name);
			return -1;
		}
		return 0;
	case K_MAPS: {
		/* Postfix lists maps as type:path; we read the text source of the
		 * first file map ourselves (no .db needed).  Empty = no aliases. */
		const char *p = v;
		char first[PATH_MAX];

		size_t len;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		len = strcspn(p, " ,\t");
		if (len == 0) {
			((char *)(base + k->off))[0] = '\0';
			return 0;
		}
		if (len >= sizeof first) {
			snprintf(err, errlen, "alias_maps: value too long");
			return -1;
		}
		memcpy(first, p, len);
		first[len] = '\0';
		p = first;
		if (strchr(p, ':')) {
			const char *types[] = {"hash:", "texthash:", "btree:", "lmdb:", "cdb:", "dbm:"};
			size_t i;
			for (i = 0; i < sizeof types / sizeof types[0]; i++)
				if (!strncmp(p, types[i], strlen(types[i])))
					break;
			if (i == sizeof types / sizeof types[0]) {
				snprintf(err, errlen, "alias_maps: only file maps (hash:/etc/aliases) are supported");
				return -1;
			}
			p += strlen(types[i]);
		}
		if (p[0] != '/') {
			snprintf(err, errlen, "alias_maps: needs an absolute path");
			return -1;
		}
		set_str(base + k->off, k->size, p);
		return 0;
	}
	}
	return -1;
}

int conf_set(struct conf *c, const char *key, const char *value, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i].name, key))
			return set_key(c, &keys[i], value, err, errlen);
	snprintf(err, errlen, "unknown key \"%.60s\"", key);
	return -1;
}

/* Replaces $myhostname, ${myhostname}, $mydomain, ${mydomain} in text. */
static int expand(const struct conf *c, const char *in, size_t inlen, char *out, size_t outlen)
{
	struct {
		const char *name;
		const char *val;
	} vars[] = {{"${myhostname}", c->myhostname}, {"$myhostname", c->myhostname},
		    {"${mydomain}", c->mydomain},     {"$mydomain", c->mydomain}};
	size_t o = 0, i = 0, v;

	while (i < inlen) {
		for (v = 0; v < 4; v++) {
			size_t n = strlen(vars[v].name);
			if (inlen - i >= n && !memcmp(in + i, vars[v].name, n))
				break;
		}
		if (v < 4) {
			size_t vl = strlen(vars[v].val);
			if (o + vl >= outlen)
				return -1;
			memcpy(out + o, vars[v].val, vl);
			o += vl;
			i += strlen(vars[v].name);
		} else {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = in[i++];
		}
	}
	out[o] = '\0';
	return 0;
}

static void finish(struct conf *c)
{
	char tmp[CONF_NAME_MAX];

	if (expand(c, c->myorigin, strlen(c->myorigin), tmp, sizeof tmp) == 0)
		set_str(c->myorigin, sizeof c->myorigin, tmp);
	if (expand(c, c->smtp_helo_name, strlen(c->smtp_helo_name), tmp, sizeof tmp) == 0)
		set_str(c->smtp_helo_name, sizeof c->smtp_helo_name, tmp);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Applies one logical line (key = value, continuations joined). */
static int apply(struct conf *c, char *line, const char *path, unsigned lineno, char *err,
		 size_t errlen)
{
	char *eq = strchr(line, '=');
	char *key, *val;
	char why[300];

	if (!eq) {
		snprintf(err, errlen, "%s:%u: expected \"key = value\"", path, lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (!*key) {
		snprintf(err, errlen, "%s:%u: missing key before \"=\"", path, lineno);
		return -1;
	}
	if (conf_set(c, key, val, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		return -1;
	}
	return 0;
}

int conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	int explicit = path != NULL;
	FILE *f;
	char line[CONF_LINE_MAX];
	char logical[CONF_LIST_MAX + 64];
	unsigned lineno = 0, start = 0;
	int have = 0;

	if (!path)
		path = CONF_DEFAULT_PATH;
	f = fopen(path, "re");
	if (!f) {
		if (!explicit && errno == ENOENT) {
			finish(c);
			return 0;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	set_str(c->path, sizeof c->path, path);
	logical[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		char *t;
		lineno++;
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			goto fail;
		}
		if (memchr(line, '\0', len) != NULL && strlen(line) != len) {
			snprintf(err, errlen, "%s:%u: NUL byte", path, lineno);
			goto fail;
		}
		t = trim(line);
		if (*t == '#' || *t == '\0')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			size_t l = strlen(logical);
			if (!have) {
				snprintf(err, errlen, "%s:%u: continuation line without a key", path, lineno);
				goto fail;
			}
			if (l + 1 + strlen(t) >= sizeof logical) {
				snprintf(err, errlen, "%s:%u: value too long", path, lineno);
				goto fail;
			}
			logical[l] = ' ';
			memcpy(logical + l + 1, t, strlen(t) + 1);
			continue;
		}
		if (have && apply(c, logical, path, start, err, errlen) < 0)
			goto fail;
		if (strlen(t) >= sizeof logical) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			goto fail;
		}
		memcpy(logical, t, strlen(t) + 1);
		have = 1;
		start = lineno;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	if (have && apply(c, logical, path, start, err, errlen) < 0)
		goto fail;
	fclose(f);
	finish(c);
	return 0;
fail:
	fclose(f);
	return -1;
}

int conf_is_local_domain(const struct conf *c, const char *dom, size_t len)
{
	const char *p = c->mydestination;

	/* a trailing dot is the same domain */
	if (len > 0 && dom[len - 1] == '.')
		len--;
	while (*p) {
		size_t n;
		char tok[CONF_NAME_MAX * 2];
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, " ,\t");
		if (n == 0)
			break;
		if (expand(c, p, n, tok, sizeof tok) == 0 && str_ieq(tok, strlen(tok), dom, len))
			return 1;
		p += n;
	}
	return 0;
}

int conf_folder_root(const struct conf *c, const char *home, char *out, size_t outlen)
{
	int n;

	if (c->mail_folders[0] == '~' && (c->mail_folders[1] == '/' || !c->mail_folders[1]))
		n = snprintf(out, outlen, "%s%s", home, c->mail_folders + 1);
	else
		n = snprintf(out, outlen, "%s", c->mail_folders);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int conf_index_dir(const struct conf *c, const char *home, char *out, size_t outlen)
{
	const char *d = c->mail_index_directory;
	int n;

	if (!d[0]) {
		out[0] = 0;
		return 0;
	}
	if (d[0] == '~' && (d[1] == '/' || !d[1])) {
		if (!home || home[0] != '/') {
			errno = ENOENT;
			return -1;
		}
		n = snprintf(out, outlen, "%s%s", home, d + 1);
	} else {
		n = snprintf(out, outlen, "%s", d);
	}
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int conf_spool_path(const struct conf *c, const char *user, char *out, size_t outlen)
{
	int n;

	/* a user name never holds a slash or starts with a dot */
	if (!*user || strchr(user, '/') || user[0] == '.') {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(out, outlen, "%s/%s", c->mail_spool_directory, user);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

const char *conf_argv_path(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "-c", 2) && argv[i][2] == '/')
			return argv[i] + 2;
	}
	return NULL;
}

int conf_bare_newline(const struct conf *c, const struct peer *p)
{
	const struct netlist *ex = c->bare_newline_excl_mynetworks ? &c->mynetworks : &c->bare_newline_exclusions;

	/* a local session (sendmail -bs, a pipe) is a local user's */
	if (p->local || net_match(ex, p))
		return CONF_BARELF_NO;
	return c->smtpd_forbid_bare_newline;
}

unsigned conf_lock_ms(const struct conf *c, unsigned default_ms)
{
	unsigned long long ms = c->lock_timeout ? c->lock_timeout * 1000ULL : default_ms;

	return ms > LOCK_TIMEOUT_MAX_MS ? LOCK_TIMEOUT_MAX_MS : (unsigned)ms;
}
