/* Logging to syslog (facility mail) or a file; never to stderr. */
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_debug;
static int log_fd = -1;           /* file destination, -1 = syslog */
static int sink_fd = -1;          /* log_fd, or where openlog's socket went */
static char log_ident[32] = "facteur";
static char conn_id[16];

void log_new_id(void)
{
	struct timeval tv;
	unsigned long v;

	gettimeofday(&tv, NULL);
	/* unique enough per host: pid and microseconds */
	v = ((unsigned long)getpid() << 20) ^ (unsigned long)tv.tv_usec ^ ((unsigned long)tv.tv_sec << 8);
	snprintf(conn_id, sizeof conn_id, "%08lX", v & 0xffffffffUL);
}

const char *log_id(void)
{
	if (!conn_id[0])
		log_new_id();
	return conn_id;
}

void log_open(const char *ident, const char *dest)
{
	snprintf(log_ident, sizeof log_ident, "%s", ident);
	log_new_id();
	if (log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	}
	if (dest && *dest && strcmp(dest, "syslog") != 0)
		log_fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	sink_fd = log_fd;
	if (log_fd < 0) {
		/* openlog's socket takes the lowest free descriptor (this
		 * process has one thread): remember it, so that a child that
		 * closes everything else need not list /proc/self/fd */
		int lo = fcntl(0, F_DUPFD_CLOEXEC, 0);
		if (lo >= 0)
			close(lo);
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		sink_fd = lo;
	}
}

void log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	else
		closelog();
	log_fd = sink_fd = -1;
}

int log_sink_fd(void)
{
	return sink_fd;
}

/* with_id: "ID: " before the text (every line but those in another
 * program's shape, which carry the id in their own place) */
static void vlog(int prio, int with_id, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	if (log_fd < 0) {
		char body[1900];
		vsnprintf(body, sizeof body, fmt, ap);
		if (with_id)
			syslog(prio, "%s: %s", log_id(), body);
		else
			syslog(prio, "%s", body);
		return;
	}
	{
		time_t t = time(NULL);
		struct tm tm;
		char ts[32];
		localtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		if (with_id)
			n = snprintf(line, sizeof line, "%s %s[%ld]: %s: ", ts, log_ident, (long)getpid(), log_id());
		else
			n = snprintf(line, sizeof line, "%s %s[%ld]: ", ts, log_ident, (long)getpid());
	}
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	{
		int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
		size_t len;
		if (m < 0)
			return;
		len = (size_t)n + (size_t)m;
		if (len > sizeof line - 2)
			len = sizeof line - 2;
		line[len++] = '\n';
		/* one write per line: O_APPEND keeps lines of several processes whole */
		if (write(log_fd, line, len) < 0) {
			/* nowhere else to report it */
		}
	}
}

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	vlog(prio, 1, fmt, ap);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, 1, fmt, ap);
	va_end(ap);
}

void log_msg_shaped(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, 0, fmt, ap);
	va_end(ap);
}

void log_trace(char dir, const char *p, unsigned long n)
{
	char out[512];
	size_t o = 0;
	unsigned long i;

	if (!log_debug)
		return;
	for (i = 0; i < n && o + 5 < sizeof out; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			out[o] = '\0';
			log_msg(LOG_DEBUG, "%s %s", dir == '<' ? "<<<" : ">>>", out);
			o = 0;
		} else if (c == '\r') {
			continue;
		} else if (c < 32 || c == 127) {
			o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (o) {
		out[o] = '\0';
		log_msg(LOG_DEBUG, "%s %s", dir == '<' ? "<<<" : ">>>", out);
	}
}
