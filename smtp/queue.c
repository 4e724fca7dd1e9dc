/* Queue files.  A message is accepted only once its file is complete,
 * fsync'ed and renamed from tmp/ into q/ (and q/ fsync'ed): a crash before
 * that leaves nothing visible, after it nothing lost.  The envelope is text
 * so `cat` shows it; every recipient line starts with a fixed-width
 * state/attempts/reason field that delivery overwrites in place, so the
 * file never needs rewriting:
 *
 *   FACTEUR-QUEUE 1
 *   id 5C3A1E2F4B            time 1700000000      sender a@b (empty for <>)
 *   uid -1   ret F|H|-   body 7|8|-   utf8 0|1   envid X   peer P   helo H   with W
 *   rcpt <state><attempts:3> <reason:120> <kind>\t<notify>\t<user>\t<addr>\t<orig>\t<orcpt>
 *   data
 *   <the message, LF line ends>
 *
 * kind is 'l' (local mailbox) or 'r' (remote: relay.c sends it; the next
 * attempt time of a deferred one is in queue_directory/defer/ID, retry.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "io.h"
#include "log.h"
#include "smtp.h"

#define Q_MAGIC "FACTEUR-QUEUE 1\n"

static unsigned q_counter;

int queue_path(const struct conf *c, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/q%s%s", c->queue_directory, name ? "/" : "", name ? name : "");

	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int mkdir_mode(const char *base, const char *sub, mode_t mode)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof p, "%s/%s", base, sub);

	if (n < 0 || (size_t)n >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int queue_mkdirs(const struct conf *c)
{
	char p[PATH_MAX];
	int n;

	/* 0755: users reach maildrop/ through it; tmp/ and q/ stay private */
	if (mkdir(c->queue_directory, 0755) < 0 && errno != EEXIST)
		return -1;
	/* pickup/ and corrupt/: maildrop files out of their owners' reach */
	if (mkdir_mode(c->queue_directory, "tmp", 0700) < 0 || mkdir_mode(c->queue_directory, "q", 0700) < 0 ||
	    mkdir_mode(c->queue_directory, "pickup", 0700) < 0 ||
	    mkdir_mode(c->queue_directory, "corrupt", 0700) < 0)
		return -1;
	/* maildrop: anyone may drop a file, nobody may list or take others'
	 * (sticky, no read), as Postfix's maildrop was before postdrop */
	if (geteuid() == 0) {
		n = snprintf(p, sizeof p, "%s/maildrop", c->queue_directory);
		if (n < 0 || (size_t)n >= sizeof p) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(p, 01733) < 0 && errno != EEXIST)
			return -1;
		if (chmod(p, 01733) < 0)
			return -1;
	}
	return 0;
}

/* tmp/t<pid>.<n> files of processes that died while writing them (a crash
 * between create and commit or abort): removed by the queue runner once
 * the pid is gone and the file has not changed for QUEUE_TMP_STALE_SEC. */

