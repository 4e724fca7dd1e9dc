# smtp/: smtpd (ESMTP server under xinetd) and sendmail (the injector).
SMTP_COMMON := smtp/addr.c smtp/alias.c smtp/bounce.c smtp/data.c smtp/deliver.c \
	smtp/pickup.c smtp/queue.c smtp/rcpt.c smtp/receive.c smtp/reply.c \
	smtp/runner.c smtp/sasl.c smtp/session.c smtp/worker.c \
	smtp/mx.c smtp/client.c smtp/relay.c smtp/retry.c
# libresolv (mx.c) is loaded at the first lookup (lib/dyn.h)
SMTP_LDLIBS :=
PROGS += $(B)/smtpd $(B)/sendmail

$(B)/smtpd: $(call obj,smtp/smtpd.c $(SMTP_COMMON)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(LDLIBS) $(SMTP_LDLIBS)

$(B)/sendmail: $(call obj,smtp/sendmail.c $(SMTP_COMMON)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(LDLIBS) $(SMTP_LDLIBS)
