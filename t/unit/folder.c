/* libmbox/folder.c: folder tree, create/delete/rename, subscriptions in
 * Dovecot's format, and refusal of names that leave the root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbox.h"
#include "tap.h"

static char root[256];

static int exists(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof p, "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static const struct mbox_folder *find(const struct mbox_folder_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (!strcmp(l->f[i].name, name))
			return &l->f[i];
	return NULL;
}

int main(void)
{
	struct mbox_folder_list l;
	const struct mbox_folder *e;
	char buf[512], cmd[600];
	static const char *bad[] = { "", "/abs", "../x", "a/../b", "a//b", ".hidden", "a/.imap", "a/" };
	size_t i;

	snprintf(root, sizeof root, "%s/folder-unit.%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (long)getpid());
	/* a missing root is an empty tree */
	ok(mbox_folder_list(root, &l) == 0 && l.count == 0, "missing root: empty list");
	mbox_folder_list_free(&l);

	ok(mbox_folder_create(root, "Sent", 0) == 0 && exists("Sent"), "create a mailbox (root made)");
	ok(mbox_folder_create(root, "Sent", 0) == -1 && errno == EEXIST, "create twice: EEXIST");
	ok(mbox_folder_create(root, "work/2024/q1", 0) == 0 && exists("work/2024/q1"), "create makes parents");
	ok(mbox_folder_create(root, "empty", 1) == 0, "create a directory");
	ok(mbox_folder_create(root, "Sent/child", 0) == -1 && errno == ENOTDIR, "a mailbox file has no children");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ok(mbox_folder_create(root, bad[i], 0) == -1 && errno == EINVAL, "create refuses \"%s\"", bad[i]);
	}
	ok(!exists("../x") && !exists(".hidden"), "nothing created for refused names");
	snprintf(buf, sizeof buf, "%s/.imap", root);
	mkdir(buf, 0700);
	snprintf(buf, sizeof buf, "%s/Sent.lock", root);
	fclose(fopen(buf, "w"));

	ok(mbox_folder_list(root, &l) == 0, "list");
	ok(l.count == 5, "list: Sent, empty, work, work/2024, work/2024/q1 (%zu)", l.count);
	e = find(&l, "work");
	ok(e && e->is_dir && e->has_children, "directory with children");
	e = find(&l, "empty");
	ok(e && e->is_dir && !e->has_children, "empty directory");
	e = find(&l, "work/2024/q1");
	ok(e && !e->is_dir, "nested mailbox");
	ok(!find(&l, ".imap") && !find(&l, "Sent.lock"), "dot names and lock files are hidden");
	ok(l.count > 1 && strcmp(l.f[0].name, l.f[1].name) < 0, "sorted by name");
	mbox_folder_list_free(&l);

	ok(mbox_folder_rename(root, "work/2024", "archive/2024") == 0 && exists("archive/2024/q1"),
	   "rename a directory into a new level");
	ok(mbox_folder_rename(root, "Sent", "empty") == -1, "rename onto an existing name fails");
	ok(mbox_folder_rename(root, "nosuch", "x") == -1 && errno == ENOENT, "rename of a missing name");
	ok(mbox_folder_rename(root, "archive", "archive/sub") == -1 && errno == EINVAL, "no move below itself");
	ok(mbox_folder_rename(root, "Sent", "../Sent") == -1 && errno == EINVAL, "rename refuses escapes");

	ok(mbox_folder_delete(root, "archive") == -1 && errno == ENOTEMPTY, "delete of a non-empty directory");
	ok(mbox_folder_delete(root, "archive/2024/q1") == 0 && !exists("archive/2024/q1"), "delete a mailbox");
	ok(mbox_folder_delete(root, "empty") == 0 && !exists("empty"), "delete an empty directory");
	ok(mbox_folder_delete(root, "..") == -1 && errno == EINVAL, "delete refuses ..");

	ok(mbox_subs_set(root, "Sent", 1) == 0 && mbox_subs_set(root, "a/b", 1) == 0 &&
	   mbox_subs_set(root, "Sent", 1) == 0, "subscribe (twice is once)");
	{
		size_t n;
		char *subs;
		snprintf(buf, sizeof buf, "%s/.subscriptions", root);
		subs = slurp(buf, &n);
		ok(subs && !strcmp(subs, "V\t2\n\nSent\na\tb\n"), "Dovecot's format: V 2 header, TAB separator");
		free(subs);
	}
	ok(mbox_subs_read(root, &l) == 0 && l.count == 2 && find(&l, "a/b"), "read back");
	mbox_folder_list_free(&l);
	ok(mbox_subs_set(root, "Sent", 0) == 0 && mbox_subs_set(root, "nosuch", 0) == 0, "unsubscribe");
	ok(mbox_subs_read(root, &l) == 0 && l.count == 1 && !find(&l, "Sent"), "unsubscribed");
	mbox_folder_list_free(&l);
	ok(mbox_subs_set(root, "bad\nname", 1) == -1 && errno == EINVAL, "a name with a newline is refused");
	/* an old-format file (plain names) is read too */
	snprintf(buf, sizeof buf, "%s/.subscriptions", root);
	{
		FILE *f = fopen(buf, "w");
		fputs("INBOX\nold/style\n", f);
		fclose(f);
	}
	ok(mbox_subs_read(root, &l) == 0 && l.count == 2 && find(&l, "old/style"), "old format read");
	mbox_folder_list_free(&l);
	ok(!exists(".subscriptions.lock"), "no lock file left");

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
