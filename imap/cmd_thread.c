/* THREAD and UID THREAD (RFC 5256 3, 4): ORDEREDSUBJECT and REFERENCES.
 * The messages matching the search keys are put in containers (a dummy
 * container stands for a referenced message that is not there), linked,
 * pruned, sorted and merged by base subject as RFC 5256 section 4 says,
 * then written as "(1 2 (3)(4))".  Every walk is iterative: a reply chain
 * of 100,000 messages uses no stack. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "sort.h"

struct cont {
	struct cont *parent, *child, *next;
	struct cont *last;               /* the last child: appending is O(1) */
	const struct imap_sortmsg *m;   /* NULL: a dummy */
};

struct pool {
	struct cont *c;
	size_t n, cap;
};

/* containers never move: allocated in one block sized beforehand */
static struct cont *cont_new(struct pool *p)
{
	struct cont *c;

	if (p->n >= p->cap)
		return NULL;
	c = &p->c[p->n++];
	memset(c, 0, sizeof *c);
	return c;
}

/* ---- a string -> container table (message ids, base subjects) ---------- */

struct slot {
	const char *k;
	size_t kl;
	struct cont *c;
};
struct table {
	struct slot *s;
	size_t mask;
};

static int table_init(struct table *t, size_t want)
{
	size_t n = 64;

	while (n < want * 2)
		n *= 2;
	t->s = calloc(n, sizeof *t->s);
	t->mask = n - 1;
	return t->s ? 0 : -1;
}

static size_t hash(const char *k, size_t kl)
{
	size_t h = 5381, i;

	for (i = 0; i < kl; i++)
		h = h * 33 + (unsigned char)k[i];
	return h;
}

/* the slot of key k: found (c set) or empty (to fill) */
static struct slot *table_slot(struct table *t, const char *k, size_t kl)
{
	size_t i = hash(k, kl) & t->mask;

	while (t->s[i].k && (t->s[i].kl != kl || memcmp(t->s[i].k, k, kl)))
		i = (i + 1) & t->mask;
	return &t->s[i];
}

/* ---- links ----------------------------------------------------------------- */

static void unlink_child(struct cont *c)
{
	struct cont **pp, *prev = NULL;

	if (!c->parent)
		return;
	for (pp = &c->parent->child; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			if (c->parent->last == c)
				c->parent->last = prev;
			break;
		}
	c->parent = NULL;
	c->next = NULL;
}

/* p->last again, after p's list was edited in place */
static void fix_last(struct cont *p)
{
	struct cont *k = p->child;

	p->last = NULL;
	while (k) {
		p->last = k;
		k = k->next;
	}
}

/* is a == b or a below b? */
static int below(const struct cont *a, const struct cont *b)
{
	for (; a; a = a->parent)
		if (a == b)
			return 1;
	return 0;
}

static void add_child(struct cont *parent, struct cont *c)
{
	if (parent->last)
		parent->last->next = c;
	else
		parent->child = c;
	parent->last = c;
	c->parent = parent;
	c->next = NULL;
}

static int64_t cdate(const struct cont *c)
{
	if (!c->m && c->child)
		c = c->child;   /* a dummy sorts as its first child */
	return c->m ? c->m->date : 0;
}

static uint32_t cseq(const struct cont *c)
{
	if (!c->m && c->child)
		c = c->child;
	return c->m ? c->m->i : 0;
}

static int cmp_cont(const void *pa, const void *pb)
{
	const struct cont *a = *(struct cont *const *)pa, *b = *(struct cont *const *)pb;
	int64_t da = cdate(a), db = cdate(b);

	if (da != db)
		return da < db ? -1 : 1;
	return cseq(a) < cseq(b) ? -1 : cseq(a) > cseq(b);
}

/* sorts the children of c by sent date (then sequence number) */
static int sort_children(struct cont *c, struct cont **tmp)
{
	struct cont *k;
	size_t n = 0, i;

	for (k = c->child; k; k = k->next)
		tmp[n++] = k;
	if (n < 2)
		return 0;
	qsort(tmp, n, sizeof *tmp, cmp_cont);
	c->child = tmp[0];
	for (i = 0; i + 1 < n; i++)
		tmp[i]->next = tmp[i + 1];
	tmp[n - 1]->next = NULL;
	c->last = tmp[n - 1];
	return 0;
}

/* every container below root in pre-order (parents before children) */
static size_t preorder(struct cont *root, struct cont **out)
{
	size_t n = 0, i = 0;
	struct cont *k;

	out[n++] = root;
	while (i < n) {
		for (k = out[i++]->child; k; k = k->next)
			out[n++] = k;
	}
	return n;
}

/* RFC 5256 4 (3): dummies without children go, dummies with children give
 * them to their parent (at the top only when there is one) */
