/* lib/conf.c, lib/net.c, lib/str.c: every key, every error, networks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "net.h"
#include "str.h"
#include "tap.h"
#include "tls.h"

static char dir[] = "/tmp/facteur-conf.XXXXXX";

static const char *write_conf(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/facteur.conf", dir);
	f = fopen(path, "w");
	if (!f)
		exit(1);
	fputs(text, f);
	fclose(f);
	return path;
}

/* load text, expect failure whose message contains want */
static void bad(const char *text, const char *want, const char *name)
{
	struct conf c;
	char err[512] = "";
	int r;

	conf_defaults(&c);
	r = conf_load(&c, write_conf(text), err, sizeof err);
	ok(r == -1 && strstr(err, want) != NULL, "%s: \"%s\"", name, err);
}

static void test_defaults(void)
{
	struct conf c;
	char err[256];

	conf_defaults(&c);
	ok(c.message_size_limit == 10240000, "message_size_limit default");
	ok(!strcmp(c.mail_spool_directory, "/var/mail"), "spool default");
	ok(!strcmp(c.mail_folders, "~/mail"), "folders default");
	ok(!strcmp(c.auth, "pam"), "auth default");
	ok(!strcmp(c.alias_maps, "/etc/aliases"), "alias_maps default");
	ok(!strcmp(c.default_privs, "nobody"), "default_privs default");
	ok(conf_is_local_domain(&c, "localhost", 9), "localhost is local by default");
	ok(conf_is_local_domain(&c, c.myhostname, strlen(c.myhostname)), "myhostname is local by default");
	ok(conf_load(&c, "/nonexistent/facteur.conf", err, sizeof err) == -1 && strstr(err, "/nonexistent"),
	   "an explicit missing file is an error naming it");
}

static void test_keys(void)
{
	struct conf c;
	char err[256] = "";
	struct peer p;
	char out[512];
	int r;

	conf_defaults(&c);
	r = conf_load(&c, write_conf("# the lab's settings\n"
				     "myhostname = localhost.mail7.com\n"
				     "mydomain = mail7.com\n"
				     "myorigin = $mydomain\n"
				     "mydestination = $myhostname, mail7.com localhost.localdomain,\n"
				     "    localhost\n"
				     "mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 192.168.0.0/24\n"
				     "login_trusted_networks = 192.168.0.0/24\n"
				     "message_size_limit = 20480000\n"
				     "mail_spool_directory = /var/spool/mail\n"
				     "mail_folders = ~/Mail\n"
				     "alias_maps = hash:/etc/aliases\n"
				     "auth = passwd-file:/etc/facteur/passwd\n"
				     "log = /var/log/facteur.log\n"
				     "queue_directory = /var/spool/fq\n"
				     "default_privs = mail\n"
				     "empty_directory = /run/empty\n"
				     "pam_service = dovecot\n"
				     "sendmail_path = /usr/sbin/sendmail\n"
				     "smtpd_timeout = 5m\n"
				     "pop3_timeout = 120s\n"
				     "imap_timeout = 1h\n"
				     "lock_timeout = 30\n"
				     "auth_failure_delay = 2s\n"),
		      err, sizeof err);
	ok(r == 0, "the lab's config loads (%s)", err);
	ok(!strcmp(c.myorigin, "mail7.com"), "myorigin expands $mydomain");
	ok(conf_is_local_domain(&c, "MAIL7.COM", 9), "mydestination: case-insensitive");
	ok(conf_is_local_domain(&c, "localhost.mail7.com.", 20), "mydestination: $myhostname, trailing dot");
	ok(conf_is_local_domain(&c, "localhost", 9), "mydestination: continuation line");
	ok(!conf_is_local_domain(&c, "starwars.univ", 13), "other domains are not local");
	ok(c.message_size_limit == 20480000, "message_size_limit");
	ok(!strcmp(c.alias_maps, "/etc/aliases"), "alias_maps hash: prefix stripped");
	ok(!strcmp(c.auth, "passwd-file:/etc/facteur/passwd"), "auth passwd-file");
	ok(c.smtpd_timeout == 300 && c.pop3_timeout == 120 && c.imap_timeout == 3600 && c.lock_timeout == 30,
	   "timeouts with units");
	ok(c.auth_failure_delay == 2000, "auth_failure_delay 2s = 2000 ms");
	ok(!strcmp(c.pam_service, "dovecot") && !strcmp(c.default_privs, "mail"), "string keys");
	ok(conf_folder_root(&c, "/home/foo", out, sizeof out) == 0 && !strcmp(out, "/home/foo/Mail"),
	   "mail_folders ~ expands to home");
	ok(conf_spool_path(&c, "foo", out, sizeof out) == 0 && !strcmp(out, "/var/spool/mail/foo"),
	   "spool path");
	ok(conf_spool_path(&c, "../etc", out, sizeof out) == -1, "spool path refuses dot names");
	ok(conf_spool_path(&c, "a/b", out, sizeof out) == -1, "spool path refuses slashes");

	memset(&p, 0, sizeof p);
	setenv("FACTEUR_TEST_PEER", "192.168.0.42", 1);
	net_get_peer(&p); /* fd 0 is not a socket under prove */
	ok(!p.local && !strcmp(p.addr, "192.168.0.42"), "test hook peer when fd 0 is not a socket");
	ok(net_match(&c.mynetworks, &p) && net_login_trusted(&c.login_trusted_networks, &p),
	   "192.168.0.42 in mynetworks and trusted");
	setenv("FACTEUR_TEST_PEER", "192.168.1.42", 1);
	net_get_peer(&p);
	ok(!net_match(&c.mynetworks, &p) && !net_login_trusted(&c.login_trusted_networks, &p),
	   "192.168.1.42 is neither");
	setenv("FACTEUR_TEST_PEER", "::1", 1);
	net_get_peer(&p);
	ok(net_is_loopback(&p) && net_login_trusted(&c.login_trusted_networks, &p), "::1 is loopback");
	setenv("FACTEUR_TEST_PEER", "garbage", 1);
	net_get_peer(&p);
	ok(p.local && !strcmp(p.addr, "local"), "a bad hook value means local");
	unsetenv("FACTEUR_TEST_PEER");
	net_get_peer(&p);
	ok(p.local && net_login_trusted(&c.login_trusted_networks, &p), "no hook: local and trusted");
}

