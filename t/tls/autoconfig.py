#!/usr/bin/env python3
"""Thunderbird-like clients for t/87: the account set-up's guess from a
domain name, then the mail user's sessions, with Python's own clients
(smtplib, imaplib, poplib) verifying the certificate and the host name
against CAFILE, as Thunderbird does without a security exception.

  autoconfig.py probe DOMAIN CAFILE USER PASS
      Thunderbird's guess (comm-central mailnews/base/prefs/content/
      accountcreation guessConfig.js, when autoconfig and the ISPDB have
      nothing): incoming hosts imap.D, mail.D, D (IMAP) and pop3.D, pop.D,
      mail.D, D (POP3), outgoing smtp.D, mail.D, D; ports IMAP 993 SSL /
      143 STARTTLS, POP3 995 SSL / 110 STARTTLS, SMTP 465 SSL / 587
      STARTTLS / 25 STARTTLS; for each, the capabilities tell whether a
      normal password may be sent.  Prints TAP-like "ok - ..."/"not ok -
      ..." lines and "config KIND HOST PORT SOCKET AUTH" for the choice.
  autoconfig.py refusals DOMAIN CAFILE USER PASS
      what a plaintext client outside the trusted networks gets.
  autoconfig.py submit PORT HOST CAFILE USER PASS FROM SUBJECT TO...
      send over 465 (implicit TLS) or 587 (STARTTLS) after AUTH; prints
      "refused RCPT CODE" for each refused recipient.
  autoconfig.py imapread HOST CAFILE USER PASS SUBJECT  (993)
  autoconfig.py popread HOST CAFILE USER PASS SUBJECT   (110 + STLS)
      print the first message whose Subject contains SUBJECT.
"""
import imaplib
import poplib
import smtplib
import socket
import ssl
import sys

TIMEOUT = 15


def ctx(cafile):
    c = ssl.create_default_context(cafile=cafile)
    c.check_hostname = True
    c.verify_mode = ssl.CERT_REQUIRED
    return c


def resolves(host):
    try:
        socket.getaddrinfo(host, None, socket.AF_INET)
        return True
    except OSError:
        return False


def say(cond, text):
    print(("ok - " if cond else "not ok - ") + text, flush=True)


def imap_caps(m):
    typ, d = m.capability()
    return set(d[0].decode().upper().split())


def pop_caps(p):
    return set(k.upper() for k in p.capa().keys())


def pop_sasl(p):
    return " ".join(p.capa().get("SASL", [])).upper().split()


def smtp_auth(s):
    return s.esmtp_features.get("auth", "").upper().split()


