/* TRANSACTION state (RFC 1939 section 5, UIDL section 7): runs in the
 * parent after it became the user.  Works on the snapshot taken at login;
 * the mailbox is touched again only by RETR/TOP (read lock) and QUIT. */
#include <errno.h>
#include "log.h"
#include "pop3.h"
#include "str.h"

int pop3_cmd_stat(struct pop3 *s, const struct pop3_args *a)
{
	const struct pop3_box *b = s->box;

	return pop3_ok(s, "%zu %llu", b->count - b->ndeleted,
		       (unsigned long long)(b->total_size - b->deleted_size));
}

/* LIST and UIDL share their shape: one line, or all undeleted messages. */
static void pop3_list_line(struct pop3 *s, size_t i, int uidl, int single)
{
	const struct pop3_msg *p = &s->box->msgs[i];

	if (single)
		io_puts(s->io, "+OK ");
	/* Dovecot's default pop3_uidl_format %08Xu%08Xv, which it prints in
	 * lower case (checked against dovecot-pop3d 2.3): same UIDLs, so
	 * clients do not download everything again after a switch */
	if (uidl)
		io_printf(s->io, "%zu %08x%08x\r\n", i + 1, (unsigned)p->uid, (unsigned)s->box->uidvalidity);
	else
		io_printf(s->io, "%zu %llu\r\n", i + 1, (unsigned long long)p->size);
}

static int pop3_list(struct pop3 *s, const struct pop3_args *a, int uidl)
{
	const struct pop3_box *b = s->box;
	size_t i;

	if (a->argc == 1) {
		long n = pop3_msgno(s, a->argv[0], a->argl[0]);

		if (n >= 0)
			pop3_list_line(s, (size_t)n, uidl, 1);
		return POP3_CONT;
	}
	if (uidl)
		pop3_ok(s, "%s", "");
	else
		pop3_ok(s, "%zu messages:", b->count - b->ndeleted);
	for (i = 0; i < b->count; i++)
		if (!b->msgs[i].deleted)
			pop3_list_line(s, i, uidl, 0);
	io_puts(s->io, ".\r\n");
	return POP3_CONT;
}

int pop3_cmd_list(struct pop3 *s, const struct pop3_args *a)
{
	return pop3_list(s, a, 0);
}

int pop3_cmd_uidl(struct pop3 *s, const struct pop3_args *a)
{
	return pop3_list(s, a, 1);
}

int pop3_cmd_retr(struct pop3 *s, const struct pop3_args *a)
{
	long n = pop3_msgno(s, a->argv[0], a->argl[0]);
	int r;

	if (n < 0)
		return POP3_CONT;
	r = pop3_send_msg(s, (size_t)n, -1);
	if (r == -2)
		return POP3_LEAVE;
	if (r == 0) {
		s->box->msgs[n].retrieved = 1;
		s->nretr++;
	}
	return POP3_CONT;
}

int pop3_cmd_top(struct pop3 *s, const struct pop3_args *a)
{
	long n = pop3_msgno(s, a->argv[0], a->argl[0]);
	uint32_t lines;

	if (n < 0)
		return POP3_CONT;
	if (parse_u32(a->argv[1], a->argl[1], UINT32_MAX, &lines) < 0) {
		s->errors++;
		return pop3_err(s, "Invalid number of lines.");
	}
	/* TOP does not mark the message seen (Dovecot neither) */
	return pop3_send_msg(s, (size_t)n, (long)lines) == -2 ? POP3_LEAVE : POP3_CONT;
}

int pop3_cmd_dele(struct pop3 *s, const struct pop3_args *a)
{
	struct pop3_box *b = s->box;
	long n = pop3_msgno(s, a->argv[0], a->argl[0]);

	if (n < 0)
		return POP3_CONT;
	b->msgs[n].deleted = 1;
	b->ndeleted++;
	b->deleted_size += b->msgs[n].size;
	return pop3_ok(s, "Message %ld marked for deletion.", n + 1);
}

int pop3_cmd_rset(struct pop3 *s, const struct pop3_args *a)
{
	struct pop3_box *b = s->box;
	size_t i;

	/* undoes DELE and, as Dovecot does, the seen marks of RETR */
	for (i = 0; i < b->count; i++) {
		b->msgs[i].deleted = 0;
		b->msgs[i].retrieved = 0;
	}
	b->ndeleted = 0;
	b->deleted_size = 0;
	return pop3_ok(s, "%zu messages, nothing marked for deletion.", b->count);
}

int pop3_cmd_noop(struct pop3 *s, const struct pop3_args *a)
{
	return pop3_ok(s, "%s", "");
}

int pop3_cmd_quit(struct pop3 *s, const struct pop3_args *a)
{
	struct pop3_box *b = s->box;

	/* RFC 1939 section 6: the UPDATE state */
	if (pop3_box_update(b, s->c) < 0) {
		int e = errno;

		log_msg(LOG_WARNING, "user %s: QUIT: mailbox not updated: %s", s->authname,
			e == EAGAIN ? "locked" : e == ESTALE ? "changed by another program" : "error");
		if (e == EAGAIN)
			pop3_err(s, "[IN-USE] Mailbox is locked by another program: nothing was deleted.");
		else if (e == ESTALE)
			pop3_err(s, "[IN-USE] Mailbox was changed by another program: nothing was deleted.");
		else
			pop3_err(s, "[SYS/TEMP] Could not update the mailbox: nothing was deleted.");
	} else {
		log_msg(LOG_INFO, "user %s: logout: retrieved %lu, deleted %zu, %zu left", s->authname,
			s->nretr, b->ndeleted, b->count - b->ndeleted);
		pop3_ok(s, "Logging out.");
	}
	io_flush(s->io);
	return POP3_LEAVE;
}
