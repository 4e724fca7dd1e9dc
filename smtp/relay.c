/* Remote recipients of queue files: the root side and the agents (a pool
 * of them, jobs in parallel: see "the root side" below).
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
#include <poll.h>
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
#include "fdpass.h"
#include "log.h"
#include "priv.h"
#include "smtp.h"

#define REC_JOB 'J'      /* nexthop \n sender \n envid \n ret body utf8 off size */
#define REC_JRCPT 'R'    /* idx notify \n addr \n orcpt */
#define REC_GO 'G'
#define REC_RES 'r'      /* idx code \n status \n relay \n text */
#define REC_DONE 'g'

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
	char one;

	for (i = 0; i < RELAY_CACHE_MAX; i++)
		cache[i].k.fd = -1;
	buf_init(&out);
	for (;;) {
		/* a job starts with its queue file: one byte and the fd
		 * (job_send); EOF, an error or anything else ends the agent */
		fd = fdpass_recv(sock, &one, 1);
		if (fd < 0)
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
		/* an agent keeps the connection of one next hop only, so the
		 * runner knows how many each next hop has (relay_submit) */
		for (i = 0; i < RELAY_CACHE_MAX; i++)
			if (cache[i].k.fd >= 0 && strcasecmp(cache[i].key, key))
				client_quit(c, &cache[i].k);
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

/* ---------------- the root side: a pool of agents ----------------
 * The full runner's pass hands the due remote recipients of each queue
 * file, one job per next hop, to at most default_process_limit agents at
 * once, at most smtp_destination_concurrency_limit of them holding a
 * connection to one next hop (an agent keeps its last next hop's
 * connection, and no other).  The jobs run in parallel; the runner alone
 * writes their results into the queue files, as each comes back, and
 * hands a file back to its caller (relay_done) when its last job ends. */

struct rfile {                  /* a queue file with jobs out */
	int fd;
	const char *path;
	struct q_env *e;
	void *tag;
	long long *next;        /* retry times, per recipient index */
	size_t n, jobs;
	int changed, warned;
	char notice[Q_ID_MAX];
	struct rfile *done_next;
};

struct rjob {
	struct rfile *f;
	char key[CONF_NAME_MAX];
	size_t cnt;
	size_t *idx;            /* recipient indexes in the file */
	unsigned char *have;    /* a result came back */
	struct rjob *next;
};

struct agent {
	pid_t pid;              /* 0: free slot */
	int fd;
	struct rjob *job;       /* in flight, or NULL: idle */
	char key[CONF_NAME_MAX];        /* the next hop whose connection it keeps */
};

static struct agent *pool;
static size_t npool, inflight, nwait;
static struct rjob *wait_head, *wait_tail;
static struct rfile *done_head, *done_tail;

static int agent_start(const struct conf *c, struct agent *a)
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
		/* keep nothing of the root side (no queue file, no lock, no
		 * other agent's socket): the socket moves above every fd, all
		 * else is closed, then the log is opened anew (its old fd
		 * number is gone too) */
		int sock = fcntl(sv[1], F_DUPFD_CLOEXEC, 64);
		if (sock < 0)
			_exit(1);
		log_close();
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
	a->pid = pid;
	a->fd = sv[0];
	a->job = NULL;
	a->key[0] = '\0';
	return 0;
}

/* Closing the socket ends the agent (it QUITs its connection). */
static void agent_stop(struct agent *a)
{
	int st;

	if (a->fd >= 0)
		close(a->fd);
	if (a->pid > 0)
		while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
			;
	a->fd = -1;
	a->pid = 0;
	a->job = NULL;
	a->key[0] = '\0';
}

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

size_t relay_pending(const struct q_env *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->r.n; i++)
		n += e->r.v[i].kind == RCPT_REMOTE && e->r.v[i].state == Q_PENDING;
	return n;
}

