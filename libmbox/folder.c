/* Folder operations under mail_folders (~/mail), in Dovecot's mbox layout:
 * a mailbox is a regular file, a hierarchy level is a directory, so
 * "work/2024" is ROOT/work/2024.  Subscriptions are ROOT/.subscriptions,
 * which Dovecot 2.3 writes as "V\t2\n\n" followed by one name per line with
 * the hierarchy separator written as a TAB; older files hold plain names.
 * Callers validate names (no "..", no absolute paths, no dot components);
 * this file also refuses them, as a second line of defence. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bounds.h"
#include "mbox.h"

#define SUBS_LOCK_TRIES 40      /* x 50 ms */
#define SUBS_LOCK_STALE 30      /* seconds */

static int name_ok(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/')
		return 0;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || *p == '.')
			return 0;
		if (!e)
			return 1;
		p = e + 1;
	}
}

static int join(char *out, size_t max, const char *root, const char *name)
{
	int r = snprintf(out, max, "%s/%s", root, name);

	if (r < 0 || (size_t)r >= max) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int bad_name(void)
{
	errno = EINVAL;
	return -1;
}

/* ---- listing ------------------------------------------------------------ */

static int list_add(struct mbox_folder_list *l, const char *name, int is_dir)
{
	struct mbox_folder *nf;

	if (l->count >= FOLDER_COUNT_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		nf = realloc(l->f, cap * sizeof *nf);
		if (!nf)
			return -1;
		l->f = nf;
		l->cap = cap;
	}
	l->f[l->count].name = strdup(name);
	if (!l->f[l->count].name)
		return -1;
	l->f[l->count].is_dir = is_dir;
	l->f[l->count].has_children = 0;
	l->count++;
	return 0;
}

static int hidden(const char *n)
{
	size_t len = strlen(n);

	return n[0] == '.' || (len > 5 && !strcmp(n + len - 5, ".lock"));
}

static int walk(const char *root, const char *rel, int depth, struct mbox_folder_list *l)
{
	char path[PATH_MAX], child[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (depth > FOLDER_DEPTH_MAX)
		return 0;
	if (*rel ? join(path, sizeof path, root, rel) < 0 :
	    snprintf(path, sizeof path, "%s", root) >= (int)sizeof path)
		return -1;
	d = opendir(path);
	if (!d)
		return errno == ENOENT && !*rel ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		size_t idx;
		int n;
		if (hidden(e->d_name))
			continue;
		n = *rel ? snprintf(child, sizeof child, "%s/%s", rel, e->d_name) :
			snprintf(child, sizeof child, "%s", e->d_name);
		if (n < 0 || (size_t)n >= sizeof child)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;
		if (list_add(l, child, S_ISDIR(st.st_mode)) < 0) {
			r = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			idx = l->count - 1;
			if (walk(root, child, depth + 1, l) < 0) {
				r = -1;
				break;
			}
			l->f[idx].has_children = l->count > idx + 1;
		}
	}
	closedir(d);
	return r;
}

static int cmp_folder(const void *a, const void *b)
{
	return strcmp(((const struct mbox_folder *)a)->name, ((const struct mbox_folder *)b)->name);
}

int mbox_folder_list(const char *root, struct mbox_folder_list *l)
{
	memset(l, 0, sizeof *l);
	if (walk(root, "", 0, l) < 0) {
		int e = errno;
		mbox_folder_list_free(l);
		errno = e;
		return -1;
	}
	if (l->count > 1)
		qsort(l->f, l->count, sizeof *l->f, cmp_folder);
	return 0;
}

void mbox_folder_list_free(struct mbox_folder_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->f[i].name);
	free(l->f);
	memset(l, 0, sizeof *l);
}

/* ---- create, delete, rename --------------------------------------------- */

/* mkdir -p of the directories above name (and of root) */
static int make_parents(const char *root, const char *name)
{
	char path[PATH_MAX];
	size_t rl = strlen(root), i;

	if (join(path, sizeof path, root, name) < 0)
		return -1;
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return -1;
	for (i = rl + 1; path[i]; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
		path[i] = '/';
	}
	return 0;
}