void queue_sweep_tmp(const struct conf *c)
{
	char dir[PATH_MAX];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;
	int n = snprintf(dir, sizeof dir, "%s/tmp", c->queue_directory);

	if (n < 0 || (size_t)n >= sizeof dir || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid;
		if (de->d_name[0] != 't')
			continue;
		errno = 0;
		pid = strtol(de->d_name + 1, &end, 10);
		if (errno || *end != '.' || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime >= QUEUE_TMP_STALE_SEC)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int queue_create(const struct conf *c, struct q_writer *w)
{
	struct timeval tv;
	struct stat st;
	int n, tries;

	memset(w, 0, sizeof *w);
	w->fd = w->dirfd = -1;
	for (tries = 0; tries < 100; tries++) {
		n = snprintf(w->tmp, sizeof w->tmp, "%s/tmp/t%ld.%u", c->queue_directory, (long)getpid(), q_counter++);
		if (n < 0 || (size_t)n >= sizeof w->tmp) {
			errno = ENAMETOOLONG;
			return -1;
		}
		w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		/* the directories are made on first use (not per message: a
		 * chmod per message is a metadata write per message) */
		if (w->fd < 0 && errno == ENOENT && tries == 0) {
			if (queue_mkdirs(c) < 0)
				return -1;
			q_counter--;
			continue;
		}
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	if (w->fd < 0)
		return -1;
	/* Postfix's ids: microseconds and the inode number, unique as long as
	 * the file exists since no two live files share an inode */
	if (fstat(w->fd, &st) < 0 || gettimeofday(&tv, NULL) < 0)
		goto fail;
	n = snprintf(w->id, sizeof w->id, "%05lX%llX", (unsigned long)tv.tv_usec & 0xfffff,
		     (unsigned long long)st.st_ino);
	if (n < 0 || (size_t)n >= sizeof w->id)
		goto fail;
	return 0;
fail:
	queue_abort(w);
	return -1;
}

int queue_write(struct q_writer *w, const void *p, size_t n)
{
	if (io_write_all(w->fd, p, n) < 0)
		return -1;
	w->bytes += n;
	return 0;
}

/* A value on one line: controls, tab and non-ASCII become '?'. */
static int add_safe(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (buf_addc(b, ch < 0x20 || ch == 0x7f ? '?' : (char)ch) < 0)
			return -1;
	}
	return 0;
}

static int env_rcpt(struct buf *b, const struct q_rcpt *r)
{
	char reason[Q_REASON_LEN + 1];
	size_t i, n = strlen(r->reason);

	for (i = 0; i < Q_REASON_LEN; i++) {
		unsigned char ch = i < n ? (unsigned char)r->reason[i] : ' ';
		reason[i] = (ch < 0x20 || ch >= 0x7f) ? ' ' : (char)ch;
	}
	reason[Q_REASON_LEN] = '\0';
	if (buf_printf(b, "rcpt %c%03u %s %c\t%x\t", r->state ? r->state : Q_PENDING,
		       r->attempts > 999 ? 999 : r->attempts, reason, r->kind, r->notify & 0xf) < 0)
		return -1;
	if (add_safe(b, r->user) < 0 || buf_addc(b, '\t') < 0 || add_safe(b, r->addr) < 0 ||
	    buf_addc(b, '\t') < 0 || add_safe(b, r->orig) < 0 || buf_addc(b, '\t') < 0 ||
	    add_safe(b, r->orcpt) < 0 || buf_addc(b, '\n') < 0)
		return -1;
	return 0;
}

int queue_write_env(struct q_writer *w, const struct q_env *e)
{
	struct buf b;
	size_t i;
	int r = -1;

	buf_init(&b);
	if (buf_printf(&b, Q_MAGIC "id %s\ntime %lld\nsender ", w->id, e->time) < 0 ||
	    add_safe(&b, e->sender) < 0 ||
	    buf_printf(&b, "\nuid %lld\nret %c\nbody %c\nutf8 %d\nenvid ", e->uid,
		       e->ret ? e->ret : '-', e->body ? e->body : '-', e->utf8 ? 1 : 0) < 0 ||
	    add_safe(&b, e->envid) < 0 || buf_adds(&b, "\npeer ") < 0 || add_safe(&b, e->peer) < 0 ||
	    buf_adds(&b, "\nhelo ") < 0 || add_safe(&b, e->helo) < 0 ||
	    buf_adds(&b, "\nwith ") < 0 || add_safe(&b, e->with) < 0 || buf_addc(&b, '\n') < 0)
		goto out;
	for (i = 0; i < e->r.n; i++)
		if (env_rcpt(&b, &e->r.v[i]) < 0)
			goto out;
	if (buf_adds(&b, "data\n") < 0)
		goto out;
	r = queue_write(w, b.s, b.len);
out:
	buf_free(&b);
	return r;
}

int queue_commit(const struct conf *c, struct q_writer *w)
{
	char final[PATH_MAX], dir[PATH_MAX];
	int dfd, saved;

	if (fsync(w->fd) < 0)
		goto fail;
	if (queue_path(c, w->id, final, sizeof final) < 0 || queue_path(c, NULL, dir, sizeof dir) < 0)
		goto fail;
	/* never replace a live file (cannot happen with inode ids; be sure) */
	if (link(w->tmp, final) < 0 && (errno != ENOENT || queue_mkdirs(c) < 0 || link(w->tmp, final) < 0))
		goto fail;
	unlink(w->tmp);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		saved = errno;
		if (dfd >= 0)
			close(dfd);
		unlink(final);
		close(w->fd);
		w->fd = -1;
		errno = saved;
		return -1;
	}
	close(dfd);
	close(w->fd);
	w->fd = -1;
	return 0;
fail:
	saved = errno;
	queue_abort(w);
	errno = saved;
	return -1;
}

void queue_abort(struct q_writer *w)
{
	int saved = errno;

	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp[0])
		unlink(w->tmp);
	w->tmp[0] = '\0';
	errno = saved;
}

