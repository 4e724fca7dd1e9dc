/* smtpd's delivery worker: one detached process per session that queues
 * more than one message.  The root parent writes each queue id it commits
 * ("ID\n") into a pipe; the worker takes whatever ids are waiting and
 * delivers them as one batch (deliver_batch: one process and one lock per
 * mailbox), so a long session costs neither a runner fork per message nor
 * a lock per message.  It never waits for the client while holding a
 * lock: the lock is taken per batch, after the ids are read.  EOF on the
 * pipe (the session ended) lets it finish what it has and exit.  Should it
 * die, the ids it had stay in the queue for `sendmail -q`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "priv.h"
#include "smtp.h"

/* ids per batch: about a second of a fast session's mail */
#define WORKER_BATCH 256

/* Reads what the pipe holds into buf (blocking when block is set):
 * 0 ok, 1 EOF (or error: the parent is gone either way). */
static int fill(int fd, char *buf, size_t size, size_t *have, int block)
{
	struct pollfd pfd;
	ssize_t r;

	if (*have == size)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (!block && poll(&pfd, 1, 0) <= 0)
		return 0;
	do
		r = read(fd, buf + *have, size - *have);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 1;
	*have += (size_t)r;
	return 0;
}

static void worker_main(const struct conf *c, int fd)
{
	static char ids[WORKER_BATCH][Q_ID_MAX];
	static char buf[WORKER_BATCH * Q_ID_MAX];
	size_t have = 0, n, i, start;
	int eof = 0;

	for (;;) {
		/* wait for a complete line; then take whatever else is there */
		if (!memchr(buf, '\n', have)) {
			if (eof)
				break;          /* a partial last line is dropped */
			if (have == sizeof buf)
				have = 0;       /* garbage without a newline */
			eof = fill(fd, buf, sizeof buf, &have, 1);
			continue;
		}
		if (!eof)
			eof = fill(fd, buf, sizeof buf, &have, 0);
		n = 0;
		start = 0;
		for (i = 0; i < have && n < WORKER_BATCH; i++) {
			if (buf[i] != '\n')
				continue;
			/* a line too long for an id is dropped */
			if (i - start > 0 && i - start < Q_ID_MAX)
				str_copy(ids[n++], Q_ID_MAX, buf + start, i - start);
			start = i + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (n)
			priv_mail_gid_cache(c);         /* for the batch's children */
		if (n && deliver_batch(c, ids, n) > 0)
			runner_request(c);
	}
}

int worker_start(const struct conf *c, struct worker *w)
{
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* detached like any runner: own session, no client fds; the
		 * intermediate exits so the worker is nobody's zombie */
		if (fork() != 0)
			_exit(0);
		runner_detach(c, "smtpd", p[0]);
		worker_main(c, p[0]);
		_exit(0);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	log_msg(LOG_DEBUG, "delivery worker started");
	w->fd = p[1];
	w->on = 1;
	return 0;
}

int worker_send(struct worker *w, char (*ids)[Q_ID_MAX], size_t n)
{
	char line[Q_ID_MAX + 1];
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = strlen(ids[i]);
		memcpy(line, ids[i], len);
		line[len++] = '\n';
		/* under PIPE_BUF: one atomic write; a full pipe slows the session */
		while (write(w->fd, line, len) != (ssize_t)len)
			if (errno != EINTR)
				return -1;
	}
	return 0;
}

void worker_close(struct worker *w)
{
	if (w->on)
		close(w->fd);
	w->on = 0;
}

/* ---- the session's ids (recv_ctx hooks of smtpd) ---- */

static void pend_flush(struct recv_ctx *x)
{
	struct session_ids *si = x->ids;

	if (si->npend == 0)
		return;
	if (!si->worker.on && worker_start(x->c, &si->worker) < 0)
		log_msg(LOG_ERR, "delivery worker: %m");
	if (!si->worker.on || worker_send(&si->worker, si->pend, si->npend) < 0) {
		worker_close(&si->worker);
		runner_request(x->c);   /* they are queued: the runner takes them */
	}
	si->npend = 0;
}

void worker_on_queued(struct recv_ctx *x, const char *id)
{
	struct session_ids *si = x->ids;
	char one[1][Q_ID_MAX];

	str_copyz(one[0], sizeof one[0], id);
	if (si->worker.on) {
		if (worker_send(&si->worker, one, 1) < 0) {
			log_msg(LOG_ERR, "delivery worker gone: %m");
			worker_close(&si->worker);
			runner_request(x->c);
		}
	} else if (si->npend < RECV_PEND_MAX) {
		str_copyz(si->pend[si->npend++], Q_ID_MAX, id);
	} else {
		runner_request(x->c);
	}
}

void worker_on_wait(struct recv_ctx *x, int fd)
{
	struct pollfd pfd;
	int r;

	if (x->ids->npend == 0)
		return;
	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, RECV_PEND_WAIT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		pend_flush(x);          /* the session idles */
}

void worker_on_record(struct recv_ctx *x)
{
	pend_flush(x);                  /* the session goes on */
}

void worker_on_etrn(struct recv_ctx *x)
{
	runner_request(x->c);
}

void worker_session_end(const struct conf *c, struct session_ids *si)
{
	if (si->worker.on) {
		if (si->npend && worker_send(&si->worker, si->pend, si->npend) < 0)
			runner_request(c);
		worker_close(&si->worker);
		return;
	}
	/* the runner delivers them with other sessions' mail, in batches */
	if (si->npend)
		runner_request_new(c);
}
