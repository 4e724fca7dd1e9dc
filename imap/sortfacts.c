/* What SORT and THREAD need of each message (RFC 5256): the Date: header,
 * the base subject and whether it was a reply, the first From/To/Cc
 * mailbox and display name (RFC 5957), Message-ID and References.  They are
 * read once per message and kept for the selected mailbox, keyed by UID:
 * the message with a given UID under a given UIDVALIDITY never changes, so
 * a repeated SORT over 100,000 messages parses nothing again.  ARRIVAL and
 * SIZE come from the libmbox scan and are not kept here.
 * imapd serves one session per process: the cache is this file's, checked
 * against the selected file (device, inode) and UIDVALIDITY at each use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "mime.h"
#include "sort.h"


static struct {
	dev_t dev;
	ino_t ino;
	uint32_t uidvalidity;
	struct imap_sortfact *f;
	size_t n, cap;
	struct buf arena;
} cache;

static void cache_reset(void)
{
	free(cache.f);
	buf_free(&cache.arena);
	memset(&cache, 0, sizeof cache);
}

const char *imap_sortfact_str(const struct imap_sortfact *f, int k)
{
	return cache.arena.s + f->str[k];
}

/* appends the NUL-terminated string b to the arena, its offset in *off */
static int keep(struct buf *b, size_t *off)
{
	*off = cache.arena.len;
	if (buf_add(&cache.arena, b->s ? b->s : "", b->len) < 0 || buf_addc(&cache.arena, '\0') < 0)
		return -1;
	buf_reset(b);
	return 0;
}

static int compute(struct imap_sortfact *f, const char *h, size_t hl, struct buf *t)
{
	static const char *const addr[] = { "From", "To", "Cc" };
	const char *v;
	size_t vl, i;
	int reply = 0;
	time_t tt;

	f->sent = INT64_MIN;
	if (mime_hdr_find(h, hl, "Date", &v, &vl) && mime_parse_date(v, vl, &tt) == 0)
		f->sent = (int64_t)tt;
	buf_reset(t);
	if (mime_hdr_find(h, hl, "Subject", &v, &vl) && mime_base_subject(v, vl, t, &reply) < 0)
		return -1;
	f->reply = reply != 0;
	if (keep(t, &f->str[SF_SUBJECT]) < 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (mime_sort_addr(h, hl, addr[i], 0, t) < 0 || keep(t, &f->str[SF_FROM + i]) < 0)
			return -1;
	for (i = 0; i < 2; i++)
		if (mime_sort_addr(h, hl, addr[i], 1, t) < 0 || keep(t, &f->str[SF_DFROM + i]) < 0)
			return -1;
	if (mime_hdr_find(h, hl, "Message-ID", &v, &vl))
		mime_msgids(v, vl, t, 1);
	if (keep(t, &f->str[SF_MSGID]) < 0)
		return -1;
	if (!mime_hdr_find(h, hl, "References", &v, &vl) || mime_msgids(v, vl, t, IMAP_REFS_MAX) == 0) {
		buf_reset(t);
		if (mime_hdr_find(h, hl, "In-Reply-To", &v, &vl))
			mime_msgids(v, vl, t, 1);
	}
	return keep(t, &f->str[SF_REFS]);
}

/* the header of view message i, parsed into f (under the read lock) */
static void load(struct imap_sess *s, size_t i, struct imap_sortfact *f, struct buf *t)
{
	long k = imap_view_index(s, i);
	char *h = NULL;
	size_t hl = 0;

	memset(f, 0, sizeof *f);
	f->uid = s->view.v[i].uid;
	f->sent = INT64_MIN;
	if (k < 0 || imap_view_load(s, k, MBOX_PART_HEADER, &h, &hl) < 0)
		return;
	f->ok = compute(f, h, hl, t) == 0;
	free(h);
}

int imap_sortfacts(struct imap_sess *s, const struct imap_sortfact ***facts_r)
{
	const struct imap_sortfact **out;
	size_t *map, i, j = 0, nv = s->view.count;
	struct buf t;
	int locked = 0;

	*facts_r = NULL;
	if (cache.f && (cache.dev != s->sc.dev || cache.ino != s->sc.ino ||
			cache.uidvalidity != s->view.uidvalidity))
		cache_reset();
	if (!cache.f) {
		cache.dev = s->sc.dev;
		cache.ino = s->sc.ino;
		cache.uidvalidity = s->view.uidvalidity;
	}
	if (cache.arena.len == 0 && buf_addc(&cache.arena, '\0') < 0)
		return -1;   /* offset 0: the empty string of unread facts */
	map = malloc((nv ? nv : 1) * sizeof *map);
	out = malloc((nv ? nv : 1) * sizeof *out);
	if (!map || !out) {
		free(map);
		free(out);
		errno = ENOMEM;
		return -1;
	}
	buf_init(&t);
	/* the view and the cache are both in increasing UID order */
	for (i = 0; i < nv; i++) {
		uint32_t uid = s->view.v[i].uid;
		map[i] = (size_t)-1;
		if (s->view.v[i].gone)
			continue;
		while (j < cache.n && cache.f[j].uid < uid)
			j++;
		if (j < cache.n && cache.f[j].uid == uid && cache.f[j].ok) {
			map[i] = j;
			continue;
		}
		if (!locked) {
			imap_view_read_begin(s);
			locked = 1;
		}
		if (j >= cache.n || cache.f[j].uid != uid) {
			if (cache.n == cache.cap) {
				size_t cap = cache.cap ? cache.cap * 2 : 1024;
				struct imap_sortfact *nf = realloc(cache.f, cap * sizeof *nf);
				if (!nf)
					break;
				cache.f = nf;
				cache.cap = cap;
			}
			memmove(&cache.f[j + 1], &cache.f[j], (cache.n - j) * sizeof *cache.f);
			cache.n++;
		}
		load(s, i, &cache.f[j], &t);
		map[i] = j;
		imap_view_read_tick(s);
	}
	if (locked)
		imap_view_read_end(s);
	buf_free(&t);
	for (i = 0; i < nv; i++)
		out[i] = map[i] != (size_t)-1 && map[i] < cache.n ? &cache.f[map[i]] : NULL;
	free(map);
	*facts_r = out;
	return 0;
}
