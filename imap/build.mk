# imapd: the IMAP server (imap/*.c), linked with libmime (imap/mime/, its
# own build.mk, included after this one), libmbox and libfacteur.
IMAP_OBJS := $(call obj,$(wildcard imap/*.c))
IMAP_LIBMIME := $(B)/libmime.a
PROGS += $(B)/imapd

$(IMAP_OBJS): CFLAGS += -Iimap/mime

$(B)/imapd: $(IMAP_OBJS) $(IMAP_LIBMIME) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(IMAP_OBJS) $(IMAP_LIBMIME) $(LIBS) $(LDLIBS)
