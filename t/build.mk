# Test programs: every t/bin/NAME.c and t/unit/NAME.c is one program
# $(B)/t/bin/NAME or $(B)/t/unit/NAME linked with both libraries.
T_BIN_SRCS := $(wildcard t/bin/*.c)
T_UNIT_SRCS := $(wildcard t/unit/*.c)
TESTPROGS += $(patsubst t/%.c,$(B)/t/%,$(T_BIN_SRCS) $(T_UNIT_SRCS))

# -lcrypt: mkhash calls crypt itself (the servers load it on first use)
$(B)/t/%: $(B)/obj/t/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS) -lcrypt

# the crash-point injector (t/shim/crashpoint.c): a shared object for
# LD_PRELOAD, built without the sanitizers (it is preloaded before them)
CRASHSHIM := $(B)/t/crashpoint.so
TESTPROGS += $(CRASHSHIM)
$(CRASHSHIM): t/shim/crashpoint.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -fPIC -shared -o $@ $< -ldl

# the failure injector (t/shim/failpoint.c): chosen calls fail with ENOSPC,
# EDQUOT, EIO... (issue 11.6: every result checked)
FAILSHIM := $(B)/t/failpoint.so
TESTPROGS += $(FAILSHIM)
$(FAILSHIM): t/shim/failpoint.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -fPIC -shared -o $@ $< -ldl

# t/smtp/recvtool: smtpd's root side on a record stream (links the smtp code)
TESTPROGS += $(B)/t/smtp/recvtool
$(B)/t/smtp/recvtool: $(call obj,t/smtp/recvtool.c $(SMTP_COMMON)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(LDLIBS) $(SMTP_LDLIBS)