static void test_errors(void)
{
	bad("nosuchkey = 1\n", "facteur.conf:1: unknown key \"nosuchkey\"", "unknown key");
	bad("# c\n\nmyhostname\n", "facteur.conf:3: expected", "missing =");
	bad(" = x\n", "facteur.conf:1:", "missing key");
	bad("  continued\n", "continuation line without a key", "leading continuation");
	bad("message_size_limit = 10M\n", "facteur.conf:1: message_size_limit", "size with junk");
	bad("message_size_limit = 0\n", "message_size_limit", "size zero");
	bad("message_size_limit = -5\n", "message_size_limit", "negative size");
	bad("message_size_limit = 99999999999999999999999\n", "message_size_limit", "size overflow");
	bad("mynetworks = 10.0.0.0/33\n", "mynetworks: bad network", "prefix too long");
	bad("mynetworks = 300.1.1.1\n", "mynetworks: bad network", "bad address");
	bad("login_trusted_networks = 192.168.0.0/x\n", "login_trusted_networks", "bad prefix");
	bad("auth = shadow\n", "auth: use", "bad auth");
	bad("auth = passwd-file:relative\n", "auth: use", "relative passwd-file");
	bad("log = stderr\n", "log: use", "bad log");
	bad("mail_spool_directory = var/mail\n", "absolute path", "relative spool");
	bad("alias_maps = nis:mail.aliases\n", "alias_maps", "unsupported map");
	bad("smtpd_timeout = soon\n", "smtpd_timeout", "bad time");
	bad("smtpd_timeout = 5y\n", "smtpd_timeout", "bad unit");
	{
		char big[6000];
		memset(big, 'a', sizeof big - 2);
		memcpy(big, "myhostname = ", 13);
		big[sizeof big - 2] = '\n';
		big[sizeof big - 1] = '\0';
		bad(big, "line too long", "overlong line");
	}
	{
		char longval[400];
		memset(longval, 'b', sizeof longval);
		memcpy(longval, "myhostname = ", 13);
		memcpy(longval + sizeof longval - 2, "\n", 2);
		bad(longval, "myhostname: value too long", "overlong value");
	}
}

static void test_numbers_and_b64(void)
{
	uint32_t v;
	unsigned char out[64];
	char enc[64];
	size_t n;

	ok(parse_u32("4294967295", 10, 0xffffffffu, &v) == 0 && v == 4294967295u, "parse_u32 max");
	ok(parse_u32("4294967297", 10, 0xffffffffu, &v) == -1, "parse_u32 does not wrap");
	ok(parse_u32("12", 2, 10, &v) == -1, "parse_u32 range");
	ok(parse_u32("+1", 2, 10, &v) == -1 && parse_u32(" 1", 2, 10, &v) == -1 &&
		   parse_u32("", 0, 10, &v) == -1,
	   "parse_u32: digits only");
	ok(b64_decode("AGFsaWNlAHNlY3JldA==", 20, out, sizeof out, &n) == 0 && n == 13 &&
		   !memcmp(out, "\0alice\0secret", 13),
	   "base64 decodes a SASL PLAIN response");
	ok(b64_decode("AGFsaWNl*", 9, out, sizeof out, &n) == -1, "base64 refuses junk");
	ok(b64_decode("AG=Fs", 5, out, sizeof out, &n) == -1, "base64 refuses data after padding");
	ok(b64_decode("AGFsaWNlAHNlY3JldA==", 20, out, 4, &n) == -1, "base64 output bound");
	ok(b64_encode((const unsigned char *)"\0alice\0secret", 13, enc, sizeof enc, &n) == 0 &&
		   !strcmp(enc, "AGFsaWNlAHNlY3JldA=="),
	   "base64 encode");
	ok(str_ieq("MAIL", 4, "mail", 4) && !str_ieq("MAIL", 4, "mai", 3), "str_ieq");
	ok(str_icase_find("Subject: Hello", 14, "HELLO", 5) != NULL, "str_icase_find");
}