void queue_env_free(struct q_env *e)
{
	rcpt_list_free(&e->r);
}

/* Next tab-separated field of a recipient line. */
static int field(char **p, char *out, size_t outlen)
{
	char *t = strchr(*p, '\t');
	size_t n = t ? (size_t)(t - *p) : strlen(*p);

	if (str_copy(out, outlen, *p, n) < 0)
		return -1;
	*p += n + (t ? 1 : 0);
	return 0;
}

static int parse_rcpt(char *line, off_t off, struct q_env *e)
{
	struct q_rcpt *r;
	char *p, tmp[8];
	size_t i;

	if (strlen(line) < 5 + 4 + 1 + Q_REASON_LEN + 1 + 1)
		return -1;
	if (e->r.n == e->r.cap) {
		size_t ncap = e->r.cap ? e->r.cap * 2 : 8;
		struct q_rcpt *v = realloc(e->r.v, ncap * sizeof *v);
		if (!v)
			return -1;
		e->r.v = v;
		e->r.cap = ncap;
	}
	r = &e->r.v[e->r.n];
	memset(r, 0, sizeof *r);
	r->off = off + 5;
	r->state = line[5];
	r->attempts = (unsigned)atoi(str_copy(tmp, sizeof tmp, line + 6, 3) == 0 ? tmp : "0");
	memcpy(r->reason, line + 10, Q_REASON_LEN);
	i = Q_REASON_LEN;
	while (i > 0 && r->reason[i - 1] == ' ')
		i--;
	r->reason[i] = '\0';
	p = line + 10 + Q_REASON_LEN + 1;
	r->kind = p[0];
	if (p[1] != '\t')
		return -1;
	p += 2;
	r->notify = (unsigned)strtoul(p, &p, 16);
	if (*p++ != '\t')
		return -1;
	if (field(&p, r->user, sizeof r->user) < 0 || field(&p, r->addr, sizeof r->addr) < 0 ||
	    field(&p, r->orig, sizeof r->orig) < 0 || field(&p, r->orcpt, sizeof r->orcpt) < 0)
		return -1;
	e->r.n++;
	return 0;
}

static int parse_line(char *line, off_t off, struct q_env *e)
{
	char *v = strchr(line, ' ');

	if (!strncmp(line, "rcpt ", 5))
		return parse_rcpt(line, off, e);
	v = v ? v + 1 : line + strlen(line);
	if (!strncmp(line, "id ", 3))
		return str_copyz(e->id, sizeof e->id, v);
	if (!strncmp(line, "time ", 5))
		e->time = atoll(v);
	else if (!strncmp(line, "sender ", 7))
		return str_copyz(e->sender, sizeof e->sender, v);
	else if (!strncmp(line, "uid ", 4))
		e->uid = atoll(v);
	else if (!strncmp(line, "ret ", 4))
		e->ret = *v == '-' ? 0 : *v;
	else if (!strncmp(line, "body ", 5))
		e->body = *v == '-' ? 0 : *v;
	else if (!strncmp(line, "utf8 ", 5))
		e->utf8 = *v == '1';
	else if (!strncmp(line, "envid ", 6))
		return str_copyz(e->envid, sizeof e->envid, v);
	else if (!strncmp(line, "peer ", 5))
		return str_copyz(e->peer, sizeof e->peer, v);
	else if (!strncmp(line, "helo ", 5))
		return str_copyz(e->helo, sizeof e->helo, v);
	else if (!strncmp(line, "with ", 5))
		return str_copyz(e->with, sizeof e->with, v);
	return 0;
}

