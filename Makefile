# facteur: build, test, install.  GNU make.
#   make                 build everything into build/
#   make check           install missing test dependencies (as root), run t/ with prove
#   make check SANITIZE=1  the same, built with ASan+UBSan into build-san/
#   make install         PREFIX=/usr/local DESTDIR= honoured (MANDIR, UNITDIR too)
#   make demo            xinetd in the foreground on 127.0.0.1 with a private spool

PREFIX ?= /usr/local
LIBEXEC ?= $(PREFIX)/libexec/facteur
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
# systemd looks in /usr/local/lib/systemd/system too; Debian 12 uses /lib/...
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
ifeq ($(origin CC),default)
CC := gcc
endif

ifeq ($(SANITIZE),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build
SANFLAGS :=
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter \
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DFACTEUR_LIBEXEC='"$(LIBEXEC)"' \
	-Ilib -Ilibmbox -MMD -MP $(SANFLAGS)
# full RELRO and no lazy binding (Debian's hardening=+all does the same):
# symbols bound once at start, not again in each forked child, where the
# first call also wrote a GOT page shared with the parent (bench/README)
LDFLAGS += $(SANFLAGS) -Wl,-z,relro,-z,now
# libpam, libcrypt and libresolv are dlopen()ed at their first use
# (lib/dyn.h): not loaded at every connection's exec.  A sanitizer build
# links them: ASan resolves its interceptors (crypt_r, which pam_unix
# calls) at start, and a library dlopen()ed later gets a null one.
LDLIBS :=
ifeq ($(SANITIZE),1)
LDLIBS += -Wl,--no-as-needed -lpam -lcrypt -lresolv -Wl,--as-needed
endif

PROGS :=
TESTPROGS :=

all: build-all

# object files live under $(B)/obj, mirroring the source tree
obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

LIBFACTEUR := $(B)/libfacteur.a
LIBMBOX := $(B)/libmbox.a
LIBS := $(LIBMBOX) $(LIBFACTEUR)

$(LIBFACTEUR): $(call obj,$(wildcard lib/*.c))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBMBOX): $(call obj,$(wildcard libmbox/*.c))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# each part declares its programs in its own fragment
-include smtp/build.mk
-include pop3/build.mk
-include imap/build.mk
-include imap/mime/build.mk
-include t/build.mk
-include bench/build.mk

build-all: $(LIBS) $(PROGS) $(TESTPROGS)
# only what is installed (the Debian package builds this)
progs: $(LIBS) $(PROGS)

# dependencies first: on a fresh machine they include the compiler
check:
	@sh t/deps.sh
	$(MAKE) build-all
	FACTEUR_BUILD=$(CURDIR)/$(B) FACTEUR_SRC=$(CURDIR) prove -r -j2 t/

# no unbounded string functions in our code
lint:
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets)[[:space:]]*\(' lib/*.[ch] libmbox/*.[ch] smtp/*.[ch] pop3/*.[ch] imap/*.[ch] imap/mime/*.[ch] t/bin/*.c t/unit/*.c 2>/dev/null

# xinetd files, systemd units, the cron file and the example config carry
# @LIBEXEC@ / @SYSCONFDIR@.  The admin's files are never overwritten: an
# existing xinetd file (maybe enabled) gets its new version beside it as
# NAME.new, which xinetd ignores (a dot).  Units are the package's, not the
# admin's (who overrides them in /etc/systemd/system): always replaced.
# debian/rules runs this same recipe into debian/facteur.
SUBST = sed -e 's|@LIBEXEC@|$(LIBEXEC)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'
install: progs
	install -d $(DESTDIR)$(LIBEXEC)
	for p in $(PROGS); do install -m 755 $$p $(DESTDIR)$(LIBEXEC)/ || exit 1; done
	install -d $(DESTDIR)$(SYSCONFDIR)/xinetd.d $(DESTDIR)$(SYSCONFDIR)/pam.d
	for f in xinetd.d/facteur-*; do [ -e "$$f" ] || continue; \
		d=$(DESTDIR)$(SYSCONFDIR)/xinetd.d/$$(basename $$f); \
		if [ -e "$$d" ]; then d=$$d.new; echo "kept $${d%.new} (enabled?), new one in $$d"; fi; \
		sed -e 's|@LIBEXEC@|$(LIBEXEC)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$f > "$$d" && \
		chmod 644 "$$d" || exit 1; done
	test -e $(DESTDIR)$(SYSCONFDIR)/pam.d/facteur || install -m 644 etc/pam.d/facteur $(DESTDIR)$(SYSCONFDIR)/pam.d/facteur
	test -e $(DESTDIR)$(SYSCONFDIR)/facteur.conf || { \
		sed -e 's|@LIBEXEC@|$(LIBEXEC)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' etc/facteur.conf \
		> $(DESTDIR)$(SYSCONFDIR)/facteur.conf && chmod 644 $(DESTDIR)$(SYSCONFDIR)/facteur.conf; }
	install -d -m 755 $(DESTDIR)/var/empty
	install -d -m 700 $(DESTDIR)/var/spool/facteur
	install -d $(DESTDIR)$(SYSCONFDIR)/cron.d
	test -e $(DESTDIR)$(SYSCONFDIR)/cron.d/facteur || { \
		$(SUBST) etc/cron.d/facteur > $(DESTDIR)$(SYSCONFDIR)/cron.d/facteur && \
		chmod 644 $(DESTDIR)$(SYSCONFDIR)/cron.d/facteur; }
	install -d $(DESTDIR)$(UNITDIR)
	for f in systemd/facteur-*; do \
		$(SUBST) $$f > $(DESTDIR)$(UNITDIR)/$$(basename $$f) && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$f) || exit 1; done
	for f in man/*.[1-8]; do [ -e "$$f" ] || continue; s=$${f##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$f $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	install -d $(DESTDIR)$(MANDIR)/man1
	install -d $(DESTDIR)$(PREFIX)/share/doc/facteur/examples
	install -m 644 etc/fail2ban/jail-facteur.conf $(DESTDIR)$(PREFIX)/share/doc/facteur/examples/
	for n in mailq newaliases; do ln -sf ../man8/sendmail.8 $(DESTDIR)$(MANDIR)/man1/$$n.1 || exit 1; done

demo:
	@sh t/deps.sh
	$(MAKE) build-all
	sh demo/run.sh $(CURDIR)/$(B)

clean:
	rm -rf build build-san

.PHONY: all build-all progs check lint install demo clean
-include $(shell find build build-san -name '*.d' 2>/dev/null)
