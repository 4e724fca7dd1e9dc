/* bench/lib/sink.c: the floor of one process per connection.  A static SMTP
 * sink on fds 0/1 that answers every command and accepts every message
 * without storing anything: no config, no queue, no fsync, no mailbox.  Its
 * rate under a launcher is the most any server started per connection can
 * do there; built with -DPREAUTH_FORK it also forks one child for the
 * session and waits for it, as facteur's smtpd must (its pre-auth child).
 * Built by bench/smtp with cc -static; not part of facteur. */
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static char in[65536];

static void put(char *out, size_t *o, const char *s)
{
	size_t l = strlen(s);

	if (*o + l <= 4096) {
		memcpy(out + *o, s, l);
		*o += l;
	}
}

static int session(void)
{
	size_t n = 0;
	int data = 0;
	char out[4096];

	if (write(1, "220 sink ESMTP\r\n", 16) != 16)
		return 1;
	for (;;) {
		ssize_t r = read(0, in + n, sizeof in - n);
		size_t o = 0;
		char *p = in, *e;

		if (r <= 0)
			return 0;
		n += (size_t)r;
		while ((e = memchr(p, '\n', (size_t)(in + n - p))) != NULL) {
			size_t l = (size_t)(e - p) + 1;

			if (data) {
				if (p[0] == '.' && l <= 3) {
					data = 0;
					put(out, &o, "250 ok\r\n");
				}
			} else if (l >= 4 && strncasecmp(p, "DATA", 4) == 0) {
				data = 1;
				put(out, &o, "354 go\r\n");
			} else if (l >= 4 && strncasecmp(p, "QUIT", 4) == 0) {
				put(out, &o, "221 bye\r\n");
				return write(1, out, o) == (ssize_t)o ? 0 : 1;
			} else {
				put(out, &o, "250 ok\r\n");
			}
			p = e + 1;
		}
		n = (size_t)(in + n - p);
		memmove(in, p, n);
		if (n == sizeof in)
			n = 0;	/* an overlong line: dropped, as a sink may */
		if (o > 0 && write(1, out, o) != (ssize_t)o)
			return 1;
	}
}

int main(void)
{
#ifdef PREAUTH_FORK
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return 1;
	if (pid == 0)
		return session();
	return waitpid(pid, &st, 0) == pid ? 0 : 1;
#else
	return session();
#endif
}