static void prune(struct cont *root, struct cont **order, size_t n)
{
	while (n-- > 0) {   /* reverse pre-order: children before parents */
		struct cont *p = order[n], **pp = &p->child;
		while (*pp) {
			struct cont *c = *pp, *k, *last = NULL;
			if (c->m || (c->child && p == root && c->child->next)) {
				pp = &c->next;
				continue;
			}
			if (!c->child) {
				*pp = c->next;
				continue;
			}
			for (k = c->child; k; k = k->next) {
				k->parent = p == root ? NULL : p;
				last = k;
			}
			last->next = c->next;
			*pp = c->child;
			pp = &last->next;
		}
		fix_last(p);
	}
}

static const char *csubject(const struct cont *c)
{
	if (!c->m && c->child)
		c = c->child;
	return c->m ? imap_sortfact_str(c->m->f, SF_SUBJECT) : "";
}

/* RFC 5256 4 (5): threads at the top with the same base subject merge */
static int merge_subjects(struct cont *root, struct pool *pool, size_t nroots)
{
	struct table t;
	struct cont *c, **pp;

	if (table_init(&t, nroots) < 0)
		return -1;
	for (c = root->child; c; c = c->next) {
		const char *sj = csubject(c);
		struct slot *sl;
		if (!*sj)
			continue;
		sl = table_slot(&t, sj, strlen(sj));
		if (!sl->k) {
			sl->k = sj;
			sl->kl = strlen(sj);
			sl->c = c;
		} else if (sl->c->m && (!c->m || (sl->c->m->f->reply && !c->m->f->reply))) {
			sl->c = c;
		}
	}
	for (pp = &root->child; *pp;) {
		struct cont *x, *k;
		const char *sj;
		struct slot *sl;
		c = *pp;
		sj = csubject(c);
		if (!*sj) {
			pp = &c->next;
			continue;
		}
		sl = table_slot(&t, sj, strlen(sj));
		x = sl->c;
		if (x == c) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;   /* c leaves the top */
		c->next = NULL;
		if (!x->m && !c->m) {
			while ((k = c->child) != NULL) {
				c->child = k->next;
				add_child(x, k);
			}
			c->last = NULL;
		} else if (!x->m || (c->m->f->reply && !x->m->f->reply)) {
			add_child(x, c);
		} else {
			/* x becomes a dummy holding a copy of itself and c */
			struct cont *copy = cont_new(pool);
			if (!copy) {
				free(t.s);
				return -1;
			}
			*copy = *x;
			copy->next = NULL;
			for (k = copy->child; k; k = k->next)
				k->parent = copy;
			x->m = NULL;
			x->child = NULL;
			x->last = NULL;
			add_child(x, copy);
			add_child(x, c);
		}
	}
	fix_last(root);
	free(t.s);
	return 0;
}

static int references(struct imap_sortmsg *m, size_t n, struct cont *root, struct pool *pool)
{
	struct table t;
	size_t i, nids = n;
	struct cont *c;

	for (i = 0; i < n; i++) {
		const char *r = imap_sortfact_str(m[i].f, SF_REFS);
		nids += *r != '\0';
		for (; *r; r++)
			nids += *r == ' ';
	}
	pool->cap = nids + 2 * n + 1;  /* ids, messages, merge copies */
	pool->c = malloc(pool->cap * sizeof *pool->c);
	if (!pool->c || table_init(&t, nids) < 0)
		return -1;
	/* (1) link */
	for (i = 0; i < n; i++) {
		const char *id = imap_sortfact_str(m[i].f, SF_MSGID), *r;
		struct cont *me = NULL, *prev = NULL;
		if (*id) {
			struct slot *sl = table_slot(&t, id, strlen(id));
			if (!sl->k) {
				sl->k = id;
				sl->kl = strlen(id);
				sl->c = cont_new(pool);
			}
			if (!sl->c->m)
				me = sl->c;   /* else a duplicate id: a container of its own */
		}
		if (!me)
			me = cont_new(pool);
		me->m = &m[i];
		/* (1A) the references, each the parent of the next */
		for (r = imap_sortfact_str(m[i].f, SF_REFS); *r;) {
			size_t l = strcspn(r, " ");
			struct slot *sl = table_slot(&t, r, l);
			if (!sl->k) {
				sl->k = r;
				sl->kl = l;
				sl->c = cont_new(pool);
			}
			c = sl->c;
			if (prev && c != me && !c->parent && !below(prev, c))
				add_child(prev, c);
			prev = c;
			r += l;
			r += *r == ' ';
		}
		/* (1B) the last reference is the parent of this message */
		unlink_child(me);
		if (prev && prev != me && !below(prev, me))
			add_child(prev, me);
	}
	free(t.s);
	/* (2) the root set */
	for (i = 0; i < pool->n; i++) {
		c = &pool->c[i];
		if (!c->parent && c != root)
			add_child(root, c);
	}
	for (c = root->child; c; c = c->next)
		c->parent = NULL;
	return 0;
}