/* the TLS keys (lib/tls.h) and the plaintext-login rule */
static void test_tls_keys(void)
{
	struct conf c;
	struct peer p;
	char err[256];

	conf_defaults(&c);
	ok(c.tls_security_level == CONF_TLS_MAY && !c.smtpd_sasl_auth_enable &&
	   !strcmp(c.tls_cert_file, "/etc/ssl/certs/ssl-cert-snakeoil.pem") &&
	   !strcmp(c.tls_key_file, "/etc/ssl/private/ssl-cert-snakeoil.key") &&
	   !strcmp(c.stunnel_path, "/usr/bin/stunnel4"), "TLS defaults: may, snakeoil, stunnel4, no AUTH on 25");
	ok(conf_set(&c, "tls_security_level", "encrypt", err, sizeof err) == 0 &&
	   c.tls_security_level == CONF_TLS_ENCRYPT, "tls_security_level encrypt");
	ok(conf_set(&c, "tls_security_level", "none", err, sizeof err) == 0 && c.tls_security_level == CONF_TLS_NONE,
	   "tls_security_level none");
	ok(conf_set(&c, "tls_security_level", "dane", err, sizeof err) < 0 && strstr(err, "none, may or encrypt"),
	   "tls_security_level: other values refused");
	ok(conf_set(&c, "smtpd_sasl_auth_enable", "yes", err, sizeof err) == 0 && c.smtpd_sasl_auth_enable,
	   "smtpd_sasl_auth_enable yes");
	ok(conf_set(&c, "smtpd_sasl_auth_enable", "1", err, sizeof err) < 0, "smtpd_sasl_auth_enable: yes or no only");
	ok(conf_set(&c, "tls_cert_file", "cert.pem", err, sizeof err) < 0, "tls_cert_file: absolute path only");
	ok(conf_set(&c, "stunnel_path", "/usr/local/bin/stunnel", err, sizeof err) == 0 &&
	   !strcmp(c.stunnel_path, "/usr/local/bin/stunnel"), "stunnel_path");

	/* plaintext passwords: TLS always; encrypt never without TLS */
	conf_defaults(&c);
	setenv("FACTEUR_TEST_PEER", "10.1.2.3", 1);
	net_get_peer(&p);
	unsetenv("FACTEUR_TEST_PEER");
	ok(!tls_plaintext_ok(&c, &p, 0) && tls_plaintext_ok(&c, &p, 1), "untrusted peer: plaintext login only over TLS");
	net_parse_list(&c.login_trusted_networks, "10.0.0.0/8", err, sizeof err);
	ok(tls_plaintext_ok(&c, &p, 0), "login_trusted_networks: plaintext login without TLS (may)");
	c.tls_security_level = CONF_TLS_ENCRYPT;
	ok(!tls_plaintext_ok(&c, &p, 0) && tls_plaintext_ok(&c, &p, 1), "encrypt: not even from trusted networks");
}

/* the one lock-wait rule (issue 11.3): lock_timeout when set, else the
 * protocol's default, never past LOCK_TIMEOUT_MAX_MS */
static void test_lock_ms(void)
{
	struct conf c;
	char err[256];

	conf_defaults(&c);
	ok(conf_lock_ms(&c, POP3_LOCK_TIMEOUT_MS) == POP3_LOCK_TIMEOUT_MS &&
	   conf_lock_ms(&c, SMTP_LOCK_TIMEOUT_MS) == SMTP_LOCK_TIMEOUT_MS, "lock_timeout 0: each protocol's default");
	ok(conf_set(&c, "lock_timeout", "1", err, sizeof err) == 0 && conf_lock_ms(&c, POP3_LOCK_TIMEOUT_MS) == 1000 &&
	   conf_lock_ms(&c, SMTP_LOCK_TIMEOUT_MS) == 1000, "lock_timeout 1: 1 s for every protocol");
	ok(conf_set(&c, "lock_timeout", "45", err, sizeof err) == 0 && conf_lock_ms(&c, POP3_LOCK_TIMEOUT_MS) == 45000 &&
	   conf_lock_ms(&c, IMAP_LOCK_TIMEOUT_MS) == 45000, "lock_timeout above a default: the same rule for POP3 and IMAP");
	ok(conf_set(&c, "lock_timeout", "100000", err, sizeof err) == 0 &&
	   conf_lock_ms(&c, SMTP_LOCK_TIMEOUT_MS) == LOCK_TIMEOUT_MAX_MS, "capped at LOCK_TIMEOUT_MAX_MS");
	c.lock_timeout = 4294967u;   /* * 1000 overflows 32 bits */
	ok(conf_lock_ms(&c, SMTP_LOCK_TIMEOUT_MS) == LOCK_TIMEOUT_MAX_MS, "no overflow");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_defaults();
	test_lock_ms();
	test_keys();
	test_errors();
	test_numbers_and_b64();
	test_tls_keys();
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
