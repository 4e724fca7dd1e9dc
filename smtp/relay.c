/* Remote recipients of a queue file: the root side and the agent.
 *
 *   root runner (holds the queue file's flock)     agent (default_privs)
 *   groups due recipients by next hop   --job-->   routes (mx.c), connects,
 *   (relayhost, else the domain), sends            speaks SMTP (client.c),
 *   a read-only fd of the queue file               keeps connections per
 *   with each job (SCM_RIGHTS)          <--res--   next hop for later jobs
 *   writes states, retry times, logs
 *
 * The agent never runs as root and never sees a writable queue file: it
 * gets a fresh O_RDONLY descriptor per job and closed every other one.
 * Records are rec.c's; the root trusts nothing in a result but its index
 * (bounded) and its class ('2', '4', '5'). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "priv.h"
#include "smtp.h"

#define REC_JOB 'J'      /* nexthop \n sender \n envid \n ret body utf8 off size */
#define REC_JRCPT 'R'    /* idx notify \n addr \n orcpt */
#define REC_GO 'G'
#define REC_RES 'r'      /* idx code \n status \n relay \n text */
#define REC_DONE 'g'

static pid_t agent_pid = -1;
static int agent_fd = -1;

/* ---------------- the agent ---------------- */

struct cached {
	char key[CONF_NAME_MAX];
	struct client_conn k;
};
static struct cached cache[RELAY_CACHE_MAX];

static struct client_conn *cache_get(const char *key)
{
	size_t i;

	for (i = 0; i < RELAY_CACHE_MAX; i++)
		if (cache[i].k.fd >= 0 && !strcasecmp(cache[i].key, key))
			return &cache[i].k;
	return NULL;
}

static struct client_conn *cache_slot(const struct conf *c, const char *key)
{
	size_t i, old = 0;

	for (i = 0; i < RELAY_CACHE_MAX; i++) {
		if (cache[i].k.fd < 0)
			break;
		if (cache[i].k.last_used < cache[old].k.last_used)
			old = i;
	}
	if (i == RELAY_CACHE_MAX) {
		client_quit(c, &cache[old].k);
		i = old;
	}
	str_copyz(cache[i].key, sizeof cache[i].key, key);
	return &cache[i].k;
}

static void all_results(struct client_rcpt *r, size_t n, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].code)
			continue;
		r[i].code = why[0] == '5' ? '5' : '4';
		if (str_copy(r[i].status, sizeof r[i].status, why, strcspn(why, " ")) < 0)
			str_copyz(r[i].status, sizeof r[i].status, r[i].code == '5' ? "5.0.0" : "4.0.0");
		str_copyz(r[i].text, sizeof r[i].text, why[0] && strchr(why, ' ') ? strchr(why, ' ') + 1 : why);
	}
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens a connection for key: every address in turn. */
static struct client_conn *connect_hop(const struct conf *c, const char *key, char *why, size_t whylen)
{
	static struct mx_route route;
	struct client_conn *k;
	size_t i;
	int rc;

	rc = mx_route(c, key, &route, why, whylen);
	if (rc != 0)
		return NULL;
	k = cache_slot(c, key);
	for (i = 0; i < route.n; i++) {
		if (client_open(c, k, &route.v[i], why, whylen) == 0)
			return k;
		log_msg(LOG_INFO, "relay %s: %s", key, why);
	}
	/* Postfix: only when every server answered 5xx is it permanent */
	return NULL;
}

static void run_job(const struct conf *c, const char *key, const struct client_msg *m, struct client_rcpt *r,
		    size_t n, char (*relay)[340])
{
	struct client_conn *k = cache_get(key);
	char why[CLIENT_TEXT_MAX];
	size_t done = 0, i, batch;
	int early, reused;

	if (k && mono_ms() - k->last_used > RELAY_CACHE_IDLE_MS) {
		client_quit(c, k);
		k = NULL;
	}
	while (done < n) {
		reused = k != NULL;
		if (!k && !(k = connect_hop(c, key, why, sizeof why))) {
			all_results(r + done, n - done, why);
			for (i = done; i < n; i++)
				str_copyz(relay[i], sizeof relay[i], "none");
			return;
		}
		batch = n - done > CLIENT_RCPT_MAX ? CLIENT_RCPT_MAX : n - done;
		client_send(c, k, m, r + done, batch, &early);
		if (early && reused) {
			/* a kept connection the server had closed: nothing was
			 * accepted, try once more on a new one */
			for (i = done; i < done + batch; i++)
				r[i].code = 0;
			k = NULL;
			continue;
		}
		for (i = done; i < done + batch; i++)
			str_copyz(relay[i], sizeof relay[i], k->relay);
		done += batch;
		if (k->fd < 0)
			k = NULL;
	}
}

