# pop3d: the POP3 server (pop3/*.c), linked with libmbox and libfacteur.
POP3_OBJS := $(call obj,$(wildcard pop3/*.c))
PROGS += $(B)/pop3d

$(B)/pop3d: $(POP3_OBJS) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(POP3_OBJS) $(LIBS) $(LDLIBS)