int queue_load(int fd, struct q_env *e)
{
	struct buf b;
	struct stat st;
	size_t pos = 0;
	int r = -1;

	memset(e, 0, sizeof *e);
	e->uid = -1;
	buf_init(&b);
	if (fstat(fd, &st) < 0)
		return -1;
	e->size = st.st_size;
	/* read until the "data" line */
	for (;;) {
		ssize_t got;
		char *d;
		if (buf_reserve(&b, 65536) < 0)
			goto out;
		got = pread(fd, b.s + b.len, 65536, (off_t)b.len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			errno = EINVAL;
			goto out;
		}
		b.len += (size_t)got;
		b.s[b.len] = '\0';
		if (b.len >= sizeof Q_MAGIC - 1 && memcmp(b.s, Q_MAGIC, sizeof Q_MAGIC - 1)) {
			errno = EINVAL;
			goto out;
		}
		d = memmem(b.s, b.len, "\ndata\n", 6);
		if (d) {
			e->data_off = (off_t)(d - b.s) + 6;
			*(d + 1) = '\0';
			break;
		}
		if (b.len > Q_ENV_MAX) {
			errno = EFBIG;
			goto out;
		}
	}
	pos = sizeof Q_MAGIC - 1;
	while (b.s[pos]) {
		char *nl = strchr(b.s + pos, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (parse_line(b.s + pos, (off_t)pos, e) < 0) {
			errno = EINVAL;
			goto out;
		}
		pos = (size_t)(nl - b.s) + 1;
	}
	r = e->id[0] ? 0 : -1;
	if (r < 0)
		errno = EINVAL;
out:
	buf_free(&b);
	if (r < 0)
		queue_env_free(e);
	return r;
}

static int set_state(int fd, struct q_rcpt *r, char state, const char *reason, int sync)
{
	char f[4 + 1 + Q_REASON_LEN + 1];
	size_t i, n = reason ? strlen(reason) : 0;
	int k;

	if (r->attempts < 999 && (state == Q_DEFERRED || state == Q_DONE || state == Q_FAILED))
		r->attempts++;
	k = snprintf(f, sizeof f, "%c%03u ", state, r->attempts);
	if (k != 5)
		return -1;
	for (i = 0; i < Q_REASON_LEN; i++) {
		unsigned char ch = i < n ? (unsigned char)reason[i] : ' ';
		f[5 + i] = (ch < 0x20 || ch >= 0x7f) ? ' ' : (char)ch;
	}
	if (pwrite(fd, f, 5 + Q_REASON_LEN, r->off) != 5 + Q_REASON_LEN || (sync && fdatasync(fd) < 0)) {
		/* every caller's failure is handled here: the state in memory
		 * stays what the file says, so the recipient is tried again;
		 * but a delivery that happened is done (the file's removal
		 * records it when every recipient is done; if it stays, the
		 * next run delivers again: said in the log) */
		log_msg(LOG_ERR, "cannot record <%s> as %c in its queue file: %m (%s)", r->addr, state,
			state == Q_DONE ? "delivered; may be delivered again" : "it will be tried again");
		if (state == Q_DONE) {
			r->state = Q_DONE;
			r->reason[0] = '\0';
		}
		return -1;
	}
	r->state = state;
	if (reason)
		str_copy(r->reason, sizeof r->reason, reason, n > Q_REASON_LEN ? Q_REASON_LEN : n);
	else
		r->reason[0] = '\0';
	return 0;
}

int queue_set_state(int fd, struct q_rcpt *r, char state, const char *reason)
{
	return set_state(fd, r, state, reason, 1);
}

int queue_set_state_nosync(int fd, struct q_rcpt *r, char state, const char *reason)
{
	return set_state(fd, r, state, reason, 0);
}

int queue_received(const struct conf *c, const struct q_env *e, struct buf *b)
{
	char date[64];
	size_t i;
	int single = e->r.n > 0;

	if (str_rfc5322_date(e->time, date, sizeof date) < 0)
		return -1;
	for (i = 1; i < e->r.n; i++)
		if (strcmp(e->r.v[i].orig, e->r.v[0].orig))
			single = 0;
	if (buf_adds(b, "Received: ") < 0)
		return -1;
	if (e->helo[0] || strcmp(e->peer, "local")) {
		if (buf_adds(b, "from ") < 0 || add_safe(b, e->helo[0] ? e->helo : "unknown") < 0)
			return -1;
		if (!strcmp(e->peer, "local") ? buf_adds(b, " (localhost [local])") < 0
					      : (buf_adds(b, " (unknown [") < 0 ||
						 (strchr(e->peer, ':') && buf_adds(b, "IPv6:") < 0) ||
						 add_safe(b, e->peer) < 0 ||
						 buf_adds(b, "])") < 0))
			return -1;
		if (buf_adds(b, "\n\t") < 0)
			return -1;
	}
	/* Postfix's smtpd_sasl_authenticated_header */
	if (e->auth[0] && (buf_adds(b, "(Authenticated sender: ") < 0 || add_safe(b, e->auth) < 0 ||
			   buf_adds(b, ")\n\t") < 0))
		return -1;
	if (buf_printf(b, "by %s (facteur", c->myhostname) < 0)
		return -1;
	if (e->uid >= 0 && buf_printf(b, ", from userid %lld", e->uid) < 0)
		return -1;
	if (buf_adds(b, ")") < 0)
		return -1;
	if (e->with[0] && buf_printf(b, " with %s", e->with) < 0)
		return -1;
	if (buf_printf(b, " id %s", e->id) < 0)
		return -1;
	if (single && (buf_adds(b, "\n\tfor <") < 0 || add_safe(b, e->r.v[0].orig) < 0 || buf_adds(b, ">") < 0))
		return -1;
	return buf_printf(b, "; %s\n", date);
}

static int qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_list(const struct conf *c, int fd)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	struct buf out;
	char **names = NULL;
	size_t n = 0, cap = 0, i, shown = 0;
	unsigned long long total = 0;

	if (queue_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	buf_init(&out);
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (n == cap) {
				char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *v);
				if (!v)
					break;
				names = v;
			}
			if (!(names[n] = strdup(de->d_name)))
				break;
			n++;
		}
		closedir(d);
	} else if (errno != ENOENT) {
		return -1;
	}
	if (n)
		qsort(names, n, sizeof *names, qcmp);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX], when[64];
		struct q_env e;
		struct tm tm;
		time_t t;
		size_t k;
		int qfd;
		if (queue_path(c, names[i], path, sizeof path) < 0)
			continue;
		qfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (qfd < 0)
			continue;
		if (queue_load(qfd, &e) < 0) {
			close(qfd);
			continue;
		}
		close(qfd);
		if (!shown++)
			buf_adds(&out, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
		t = (time_t)e.time;
		localtime_r(&t, &tm);
		if (!strftime(when, sizeof when, "%a %b %e %H:%M:%S", &tm))
			when[0] = '\0';
		buf_printf(&out, "%-11s %8lld %-20s  %s\n", e.id, (long long)(e.size - e.data_off), when,
			   e.sender[0] ? e.sender : "MAILER-DAEMON");
		total += (unsigned long long)(e.size - e.data_off);
		for (k = 0; k < e.r.n; k++) {
			struct q_rcpt *r = &e.r.v[k];
			if (r->state == Q_DONE || r->state == Q_BOUNCED)
				continue;
			if (r->reason[0])
				buf_printf(&out, "%*s(%s)\n", 42, "", r->reason);
			buf_printf(&out, "%*s%s\n", 42, "", r->addr);
		}
		buf_addc(&out, '\n');
		queue_env_free(&e);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!shown)
		buf_adds(&out, "Mail queue is empty\n");
	else
		buf_printf(&out, "-- %llu Kbytes in %zu Request%s.\n", (total + 1023) / 1024, shown,
			   shown == 1 ? "" : "s");
	i = io_write_all(fd, out.s, out.len) < 0 ? (size_t)-1 : 0;
	buf_free(&out);
	return i ? -1 : 0;
}