int mbox_folder_create(const char *root, const char *name, int dir)
{
	char path[PATH_MAX];
	int fd;

	if (!name_ok(name))
		return bad_name();
	if (make_parents(root, name) < 0 || join(path, sizeof path, root, name) < 0)
		return -1;
	if (dir)
		return mkdir(path, 0700);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int mbox_folder_delete(const char *root, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (!name_ok(name))
		return bad_name();
	if (join(path, sizeof path, root, name) < 0 || lstat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return rmdir(path);
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return unlink(path);
}

int mbox_folder_rename(const char *root, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;
	size_t fl = strlen(from);

	if (!name_ok(from) || !name_ok(to))
		return bad_name();
	/* a directory cannot move below itself */
	if (!strncmp(to, from, fl) && to[fl] == '/')
		return bad_name();
	if (join(a, sizeof a, root, from) < 0 || join(b, sizeof b, root, to) < 0)
		return -1;
	if (lstat(a, &st) < 0)
		return -1;
	if (make_parents(root, to) < 0)
		return -1;
	return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE);
}

/* ---- subscriptions ------------------------------------------------------- */

static int subs_load(const char *root, struct mbox_folder_list *l)
{
	char path[PATH_MAX], *data, *p, *end;
	struct stat st;
	ssize_t n;
	int fd, v2 = 0;

	memset(l, 0, sizeof *l);
	if (join(path, sizeof path, root, ".subscriptions") < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0 || st.st_size > FOLDER_SUBS_FILE_MAX || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		close(fd);
		return -1;
	}
	n = read(fd, data, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(data);
		return -1;
	}
	data[n] = '\0';
	end = data + n;
	p = data;
	if (!strncmp(p, "V\t", 2)) {
		/* version line and header lines end at the first empty line */
		char *hend = memmem(p, (size_t)(end - p), "\n\n", 2);
		v2 = 1;
		p = hend ? hend + 2 : end;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *q;
		if (!nl)
			nl = end;
		*nl = '\0';
		if (v2)
			for (q = p; *q; q++)
				if (*q == '\t')
					*q = '/';
		if (*p && list_add(l, p, 0) < 0) {
			free(data);
			mbox_folder_list_free(l);
			return -1;
		}
		p = nl + 1;
	}
	free(data);
	return 0;
}

int mbox_subs_read(const char *root, struct mbox_folder_list *l)
{
	return subs_load(root, l);
}

static int subs_lock(const char *lock)
{
	int i;

	for (i = 0; i < SUBS_LOCK_TRIES; i++) {
		struct stat st;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
		if (lstat(lock, &st) == 0 && st.st_mtime + SUBS_LOCK_STALE < time(NULL))
			unlink(lock);
		nanosleep(&ts, NULL);
	}
	errno = EAGAIN;
	return -1;
}

static int subs_write(const char *root, const struct mbox_folder_list *l)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	FILE *f;
	size_t i;
	int fd, r;

	if (join(path, sizeof path, root, ".subscriptions") < 0)
		return -1;
	r = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if (r < 0 || (size_t)r >= sizeof tmp)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fputs("V\t2\n\n", f);
	for (i = 0; i < l->count; i++) {
		const char *c;
		for (c = l->f[i].name; *c; c++)
			fputc(*c == '/' ? '\t' : *c, f);
		fputc('\n', f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int mbox_subs_set(const char *root, const char *name, int on)
{
	char lock[PATH_MAX];
	struct mbox_folder_list l;
	size_t i;
	int r = 0, found = -1;

	if (!*name || strchr(name, '\n') || strchr(name, '\t'))
		return bad_name();
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return -1;
	if (join(lock, sizeof lock, root, ".subscriptions.lock") < 0 || subs_lock(lock) < 0)
		return -1;
	if (subs_load(root, &l) < 0) {
		int e = errno;
		unlink(lock);
		errno = e;
		return -1;
	}
	for (i = 0; i < l.count; i++)
		if (!strcmp(l.f[i].name, name))
			found = (int)i;
	if (on && found < 0) {
		r = list_add(&l, name, 0);
		if (r == 0)
			r = subs_write(root, &l);
	} else if (!on && found >= 0) {
		free(l.f[found].name);
		memmove(&l.f[found], &l.f[found + 1], (l.count - (size_t)found - 1) * sizeof *l.f);
		l.count--;
		r = subs_write(root, &l);
	}
	{
		int e = errno;
		mbox_folder_list_free(&l);
		unlink(lock);
		errno = e;
	}
	return r;
}