/* Records one recipient's result, not synced (the caller syncs once per
 * job: its recipients share one transaction, hence one reply). */
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
		queue_set_state_nosync(fd, q, Q_DONE, "");
		*next = 0;
	} else if (res->code == '5') {
		status = "bounced";
		queue_set_state_nosync(fd, q, Q_FAILED, reason);
		*next = 0;
	} else if (delay >= (long long)c->maximal_queue_lifetime) {
		/* too old: bounce with the last reply (Postfix's wording) */
		status = "expired";
		queue_set_state_nosync(fd, q, Q_FAILED, reason);
		*next = 0;
	} else {
		status = "deferred";
		queue_set_state_nosync(fd, q, Q_DEFERRED, reason);
		*next = now + retry_backoff(c, q->attempts);
	}
	log_msg(LOG_INFO, "%s: to=<%s>, relay=%s, delay=%lld, dsn=%s, status=%s (%s)", e->id, q->addr, relay, delay,
		res->status, status, res->text);
	if (!strcmp(status, "expired"))
		log_msg(LOG_INFO, "%s: from=<%s>, status=expired, returned to sender", e->id, e->sender);
}

/* After a file's last job: the delay notice, the retry schedule. */
static void file_end(const struct conf *c, struct rfile *f)
{
	struct q_env *e = f->e;
	long long now = (long long)time(NULL);
	size_t i;
	int deferred = 0;

	f->notice[0] = '\0';
	for (i = 0; i < f->n; i++)
		deferred |= e->r.v[i].kind == RCPT_REMOTE && e->r.v[i].state == Q_DEFERRED;
	if (deferred && !f->warned && c->delay_warning_time && now - e->time >= (long long)c->delay_warning_time) {
		/* once per message, as Postfix's delay_warning_time; the
		 * caller delivers the notice */
		if (bounce_delay_queue(c, f->fd, e, f->notice, sizeof f->notice) == 0)
			f->warned = f->changed = 1;
	}
	if (f->changed && deferred)
		retry_save(c, e->id, f->next, f->n, f->warned);
	else if (f->changed)
		retry_remove(c, e->id);
}

static void job_end(const struct conf *c, struct rjob *j)
{
	struct rfile *f = j->f;

	free(j->idx);
	free(j->have);
	free(j);
	if (--f->jobs)
		return;
	file_end(c, f);
	f->done_next = NULL;
	if (done_tail)
		done_tail->done_next = f;
	else
		done_head = f;
	done_tail = f;
}

/* The recipients of j without a result: deferred (a retry later). */
static void job_fail(const struct conf *c, struct rjob *j, const char *why)
{
	struct client_rcpt res;
	long long now = (long long)time(NULL);
	size_t i;

	memset(&res, 0, sizeof res);
	res.code = '4';
	str_copyz(res.status, sizeof res.status, "4.3.0");
	str_copyz(res.text, sizeof res.text, why);
	for (i = 0; i < j->cnt; i++) {
		if (j->have[i])
			continue;
		j->have[i] = 1;
		apply(c, j->f->fd, j->f->e, &j->f->e->r.v[j->idx[i]], &res, "none", &j->f->next[j->idx[i]], now);
		j->f->changed = 1;
	}
}