static int ordered_subject(struct imap_sortmsg *m, size_t n, struct cont *root, struct pool *pool)
{
	struct imap_sortmsg **by;
	struct cont *top = NULL;
	size_t i;

	pool->cap = n + 1;
	pool->c = malloc(pool->cap * sizeof *pool->c);
	by = malloc((n ? n : 1) * sizeof *by);
	if (!pool->c || !by) {
		free(by);
		return -1;
	}
	for (i = 0; i < n; i++)
		by[i] = &m[i];
	/* by base subject, then sent date, then sequence number */
	for (i = 0; i < n; i++) {
		struct cont *c = cont_new(pool);
		c->m = by[i];
	}
	{
		struct cont **tmp = malloc((n ? n : 1) * sizeof *tmp);
		if (!tmp) {
			free(by);
			return -1;
		}
		for (i = 0; i < n; i++)
			tmp[i] = &pool->c[i];
		qsort(tmp, n, sizeof *tmp, cmp_cont);
		/* a stable grouping by subject: the first of each subject in
		 * date order is the parent, the others its children */
		{
			struct table t;
			if (table_init(&t, n) < 0) {
				free(tmp);
				free(by);
				return -1;
			}
			for (i = 0; i < n; i++) {
				const char *sj = imap_sortfact_str(tmp[i]->m->f, SF_SUBJECT);
				struct slot *sl = table_slot(&t, sj, strlen(sj));
				if (!sl->k) {
					sl->k = sj;
					sl->kl = strlen(sj);
					sl->c = tmp[i];
					if (top)
						top->next = tmp[i];
					else
						root->child = tmp[i];
					top = tmp[i];
				} else {
					add_child(sl->c, tmp[i]);
				}
			}
			free(t.s);
		}
		root->last = top;
		free(tmp);
	}
	free(by);
	return 0;
}

/* one thread: "(3 6 (4 23)(44 7 96))" */
static void put_thread(struct imap_sess *s, struct cont *top, struct cont **stack, int uid)
{
	struct cont *cur = top;
	size_t sp = 0;
	int space = 0;

	imap_put(s, "(");
	for (;;) {
		struct cont *kids = cur->child;
		if (cur->m) {
			imap_put(s, space ? " %u" : "%u",
				 uid ? s->view.v[cur->m->i].uid : cur->m->i + 1);
			space = 1;
		}
		if (kids && !kids->next && cur->m) {
			cur = kids;
			continue;
		}
		if (kids) {
			imap_put(s, space ? " (" : "(");
			stack[sp++] = kids->next;
			space = 0;
			cur = kids;
			continue;
		}
		for (;;) {
			imap_put(s, ")");
			if (sp == 0)
				return;
			if (stack[sp - 1]) {
				cur = stack[sp - 1];
				stack[sp - 1] = cur->next;
				imap_put(s, "(");
				space = 0;
				break;
			}
			sp--;
		}
		if (s->io->out_len > IO_OUTBUF / 2)
			io_flush(s->io);
	}
}

enum imap_res cmd_thread(struct imap_sess *s, struct imap_cmd *c)
{
	struct imap_sortmsg *m = NULL;
	struct pool pool;
	struct cont root, **order = NULL, *k;
	const char *p;
	size_t l, n, i, nord, nroots = 0;
	int refs, cs, err = 0;
	enum imap_res r;

	if (imap_atom(&c->ps, &p, &l) < 0 || imap_sp(&c->ps) < 0)
		return IMAP_BAD;
	if (str_ieq(p, l, "REFERENCES", 10))
		refs = 1;
	else if (str_ieq(p, l, "ORDEREDSUBJECT", 14))
		refs = 0;
	else
		return IMAP_BAD;
	if ((cs = imap_sort_charset(s, c)) != 0)
		return cs < 0 ? IMAP_BAD : IMAP_DONE;
	r = imap_sort_select(s, c, &m, &n);
	if (r != IMAP_OK)
		return r;
	memset(&pool, 0, sizeof pool);
	memset(&root, 0, sizeof root);
	if (refs) {
		err = references(m, n, &root, &pool) < 0;
		if (!err) {
			order = malloc((pool.cap + 2) * 2 * sizeof *order);
			err = !order;
		}
		if (!err) {
			/* (3) prune, (4) sort the top, (5) merge by subject, (6) sort all */
			nord = preorder(&root, order);
			prune(&root, order, nord);
			for (k = root.child; k; k = k->next) {
				sort_children(k, order + pool.cap + 2);
				nroots++;
			}
			sort_children(&root, order + pool.cap + 2);
			err = merge_subjects(&root, &pool, nroots) < 0;
		}
		if (!err) {
			nord = preorder(&root, order);
			for (i = nord; i-- > 0;)
				sort_children(order[i], order + pool.cap + 2);
		}
	} else {
		err = ordered_subject(m, n, &root, &pool) < 0;
		if (!err) {
			order = malloc((pool.cap + 2) * sizeof *order);
			err = !order;
		}
		if (!err) /* threads by the date of their first message */
			sort_children(&root, order);
	}
	if (err) {
		free(order);
		free(pool.c);
		free(m);
		imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
		return IMAP_DONE;
	}
	imap_put(s, "* THREAD");
	if (root.child)
		imap_put(s, " ");
	for (k = root.child; k; k = k->next)
		put_thread(s, k, order, c->uid);
	imap_put(s, "\r\n");
	free(order);
	free(pool.c);
	free(m);
	return IMAP_OK;
}