def probe_imap(host, port, sock, c):
    """(password allowed over the secured channel, notes)"""
    if sock == "SSL":
        m = imaplib.IMAP4_SSL(host, port, ssl_context=c, timeout=TIMEOUT)
        caps = imap_caps(m)
        m.logout()
        return ("AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, caps, set())
    m = imaplib.IMAP4(host, port, timeout=TIMEOUT)
    before = imap_caps(m)
    if "STARTTLS" not in before:
        m.logout()
        return (False, set(), before)
    m.starttls(ssl_context=c)
    caps = imap_caps(m)
    m.logout()
    return ("AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps, caps, before)


def probe_pop(host, port, sock, c):
    if sock == "SSL":
        p = poplib.POP3_SSL(host, port, context=c, timeout=TIMEOUT)
        caps = pop_caps(p)
        ok = "USER" in caps or "PLAIN" in pop_sasl(p)
        p.quit()
        return (ok, caps, set())
    p = poplib.POP3(host, port, timeout=TIMEOUT)
    before = pop_caps(p)
    if "STLS" not in before:
        p.quit()
        return (False, set(), before)
    p.stls(context=c)
    caps = pop_caps(p)
    ok = "USER" in caps or "PLAIN" in pop_sasl(p)
    p.quit()
    return (ok, caps, before)


def probe_smtp(host, port, sock, c):
    if sock == "SSL":
        s = smtplib.SMTP_SSL(host, port, context=c, timeout=TIMEOUT)
        s.ehlo("tb.client")
        auth = smtp_auth(s)
        s.quit()
        return ("PLAIN" in auth or "LOGIN" in auth, set(auth), set())
    s = smtplib.SMTP(host, port, timeout=TIMEOUT)
    s.ehlo("tb.client")
    before = set(s.esmtp_features.keys()) | set("AUTH=" + a for a in smtp_auth(s))
    if not s.has_extn("starttls"):
        s.quit()
        return (False, set(), before)
    s.starttls(context=c)
    s.ehlo("tb.client")
    auth = smtp_auth(s)
    after = set(s.esmtp_features.keys()) | set("AUTH=" + a for a in smtp_auth(s))
    s.quit()
    return ("PLAIN" in auth or "LOGIN" in auth, after, before)


def guess(kind, hosts, order, fn, c):
    """Every (host, port, socket) tried in Thunderbird's order; the first
    host that answers decides; among its ports the first secure one with a
    normal password wins (implicit TLS before STARTTLS, RFC 8314 3)."""
    found = []
    for h in hosts:
        if not resolves(h):
            continue
        for port, sock in order:
            try:
                allowed, caps, before = fn(h, port, sock, c)
            except (OSError, imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPException, ssl.SSLError) as e:
                print("# %s %s:%d %s: %s" % (kind, h, port, sock, e))
                continue
            print("# %s %s:%d %s: password %s; before TLS %s; under TLS %s" % (
                kind, h, port, sock, "allowed" if allowed else "refused",
                " ".join(sorted(before)) or "-", " ".join(sorted(caps)) or "-"))
            found.append((h, port, sock, allowed, caps, before))
        if found:
            break
    return found


def probe(domain, cafile, user, pw):
    c = ctx(cafile)
    d = domain
    imap = guess("imap", ["imap." + d, "mail." + d, d], [(993, "SSL"), (143, "STARTTLS")], probe_imap, c)
    pop = guess("pop3", ["pop3." + d, "pop." + d, "mail." + d, d], [(995, "SSL"), (110, "STARTTLS")], probe_pop, c)
    smtp = guess("smtp", ["smtp." + d, "mail." + d, d], [(465, "SSL"), (587, "STARTTLS"), (25, "STARTTLS")],
                 probe_smtp, c)
    for kind, res in (("imap", imap), ("pop3", pop), ("smtp", smtp)):
        good = [r for r in res if r[3]]
        say(len(good) > 0, "%s: a secured server with normal password found for %s" % (kind, d))
        if good:
            h, port, sock = good[0][:3]
            print("config %s %s %d %s password-cleartext" % (kind, h, port, sock))
        for r in res:
            h, port, sock, allowed, caps, before = r
            if sock != "STARTTLS":
                continue
            if kind == "imap":
                say("LOGINDISABLED" in before and "AUTH=PLAIN" not in before,
                    "imap %d before STARTTLS (untrusted client): LOGINDISABLED, no AUTH=PLAIN" % port)
                say("STARTTLS" not in caps, "imap %d after STARTTLS: no STARTTLS" % port)
            elif kind == "pop3":
                say("USER" not in before and "STLS" in before,
                    "pop3 %d before STLS (untrusted client): STLS, no USER" % port)
                say("STLS" not in caps and "USER" in caps, "pop3 %d after STLS: USER, no STLS" % port)
            elif kind == "smtp":
                say(not any(x.startswith("AUTH=") for x in before) and "starttls" in before,
                    "smtp %d before STARTTLS (untrusted client): STARTTLS, no AUTH" % port)
                if port == 587:
                    say("starttls" not in caps and allowed, "smtp 587 after STARTTLS: AUTH, no STARTTLS")
                else:
                    say("starttls" not in caps and not allowed,
                        "smtp 25 after STARTTLS: no AUTH (smtpd_sasl_auth_enable = no), no STARTTLS")
    # the choice is then tried with the user's password, as the wizard's
    # "Done" does: every secure way that was found, not just the first
    for kind, res in (("imap", imap), ("pop3", pop), ("smtp", smtp)):
        for h, port, sock, allowed, caps, before in res:
            if not allowed:
                continue
            try:
                login(kind, h, port, sock, c, user, pw)
                say(True, "%s %s:%d %s: login as %s" % (kind, h, port, sock, user))
            except Exception as e:  # noqa: BLE001 - any failure is the test's
                say(False, "%s %s:%d %s: login as %s: %s" % (kind, h, port, sock, user, e))


def login(kind, h, port, sock, c, user, pw):
    if kind == "imap":
        m = imaplib.IMAP4_SSL(h, port, ssl_context=c, timeout=TIMEOUT) if sock == "SSL" else \
            imaplib.IMAP4(h, port, timeout=TIMEOUT)
        if sock != "SSL":
            m.starttls(ssl_context=c)
        m.login(user, pw)
        typ, _ = m.select("INBOX")
        m.logout()
        if typ != "OK":
            raise RuntimeError("SELECT " + typ)
    elif kind == "pop3":
        p = poplib.POP3_SSL(h, port, context=c, timeout=TIMEOUT) if sock == "SSL" else \
            poplib.POP3(h, port, timeout=TIMEOUT)
        if sock != "SSL":
            p.stls(context=c)
        p.user(user)
        p.pass_(pw)
        p.stat()
        p.quit()
    else:
        s = smtp_open(h, port, sock, c)
        s.login(user, pw)
        s.quit()


def smtp_open(h, port, sock, c):
    if sock == "SSL":
        s = smtplib.SMTP_SSL(h, port, context=c, timeout=TIMEOUT)
        s.ehlo("tb.client")
        return s
    s = smtplib.SMTP(h, port, timeout=TIMEOUT)
    s.ehlo("tb.client")
    s.starttls(context=c)
    s.ehlo("tb.client")
    return s


def refusals(domain, cafile, user, pw):
    """A plaintext client outside login_trusted_networks and mynetworks."""
    d = domain
    m = imaplib.IMAP4("imap." + d, 143, timeout=TIMEOUT)
    try:
        m.login(user, pw)
        say(False, "imap 143 without TLS: LOGIN refused")
    except imaplib.IMAP4.error as e:
        say("PRIVACYREQUIRED" in str(e) or "LOGINDISABLED" in str(e) or "disabled" in str(e).lower(),
            "imap 143 without TLS: LOGIN refused (%s)" % e)
    m.logout()
    p = poplib.POP3("pop." + d, 110, timeout=TIMEOUT)
    try:
        p.user(user)
        p.pass_(pw)
        say(False, "pop3 110 without TLS: USER/PASS refused")
    except poplib.error_proto as e:
        say(True, "pop3 110 without TLS: USER/PASS refused (%s)" % e.args[0].decode())
    p.quit()
    s = smtplib.SMTP("smtp." + d, 587, timeout=TIMEOUT)
    s.ehlo("tb.client")
    code, msg = s.docmd("AUTH", "PLAIN AGZvbwBmb28=")
    say(code in (503, 530, 538), "smtp 587 without TLS: AUTH refused (%d %s)" % (code, msg.decode()))
    code, msg = s.docmd("MAIL", "FROM:<%s@%s>" % (user, d))
    say(code == 530, "smtp 587 without TLS: MAIL refused, authentication required (%d)" % code)
    s.quit()
    s = smtplib.SMTP("smtp." + d, 25, timeout=TIMEOUT)
    s.ehlo("tb.client")
    s.mail("%s@%s" % (user, d))
    code, msg = s.rcpt("someone@elsewhere.test")
    say(code == 554, "smtp 25 unauthenticated, untrusted: relaying refused (%d %s)" % (code, msg.decode()))
    s.quit()


def submit(port, host, cafile, user, pw, frm, subject, rcpts):
    c = ctx(cafile)
    s = smtp_open(host, port, "SSL" if port == 465 else "STARTTLS", c)
    code, _ = s.docmd("MAIL", "FROM:<%s>" % frm)
    if code != 530:
        print("MAIL before AUTH got %d, not 530" % code)
        return 1
    s.rset()
    s.login(user, pw)
    msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s.%d@tb.client>\r\n"
           "\r\nHello from %s, sent as Thunderbird would.\r\n") % (
        frm, ", ".join("<%s>" % r for r in rcpts), subject, subject.replace(" ", "."), port, frm)
    try:
        refused = s.sendmail(frm, rcpts, msg)
    except smtplib.SMTPRecipientsRefused as e:
        refused = e.recipients
    for r, (code, text) in refused.items():
        print("refused %s %d" % (r, code))
    s.quit()
    return 0


def imapread(host, cafile, user, pw, subject):
    m = imaplib.IMAP4_SSL(host, 993, ssl_context=ctx(cafile), timeout=TIMEOUT)
    m.login(user, pw)
    m.select("INBOX", readonly=True)
    typ, d = m.search(None, "SUBJECT", '"%s"' % subject)
    ids = d[0].split()
    if not ids:
        return 1
    typ, d = m.fetch(ids[0], "(BODY.PEEK[])")
    sys.stdout.write(d[0][1].decode("utf-8", "replace").replace("\r\n", "\n"))
    m.logout()
    return 0


def popread(host, cafile, user, pw, subject):
    p = poplib.POP3(host, 110, timeout=TIMEOUT)
    p.stls(context=ctx(cafile))
    p.user(user)
    p.pass_(pw)
    n = p.stat()[0]
    for i in range(1, n + 1):
        lines = [x.decode("utf-8", "replace") for x in p.retr(i)[1]]
        if any(x.startswith("Subject:") and subject in x for x in lines):
            sys.stdout.write("\n".join(lines) + "\n")
            p.quit()
            return 0
    p.quit()
    return 1


def main(a):
    if a[0] == "probe":
        probe(*a[1:5])
        return 0
    if a[0] == "refusals":
        refusals(*a[1:5])
        return 0
    if a[0] == "submit":
        return submit(int(a[1]), a[2], a[3], a[4], a[5], a[6], a[7], a[8:])
    if a[0] == "imapread":
        return imapread(*a[1:6])
    if a[0] == "popread":
        return popread(*a[1:6])
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
