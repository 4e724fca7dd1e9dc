# libmime: MIME structure, ENVELOPE/BODYSTRUCTURE, sections, search (issue 6).
# imapd links it before libfacteur:  $(LIBMIME) $(LIBS)
LIBMIME := $(B)/libmime.a

$(LIBMIME): $(call obj,$(wildcard imap/mime/*.c))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

build-all: $(LIBMIME)

# The test programs t/unit/mime*.c and t/bin/mime*.c (built by t/build.mk)
# also need libmime and its header.
MIME_TESTPROGS := $(patsubst t/%.c,$(B)/t/%,$(wildcard t/unit/mime*.c t/bin/mime*.c))
$(MIME_TESTPROGS): $(LIBMIME)
$(MIME_TESTPROGS): LDLIBS += $(LIBMIME) $(LIBFACTEUR)
# (explicit object names: a pattern "mime%.o" would miss t/unit/mime.c,
# make's stem cannot be empty)
$(patsubst t/%.c,$(B)/obj/t/%.o,$(wildcard t/unit/mime*.c t/bin/mime*.c)): CFLAGS += -Iimap/mime