/* Receives one byte with a descriptor: the fd, -2 EOF, -1 error. */
static int recv_fd(int sock)
{
	struct msghdr mh;
	struct iovec iov;
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr *cm;
	ssize_t r;
	int fd = -1;

	memset(&mh, 0, sizeof mh);
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -2;
	if (r < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

static int send_fd(int sock, int fd)
{
	struct msghdr mh;
	struct iovec iov;
	char byte = 'F', cbuf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr *cm;
	ssize_t r;

	memset(&mh, 0, sizeof mh);
	memset(cbuf, 0, sizeof cbuf);
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/* Splits a record payload on '\n' into at most n NUL-ended fields. */
static size_t split(char *p, size_t len, char **f, size_t n)
{
	size_t k = 0, i, start = 0;

	p[len] = '\0';
	for (i = 0; i <= len && k < n; i++) {
		if (i == len || p[i] == '\n') {
			p[i] = '\0';
			f[k++] = p + start;
			start = i + 1;
		}
	}
	return k;
}

static void agent_main(const struct conf *c, int sock)
{
	static char rec[SMTP_REC_MAX + 1];
	static struct client_rcpt rv[RETRY_MAX];
	static char relay[RETRY_MAX][340];
	struct client_msg m;
	char key[CONF_NAME_MAX], *f[8];
	struct buf out;
	size_t len, n, i;
	int type, fd;

	for (i = 0; i < RELAY_CACHE_MAX; i++)
		cache[i].k.fd = -1;
	buf_init(&out);
	for (;;) {
		fd = recv_fd(sock);
		if (fd == -2 || fd == -1)
			break;
		memset(&m, 0, sizeof m);
		m.fd = fd;
		n = 0;
		key[0] = '\0';
		for (;;) {
			if (rec_get(sock, &type, rec, SMTP_REC_MAX, &len) != 1)
				goto end;
			if (type == REC_GO)
				break;
			if (type == REC_JOB && split(rec, len, f, 4) == 4) {
				long long off = 0, size = 0;
				char ret = '-', body = '-', u8 = '0';
				str_copyz(key, sizeof key, f[0]);
				str_copyz(m.sender, sizeof m.sender, f[1]);
				str_copyz(m.envid, sizeof m.envid, f[2]);
				if (sscanf(f[3], "%c %c %c %lld %lld", &ret, &body, &u8, &off, &size) == 5) {
					m.ret = ret == '-' ? 0 : ret;
					m.body = body == '-' ? 0 : body;
					m.utf8 = u8 == '1';
					m.data_off = off;
					m.size = size;
				}
			} else if (type == REC_JRCPT && n < RETRY_MAX && split(rec, len, f, 3) == 3) {
				memset(&rv[n], 0, sizeof rv[n]);
				if (sscanf(f[0], "%u %u", &rv[n].idx, &rv[n].notify) != 2)
					continue;
				str_copyz(rv[n].addr, sizeof rv[n].addr, f[1]);
				str_copyz(rv[n].orcpt, sizeof rv[n].orcpt, f[2]);
				relay[n][0] = '\0';
				n++;
			}
		}
		if (fd >= 0 && key[0] && n)
			run_job(c, key, &m, rv, n, relay);
		else
			all_results(rv, n, "4.3.0 bad job for the relay agent");
		if (fd >= 0)
			close(fd);
		for (i = 0; i < n; i++) {
			buf_reset(&out);
			if (buf_printf(&out, "%u %c\n%s\n%s\n%s", rv[i].idx, rv[i].code ? rv[i].code : '4',
				       rv[i].status[0] ? rv[i].status : "4.0.0", relay[i][0] ? relay[i] : "none",
				       rv[i].text) < 0 ||
			    rec_put(sock, REC_RES, out.s, out.len) < 0)
				goto end;
		}
		if (rec_put(sock, REC_DONE, "", 0) < 0)
			break;
	}
end:
	for (i = 0; i < RELAY_CACHE_MAX; i++)
		client_quit(c, &cache[i].k);
	buf_free(&out);
}

static int agent_start(const struct conf *c)
{
	struct passwd *pw = NULL;
	int sv[2];
	pid_t pid;

	if (geteuid() == 0 && !(pw = getpwnam(c->default_privs))) {
		log_msg(LOG_ERR, "relay: default_privs user %s unknown", c->default_privs);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* keep nothing of the root side (no queue file, no lock): the
		 * socket moves above every fd, all else is closed, then the log
		 * is opened anew (its old fd number is gone too) */
		int sock = fcntl(sv[1], F_DUPFD_CLOEXEC, 64);
		if (sock < 0)
			_exit(1);
		close_range(3, (unsigned)sock - 1, 0);
		close_range((unsigned)sock + 1, ~0U, 0);
		log_open("smtp", c->log);
		if (chdir("/") < 0 || (pw && priv_drop(pw->pw_uid, pw->pw_gid, pw->pw_name) < 0)) {
			log_msg(LOG_ERR, "relay agent: cannot drop privileges: %m");
			_exit(1);
		}
		agent_main(c, sock);
		_exit(0);
	}
	close(sv[1]);
	agent_pid = pid;
	agent_fd = sv[0];
	return 0;
}

void relay_end(void)
{
	int st;

	if (agent_fd >= 0)
		close(agent_fd);
	agent_fd = -1;
	if (agent_pid > 0)
		while (waitpid(agent_pid, &st, 0) < 0 && errno == EINTR)
			;
	agent_pid = -1;
}

/* ---------------- the root side ---------------- */

static const char *domain_of(const char *addr)
{
	size_t at = addr_at(addr, strlen(addr));

	return addr[at] ? addr + at + 1 : "";
}

static int nexthop_of(const struct conf *c, const struct q_rcpt *r, char *out, size_t len)
{
	const char *d = domain_of(r->addr);

	if (c->relayhost[0])
		return str_copyz(out, len, c->relayhost);
	/* a domain literal user@[1.2.3.4] goes to that address */
	return str_copyz(out, len, d);
}

/* Sends one job; fills code/status/relay/text of the recipients in idx. */
static int job(const struct conf *c, const char *path, const struct q_env *e, const char *key, size_t *idx, size_t n,
	       struct client_rcpt *res, char (*relay)[340])
{
	static char rec[SMTP_REC_MAX + 1];
	struct buf b;
	size_t i, len;
	int fd, type, r = -1;

	for (i = 0; i < n; i++)
		res[i].code = 0;
	if (agent_fd < 0 && agent_start(c) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	buf_init(&b);
	if (send_fd(agent_fd, fd) < 0)
		goto dead;
	if (buf_printf(&b, "%s\n%s\n%s\n%c %c %c %lld %lld", key, e->sender, e->envid, e->ret ? e->ret : '-',
		       e->body ? e->body : '-', e->utf8 ? '1' : '0', (long long)e->data_off, (long long)e->size) < 0 ||
	    rec_put(agent_fd, REC_JOB, b.s, b.len) < 0)
		goto dead;
	for (i = 0; i < n; i++) {
		const struct q_rcpt *q = &e->r.v[idx[i]];
		buf_reset(&b);
		if (buf_printf(&b, "%zu %u\n%s\n%s", i, q->notify, q->addr, q->orcpt) < 0 ||
		    rec_put(agent_fd, REC_JRCPT, b.s, b.len) < 0)
			goto dead;
	}
	if (rec_put(agent_fd, REC_GO, "", 0) < 0)
		goto dead;
	for (;;) {
		char *f[4];
		unsigned long k;
		char *end;
		if (rec_get(agent_fd, &type, rec, SMTP_REC_MAX, &len) != 1)
			goto dead;
		if (type == REC_DONE)
			break;
		if (type != REC_RES || split(rec, len, f, 4) != 4)
			goto dead;
		k = strtoul(f[0], &end, 10);
		if (k >= n || *end != ' ' || (end[1] != '2' && end[1] != '4' && end[1] != '5'))
			goto dead;
		res[k].code = end[1];
		str_copyz(res[k].status, sizeof res[k].status, f[1]);
		str_copyz(relay[k], sizeof relay[k], f[2]);
		str_copyz(res[k].text, sizeof res[k].text, f[3]);
	}
	r = 0;
	goto out;
dead:
	log_msg(LOG_ERR, "%s: relay agent failed", e->id);
	relay_end();
out:
	close(fd);
	buf_free(&b);
	return r;
}

size_t relay_pending(const struct q_env *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->r.n; i++)
		n += e->r.v[i].kind == RCPT_REMOTE && e->r.v[i].state == Q_PENDING;
	return n;
}

static void apply(const struct conf *c, int fd, struct q_env *e, struct q_rcpt *q, const struct client_rcpt *res,
		  const char *relay, long long *next, long long now)
{
	char reason[Q_REASON_LEN + 1];
	long long delay = now - e->time;
	const char *status;

	if (snprintf(reason, sizeof reason, "%s %s", res->status, res->text) < 0)
		reason[0] = '\0';
	if (res->code == '2') {
		status = "sent";
		queue_set_state(fd, q, Q_DONE, "");
		*next = 0;
	} else if (res->code == '5') {
		status = "bounced";
		queue_set_state(fd, q, Q_FAILED, reason);
		*next = 0;
	} else if (delay >= (long long)c->maximal_queue_lifetime) {
		/* too old: bounce with the last reply (Postfix's wording) */
		status = "expired";
		queue_set_state(fd, q, Q_FAILED, reason);
		*next = 0;
	} else {
		status = "deferred";
		queue_set_state(fd, q, Q_DEFERRED, reason);
		*next = now + retry_backoff(c, q->attempts);
	}
	log_msg(LOG_INFO, "%s: to=<%s>, relay=%s, delay=%lld, dsn=%s, status=%s (%s)", e->id, q->addr, relay, delay,
		res->status, status, res->text);
	if (!strcmp(status, "expired"))
		log_msg(LOG_INFO, "%s: from=<%s>, status=expired, returned to sender", e->id, e->sender);
}

int relay_file(const struct conf *c, int fd, const char *path, struct q_env *e, int retry, char *notice,
	       size_t noticelen)
{
	static struct client_rcpt res[RETRY_MAX];
	static char relay[RETRY_MAX][340];
	char key[CONF_NAME_MAX], k2[CONF_NAME_MAX];
	long long *next, now = (long long)time(NULL);
	size_t *idx, i, j, n = e->r.n < RETRY_MAX ? e->r.n : RETRY_MAX, cnt;
	unsigned char *due;
	int changed = 0, deferred = 0, warned = 0;

	if (noticelen)
		notice[0] = '\0';
	for (i = 0; i < n && e->r.v[i].kind != RCPT_REMOTE; i++)
		;
	if (i == n)
		return 0;
	next = calloc(n, sizeof *next);
	idx = calloc(n, sizeof *idx);
	due = calloc(n, 1);
	if (!next || !idx || !due) {
		free(next);
		free(idx);
		free(due);
		return -1;
	}
	retry_load(c, e->id, next, n, &warned);
	for (i = 0; i < n; i++) {
		struct q_rcpt *q = &e->r.v[i];
		if (q->kind != RCPT_REMOTE)
			continue;
		if (q->state == Q_PENDING)
			due[i] = 1;
		else if (q->state == Q_DEFERRED && retry &&
			 (now >= next[i] || retry_forced(domain_of(q->addr), e->sender)))
			due[i] = 1;
		else if (q->state == Q_DEFERRED && now - e->time >= (long long)c->maximal_queue_lifetime) {
			/* expired while waiting: bounce with the last reason */
			log_msg(LOG_INFO, "%s: to=<%s>, status=expired (%s)", e->id, q->addr, q->reason);
			queue_set_state(fd, q, Q_FAILED, q->reason);
			next[i] = 0;
			changed = 1;
		}
	}
	/* one job per next hop, recipients in queue order */
	for (i = 0; i < n; i++) {
		if (!due[i] || nexthop_of(c, &e->r.v[i], key, sizeof key) < 0)
			continue;
		cnt = 0;
		for (j = i; j < n; j++) {
			if (!due[j] || nexthop_of(c, &e->r.v[j], k2, sizeof k2) < 0 || strcasecmp(key, k2))
				continue;
			due[j] = 0;
			idx[cnt++] = j;
		}
		if (job(c, path, e, key, idx, cnt, res, relay) < 0)
			for (j = 0; j < cnt; j++) {
				res[j].code = '4';
				str_copyz(res[j].status, sizeof res[j].status, "4.3.0");
				str_copyz(res[j].text, sizeof res[j].text, "relay agent failed");
				str_copyz(relay[j], sizeof relay[j], "none");
			}
		for (j = 0; j < cnt; j++) {
			if (!res[j].code)
				continue;
			apply(c, fd, e, &e->r.v[idx[j]], &res[j], relay[j], &next[idx[j]], now);
			changed = 1;
		}
	}
	for (i = 0; i < n; i++)
		deferred |= e->r.v[i].kind == RCPT_REMOTE && e->r.v[i].state == Q_DEFERRED;
	if (deferred && !warned && c->delay_warning_time && now - e->time >= (long long)c->delay_warning_time) {
		/* once per message, as Postfix's delay_warning_time; the
		 * caller delivers the notice */
		if (bounce_delay_queue(c, fd, e, notice, noticelen) == 0)
			warned = changed = 1;
	}
	if (changed && deferred)
		retry_save(c, e->id, next, n, warned);
	else if (changed)
		retry_remove(c, e->id);
	free(next);
	free(idx);
	free(due);
	return 0;
}