/* Sends job j to agent a: the queue file read-only, then its records. */
static int job_send(struct agent *a, const struct rjob *j)
{
	const struct q_env *e = j->f->e;
	struct buf b;
	size_t i;
	int fd, r = -1;

	fd = open(j->f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	buf_init(&b);
	if (fdpass_send(a->fd, fd, "F", 1) < 0 ||
	    buf_printf(&b, "%s\n%s\n%s\n%c %c %c %lld %lld", j->key, e->sender, e->envid, e->ret ? e->ret : '-',
		       e->body ? e->body : '-', e->utf8 ? '1' : '0', (long long)e->data_off, (long long)e->size) < 0 ||
	    rec_put(a->fd, REC_JOB, b.s, b.len) < 0)
		goto out;
	for (i = 0; i < j->cnt; i++) {
		const struct q_rcpt *q = &e->r.v[j->idx[i]];
		buf_reset(&b);
		if (buf_printf(&b, "%zu %u\n%s\n%s", i, q->notify, q->addr, q->orcpt) < 0 ||
		    rec_put(a->fd, REC_JRCPT, b.s, b.len) < 0)
			goto out;
	}
	r = rec_put(a->fd, REC_GO, "", 0);
out:
	close(fd);
	buf_free(&b);
	return r;
}

/* Reads the results of a's job, each recorded as it comes; one sync for
 * the job.  0, or -1: the agent died or lied (it is stopped, the
 * recipients without a result deferred). */
static int job_read(const struct conf *c, struct agent *a)
{
	static char rec[SMTP_REC_MAX + 1];
	struct rjob *j = a->job;
	struct rfile *f = j->f;
	struct client_rcpt res;
	long long now = (long long)time(NULL);
	size_t len;
	int type, sent = 0;

	for (;;) {
		char *fl[4];
		unsigned long k;
		char *end;
		if (rec_get(a->fd, &type, rec, SMTP_REC_MAX, &len) != 1)
			break;
		if (type == REC_DONE) {
			if (sent && fdatasync(f->fd) < 0)
				log_msg(LOG_ERR, "%s: cannot sync the queue file: %m (a crash now may send again)",
					f->e->id);
			return 0;
		}
		if (type != REC_RES || split(rec, len, fl, 4) != 4)
			break;
		k = strtoul(fl[0], &end, 10);
		if (k >= j->cnt || j->have[k] || *end != ' ' || (end[1] != '2' && end[1] != '4' && end[1] != '5'))
			break;
		memset(&res, 0, sizeof res);
		res.code = end[1];
		str_copyz(res.status, sizeof res.status, fl[1]);
		str_copyz(res.text, sizeof res.text, fl[3]);
		j->have[k] = 1;
		sent |= res.code == '2';
		apply(c, f->fd, f->e, &f->e->r.v[j->idx[k]], &res, fl[2], &f->next[j->idx[k]], now);
		f->changed = 1;
	}
	log_msg(LOG_ERR, "%s: relay agent failed", f->e->id);
	if (sent && fdatasync(f->fd) < 0)
		log_msg(LOG_ERR, "%s: cannot sync the queue file: %m (a crash now may send again)", f->e->id);
	job_fail(c, j, "relay agent failed");
	a->job = NULL;
	agent_stop(a);
	return -1;
}

/* An agent for a job to key: an idle one keeping key's connection, else,
 * while fewer than the destination's limit keep one, a new agent (a free
 * slot), else an idle one of another next hop.  NULL: wait. */
static struct agent *pick(const struct conf *c, const char *key)
{
	struct agent *fresh = NULL, *other = NULL;
	size_t i, holders = 0;

	for (i = 0; i < npool; i++) {
		struct agent *a = &pool[i];
		if (a->pid <= 0) {
			if (!fresh)
				fresh = a;
			continue;
		}
		if (strcasecmp(a->key, key)) {
			if (!a->job && !other)
				other = a;
			continue;
		}
		if (!a->job)
			return a;
		holders++;
	}
	if (holders >= c->smtp_destination_concurrency_limit)
		return NULL;
	return fresh ? fresh : other;
}

/* Hands waiting jobs to agents, in queue order where the limits allow. */
static void dispatch(const struct conf *c)
{
	struct rjob *j = wait_head, *prev = NULL, *nx;
	struct agent *a;

	while (j && inflight < npool) {
		nx = j->next;
		a = pick(c, j->key);
		if (!a) {
			prev = j;
			j = nx;
			continue;
		}
		if (prev)
			prev->next = nx;
		else
			wait_head = nx;
		if (wait_tail == j)
			wait_tail = prev;
		nwait--;
		if (a->pid <= 0 && agent_start(c, a) < 0) {
			log_msg(LOG_ERR, "%s: cannot start a relay agent: %m", j->f->e->id);
			job_fail(c, j, "relay agent failed");
			job_end(c, j);
		} else if (job_send(a, j) < 0) {
			log_msg(LOG_ERR, "%s: relay agent failed", j->f->e->id);
			agent_stop(a);
			job_fail(c, j, "relay agent failed");
			job_end(c, j);
		} else {
			str_copyz(a->key, sizeof a->key, j->key);
			a->job = j;
			inflight++;
		}
		j = nx;
	}
}

int relay_wait(const struct conf *c)
{
	struct pollfd pv[CONF_COUNT_MAX];
	struct agent *av[CONF_COUNT_MAX];
	size_t i, n = 0;
	int r;

	dispatch(c);
	if (!inflight)
		return 0;
	for (i = 0; i < npool; i++) {
		if (pool[i].pid > 0 && pool[i].job) {
			pv[n].fd = pool[i].fd;
			pv[n].events = POLLIN;
			av[n++] = &pool[i];
		}
	}
	/* every agent ends its job: the SMTP timeouts bound it */
	do
		r = poll(pv, (nfds_t)n, -1);
	while (r < 0 && errno == EINTR);
	for (i = 0; i < n; i++) {
		struct rjob *j = av[i]->job;
		if (!pv[i].revents)
			continue;
		job_read(c, av[i]);
		av[i]->job = NULL;
		inflight--;
		job_end(c, j);
	}
	dispatch(c);
	return 1;
}

void *relay_done(char *notice, size_t noticelen)
{
	struct rfile *f = done_head;
	void *tag;

	if (!f)
		return NULL;
	done_head = f->done_next;
	if (!done_head)
		done_tail = NULL;
	str_copyz(notice, noticelen, f->notice);
	tag = f->tag;
	free(f->next);
	free(f);
	return tag;
}

void relay_end(void)
{
	size_t i;

	for (i = 0; i < npool; i++)
		agent_stop(&pool[i]);
	free(pool);
	pool = NULL;
	npool = 0;
}

int relay_submit(const struct conf *c, int fd, const char *path, struct q_env *e, int retry, void *tag,
		 char *notice, size_t noticelen)
{
	char key[CONF_NAME_MAX], k2[CONF_NAME_MAX];
	long long now = (long long)time(NULL);
	size_t i, j, n = e->r.n < RETRY_MAX ? e->r.n : RETRY_MAX;
	unsigned char *due;
	struct rfile *f;
	struct rjob *jb;

	if (noticelen)
		notice[0] = '\0';
	for (i = 0; i < n && e->r.v[i].kind != RCPT_REMOTE; i++)
		;
	if (i == n)
		return 0;
	if (!pool) {
		npool = c->default_process_limit;
		pool = calloc(npool, sizeof *pool);
		if (!pool) {
			npool = 0;
			return -1;
		}
		for (i = 0; i < npool; i++)
			pool[i].fd = -1;
	}
	f = calloc(1, sizeof *f);
	due = calloc(n, 1);
	if (f)
		f->next = calloc(n, sizeof *f->next);
	if (!f || !due || !f->next) {
		if (f)
			free(f->next);
		free(f);
		free(due);
		return -1;
	}
	f->fd = fd;
	f->path = path;
	f->e = e;
	f->tag = tag;
	f->n = n;
	retry_load(c, e->id, f->next, n, &f->warned);
	for (i = 0; i < n; i++) {
		struct q_rcpt *q = &e->r.v[i];
		if (q->kind != RCPT_REMOTE)
			continue;
		if (q->state == Q_PENDING)
			due[i] = 1;
		else if (q->state == Q_DEFERRED && retry &&
			 (now >= f->next[i] || retry_forced(domain_of(q->addr), e->sender)))
			due[i] = 1;
		else if (q->state == Q_DEFERRED && now - e->time >= (long long)c->maximal_queue_lifetime) {
			/* expired while waiting: bounce with the last reason */
			log_msg(LOG_INFO, "%s: to=<%s>, status=expired (%s)", e->id, q->addr, q->reason);
			queue_set_state(fd, q, Q_FAILED, q->reason);
			f->next[i] = 0;
			f->changed = 1;
		}
	}
	/* one job per next hop, recipients in queue order; one that cannot be
	 * made leaves its recipients as they are, for the next run */
	for (i = 0; i < n; i++) {
		if (!due[i] || nexthop_of(c, &e->r.v[i], key, sizeof key) < 0)
			continue;
		jb = calloc(1, sizeof *jb);
		if (jb) {
			jb->idx = calloc(n - i, sizeof *jb->idx);
			jb->have = calloc(n - i, 1);
		}
		if (!jb || !jb->idx || !jb->have) {
			if (jb) {
				free(jb->idx);
				free(jb->have);
			}
			free(jb);
			break;
		}
		str_copyz(jb->key, sizeof jb->key, key);
		jb->f = f;
		for (j = i; j < n; j++) {
			if (!due[j] || nexthop_of(c, &e->r.v[j], k2, sizeof k2) < 0 || strcasecmp(key, k2))
				continue;
			due[j] = 0;
			jb->idx[jb->cnt++] = j;
		}
		f->jobs++;
		if (wait_tail)
			wait_tail->next = jb;
		else
			wait_head = jb;
		wait_tail = jb;
		nwait++;
	}
	free(due);
	if (!f->jobs) {
		file_end(c, f);
		str_copyz(notice, noticelen, f->notice);
		free(f->next);
		free(f);
		return 0;
	}
	dispatch(c);
	/* bounded: past RELAY_WAIT_MAX waiting jobs, results first */
	while (nwait > RELAY_WAIT_MAX && relay_wait(c) > 0)
		;
	return 1;
}
