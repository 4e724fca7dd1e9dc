"""TLS and SMTP AUTH end to end (t/85-e2e-tls.t): python3 smtplib, imaplib,
poplib and raw sockets against facteur under xinetd.  Prints TAP lines
numbered from argv[3].  Ports come as NAME=PORT arguments after it."""
import imaplib, os, poplib, re, smtplib, socket, ssl, sys, time

tmp, spool, n0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
P = dict(a.split('=') for a in sys.argv[4:])
P = {k: int(v) for k, v in P.items()}
N = n0 - 1
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
H = '127.0.0.1'


def ok(cond, name):
    global N
    N += 1
    print(('ok %d - %s' if cond else 'not ok %d - %s') % (N, name))
    sys.stdout.flush()
    return cond


def attempt(name, fn):
    try:
        return fn()
    except Exception as e:  # a client exception is a failed check, not a crash
        ok(False, '%s (%s: %s)' % (name, type(e).__name__, e))
        return None


def wait_mail(user, pat, secs=20):
    end = time.time() + secs
    while time.time() < end:
        try:
            if re.search(pat, open(os.path.join(spool, user), 'rb').read().decode('latin-1')):
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def msg(subj, to='bob@example.test'):
    return ('From: alice@example.test\r\nTo: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n' % (to, subj, subj)).encode()


# ---- SMTP ------------------------------------------------------------------
def smtp_starttls_25():
    s = smtplib.SMTP(H, P['smtp'], timeout=20)
    s.ehlo('client.test')
    ok(s.has_extn('starttls'), 'SMTP 25: EHLO lists STARTTLS before TLS')
    ok(not s.has_extn('auth'), 'SMTP 25: no AUTH (smtpd_sasl_auth_enable = no)')
    code, _ = s.docmd('STARTTLS', 'now')
    ok(code == 501, 'SMTP: STARTTLS with an argument is a syntax error (%d)' % code)
    s.starttls(context=CTX)
    ok(s.ehlo_resp is None and not s.does_esmtp, 'smtplib forgets EHLO after STARTTLS (client side)')
    code, _ = s.docmd('MAIL FROM:<alice@example.test>')
    ok(code == 503, 'SMTP: the server forgot the EHLO too: MAIL gets 503 (%d)' % code)
    s.ehlo('client.test')
    ok(not s.has_extn('starttls'), 'SMTP: EHLO over TLS lists no STARTTLS')
    code, resp = s.docmd('STARTTLS')
    ok(code == 554, 'SMTP: STARTTLS twice: 554 (%d %s)' % (code, resp.decode()))
    s.sendmail('alice@example.test', ['bob@example.test'], msg('smtplib-starttls-25'))
    s.quit()
    ok(wait_mail('bob', r'with ESMTPS id \w+\n\tfor <bob@example\.test>; [^\n]*\n(?:[^\n]+\n)*?Subject: smtplib-starttls-25'),
       'SMTP 25: mail over STARTTLS delivered, Received says ESMTPS')


def smtp_sasl_25():
    """smtpd_sasl_auth_enable = yes: AUTH on port 25 too (Postfix's key),
    offered to the trusted loopback before TLS and after it; optional."""
    s = smtplib.SMTP(H, P['smtp_sasl'], timeout=20)
    s.ehlo('client.test')
    ok(s.has_extn('auth') and s.has_extn('starttls'), 'SMTP 25, smtpd_sasl_auth_enable = yes: AUTH and STARTTLS')
    code, _ = s.docmd('MAIL FROM:<alice@example.test>')
    ok(code == 250, 'SMTP 25, smtpd_sasl_auth_enable = yes: AUTH not required (%d)' % code)
    s.rset()
    s.starttls(context=CTX)
    s.ehlo('client.test')
    ok('PLAIN' in s.esmtp_features.get('auth', '') and 'LOGIN' in s.esmtp_features.get('auth', ''),
       'SMTP 25, smtpd_sasl_auth_enable = yes, under TLS: AUTH PLAIN LOGIN')
    s.login('bob', 'bob-pw')
    s.sendmail('bob@example.test', ['alice@example.test'], msg('smtp-25-auth', 'alice@example.test'))
    s.quit()
    ok(wait_mail('alice', r'\(Authenticated sender: bob\)\n\tby [^\n]* with ESMTPSA id \w+[^\n]*\n(?:[^\n]+\n)*?Subject: smtp-25-auth'),
       'SMTP 25, smtpd_sasl_auth_enable = yes: AUTH then mail, Received says ESMTPSA')


def smtp_submission():
    s = smtplib.SMTP(H, P['submission'], timeout=20)
    s.ehlo('client.test')
    code, resp = s.docmd('MAIL FROM:<alice@example.test>')
    ok(code == 530, '587: MAIL before AUTH: 530 (%d %s)' % (code, resp.decode()))
    s.starttls(context=CTX)
    s.ehlo('client.test')
    ok(s.has_extn('auth') and 'PLAIN' in s.esmtp_features['auth'] and 'LOGIN' in s.esmtp_features['auth'],
       '587 over TLS: AUTH PLAIN LOGIN offered')
    try:
        s.login('alice', 'wrong')
        ok(False, '587: wrong password refused')
    except smtplib.SMTPAuthenticationError as e:
        ok(e.smtp_code == 535, '587: wrong password refused with 535')
    s.login('alice', 'alice-pw')
    code, _ = s.docmd('MAIL FROM:<alice@example.test> AUTH=<>')
    ok(code == 250, '587: MAIL ... AUTH=<> accepted once AUTH is offered (%d)' % code)
    s.rset()
    code, _ = s.docmd('AUTH PLAIN')
    ok(code == 503, '587: a second AUTH: 503 (%d)' % code)
    code, _ = s.docmd('STARTTLS')
    ok(code == 554, '587: STARTTLS after TLS and AUTH refused (%d)' % code)
    s.sendmail('alice@example.test', ['bob@example.test', 'someone@elsewhere.test'], msg('smtplib-587'))
    s.quit()
    ok(wait_mail('bob', r'\(Authenticated sender: alice\)\n\tby mail\.example\.test \(facteur\) with ESMTPSA'),
       '587: Received has (Authenticated sender: alice) and ESMTPSA; relaying to elsewhere.test accepted')


def smtp_auth_failures():
    s = smtplib.SMTP_SSL(H, P['submissions'], timeout=20, context=CTX)
    s.ehlo('client.test')
    codes = []
    for pw in ('a', 'b', 'c'):
        codes.append(s.docmd('AUTH PLAIN', __import__('base64').b64encode(b'\0alice\0' + pw.encode()).decode())[0])
    ok(codes == [535, 535, 535], '465: three wrong passwords: 535 each (%s)' % codes)
    try:
        s.docmd('NOOP')
        line = s.getreply()
        ok(False, '465: the session ends after the third failure (%s)' % (line,))
    except (smtplib.SMTPServerDisconnected, ConnectionError, ssl.SSLError):
        ok(True, '465: the session ends after the third failure (421)')
    s = smtplib.SMTP_SSL(H, P['submissions'], timeout=20, context=CTX)
    s.ehlo('client.test')
    code, _ = s.docmd('AUTH CRAM-MD5')
    ok(code == 504, '465: unknown mechanism: 504 (%d)' % code)
    code, _ = s.docmd('AUTH PLAIN', '!!!notbase64')
    ok(code == 501, '465: bad base64: 501 (%d)' % code)
    code, _ = s.docmd('AUTH LOGIN')
    c2, _ = s.docmd('*')
    ok(code == 334 and c2 == 501, 'AUTH LOGIN cancelled with *: 501 (%d %d)' % (code, c2))
    s.login('bob', 'bob-pw')  # smtplib picks PLAIN or LOGIN
    s.sendmail('bob@example.test', ['alice@example.test'], msg('smtplib-465', 'alice@example.test'))
    s.quit()
    ok(wait_mail('alice', r'\(Authenticated sender: bob\)'), '465 (implicit TLS): AUTH and mail delivered')


# ---- the injection test (CVE-2011-0411 class) --------------------------------
def readline(f):
    return f.readline().decode('latin-1').rstrip('\r\n')


def inject(proto, port, cmds, after, expect_first):
    sock = socket.create_connection((H, port), timeout=10)
    f = sock.makefile('rb')
    greet = readline(f)
    for c in cmds[:-1]:
        sock.sendall(c)
        line = readline(f)
        while re.match(r'^\d{3}-', line):
            line = readline(f)
    # the go-ahead and an injected command in one segment
    sock.sendall(cmds[-1])
    go = readline(f)
    t = CTX.wrap_socket(sock, server_hostname=None)
    tf = t.makefile('rb')
    t.sendall(after)
    first = readline(tf)
    t.close()
    ok(re.match(expect_first, first) is not None,
       '%s: input pipelined after STARTTLS is not executed under TLS (go-ahead "%s", then "%s")' % (proto, go, first))


# ---- IMAP ------------------------------------------------------------------
def imap_tests():
    m = imaplib.IMAP4(H, P['imap'], timeout=20)
    caps = m.capabilities
    ok('STARTTLS' in caps, 'IMAP 143: STARTTLS in the capabilities before TLS')
    m.starttls(ssl_context=CTX)
    ok('STARTTLS' not in m.capabilities and 'AUTH=PLAIN' in m.capabilities and 'LOGINDISABLED' not in m.capabilities,
       'IMAP after STARTTLS: capabilities asked again: AUTH=PLAIN, no STARTTLS')
    try:
        typ, data = m._simple_command('STARTTLS')
        ok(False, 'IMAP: STARTTLS twice refused (%s)' % typ)
    except imaplib.IMAP4.error as e:
        ok('already active' in str(e), 'IMAP: STARTTLS twice: BAD TLS is already active')
    m.login('alice', 'alice-pw')
    typ, data = m.select('INBOX')
    ok(typ == 'OK', 'IMAP STARTTLS: login and SELECT')
    m.logout()
    m = imaplib.IMAP4_SSL(H, P['imaps'], timeout=20, ssl_context=CTX)
    ok('STARTTLS' not in m.capabilities and 'AUTH=PLAIN' in m.capabilities, 'IMAPS 993: AUTH=PLAIN, no STARTTLS')
    m.authenticate('PLAIN', lambda _: b'\0alice\0alice-pw')
    typ, data = m.select('INBOX')
    ok(typ == 'OK', 'IMAPS 993: AUTHENTICATE PLAIN and SELECT')
    m.logout()
    # tls_security_level = encrypt
    m = imaplib.IMAP4(H, P['imap_enc'], timeout=20)
    ok('LOGINDISABLED' in m.capabilities and 'STARTTLS' in m.capabilities,
       'IMAP, encrypt: LOGINDISABLED and STARTTLS before TLS, even on loopback')
    try:
        m.login('alice', 'alice-pw')
        ok(False, 'IMAP, encrypt: LOGIN before TLS refused')
    except imaplib.IMAP4.error as e:
        ok('PRIVACYREQUIRED' in str(e), 'IMAP, encrypt: LOGIN before TLS refused [PRIVACYREQUIRED]')
    m.starttls(ssl_context=CTX)
    m.login('alice', 'alice-pw')
    ok(True, 'IMAP, encrypt: LOGIN after STARTTLS')
    m.logout()


# ---- POP3 ------------------------------------------------------------------
def pop3_tests():
    p = poplib.POP3(H, P['pop3'], timeout=20)
    ok('STLS' in p.capa(), 'POP3 110: STLS in CAPA before TLS')
    p.stls(context=CTX)
    c = p.capa()
    ok('STLS' not in c and 'USER' in c, 'POP3 after STLS: CAPA again: USER, no STLS')
    try:
        p._shortcmd('STLS')
        ok(False, 'POP3: STLS twice refused')
    except poplib.error_proto as e:
        ok('already active' in str(e), 'POP3: STLS twice: -ERR TLS already active')
    p.user('alice')
    p.pass_('alice-pw')
    ok(p.stat()[0] >= 1, 'POP3 STLS: USER/PASS and STAT')
    p.quit()
    p = poplib.POP3_SSL(H, P['pop3s'], timeout=20, context=CTX)
    p.user('alice')
    p.pass_('alice-pw')
    ok(p.stat()[0] >= 1, 'POP3S 995: USER/PASS and STAT')
    p.quit()
    p = poplib.POP3(H, P['pop3_enc'], timeout=20)
    c = p.capa()
    ok('USER' not in c and 'STLS' in c, 'POP3, encrypt: no USER before TLS, STLS offered')
    try:
        p.user('alice')
        ok(False, 'POP3, encrypt: USER before TLS refused')
    except poplib.error_proto:
        ok(True, 'POP3, encrypt: USER before TLS refused')
    p.stls(context=CTX)
    p.user('alice')
    p.pass_('alice-pw')
    ok(True, 'POP3, encrypt: USER/PASS after STLS')
    p.quit()


def smtp_encrypt():
    s = smtplib.SMTP(H, P['smtp_enc'], timeout=20)
    s.ehlo('client.test')
    code, resp = s.docmd('MAIL FROM:<alice@example.test>')
    ok(code == 530 and b'STARTTLS' in resp, 'SMTP, encrypt: MAIL before STARTTLS: 530 (%d)' % code)
    s.starttls(context=CTX)
    s.ehlo('client.test')
    code, resp = s.docmd('MAIL FROM:<alice@example.test>')
    ok(code == 250, 'SMTP, encrypt: MAIL after STARTTLS (%d)' % code)
    s.quit()


def no_cert():
    s = smtplib.SMTP(H, P['smtp_nocert'], timeout=20)
    s.ehlo('client.test')
    ok(not s.has_extn('starttls'), 'no certificate: no STARTTLS in EHLO')
    code, _ = s.docmd('STARTTLS')
    ok(code == 502, 'no certificate: STARTTLS gets 502 (%d)' % code)
    s.quit()
    p = poplib.POP3(H, P['pop3_nocert'], timeout=20)
    ok('STLS' not in p.capa(), 'no certificate: no STLS in CAPA')
    p.quit()
    sock = socket.create_connection((H, P['imaps_nocert']), timeout=10)
    try:
        t = CTX.wrap_socket(sock)
        ok(t.recv(100) == b'', 'no certificate, implicit TLS: the connection ends')
    except (ssl.SSLError, ConnectionError, OSError):
        ok(True, 'no certificate, implicit TLS: the connection ends without TLS')


def deadline():
    # never finishes the handshake: stunnel/the server end it (3 s deadline)
    for name, data in (('silent', b''), ('half a ClientHello', b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')):
        sock = socket.create_connection((H, P['imaps_short']), timeout=20)
        t0 = time.time()
        if data:
            sock.sendall(data)
        try:
            r = sock.recv(100)
            while r and time.time() - t0 < 20:
                r = sock.recv(100)
        except (ConnectionError, socket.timeout):
            pass
        dt = time.time() - t0
        ok(dt < 15, 'implicit TLS, %s client: closed by the handshake deadline (%.1f s)' % (name, dt))
        sock.close()
    # STARTTLS then silence
    sock = socket.create_connection((H, P['pop3_short']), timeout=20)
    f = sock.makefile('rb')
    readline(f)
    sock.sendall(b'STLS\r\n')
    readline(f)
    t0 = time.time()
    try:
        r = sock.recv(100)
    except (ConnectionError, socket.timeout):
        r = None
    ok(time.time() - t0 < 15, 'STLS then no handshake: closed by the deadline (%.1f s)' % (time.time() - t0))


def drop_after_tls():
    for port, pre in ((P['imaps'], None), (P['smtp'], b'EHLO x\r\nSTARTTLS\r\n')):
        sock = socket.create_connection((H, port), timeout=10)
        if pre:
            f = sock.makefile('rb')
            readline(f)
            sock.sendall(pre)
            while not readline(f).startswith('220'):
                pass
        t = CTX.wrap_socket(sock)
        t.close()


def after_login():
    """STARTTLS/STLS once logged in (plaintext, from trusted loopback): the
    protocol's error, and the session goes on in plaintext."""
    def talk(port, lines, last):
        sock = socket.create_connection((H, port), timeout=10)
        f = sock.makefile('rb')
        got = [readline(f)]
        for l, tag in lines:
            sock.sendall(l + b'\r\n')
            while True:
                r = readline(f)
                got.append(r)
                if not r or r.startswith(tag) and (tag != '' or r[3:4] != '-'):
                    break
        sock.close()
        return got
    g = talk(P['pop3'], [(b'USER alice', '+OK'), (b'PASS alice-pw', ''), (b'STLS', ''), (b'STAT', ''),
                         (b'QUIT', '')], None)
    ok(g[2].startswith('+OK') and g[3].startswith('-ERR') and g[4].startswith('+OK ') and g[5].startswith('+OK'),
       'POP3: STLS after login: -ERR, the session goes on (%s | %s)' % (g[3], g[4]))
    g = talk(P['imap'], [(b'a LOGIN alice alice-pw', 'a '), (b'b STARTTLS', 'b '), (b'c NOOP', 'c '),
                         (b'd LOGOUT', 'd ')], None)
    b = [x for x in g if x.startswith('b ')]
    c = [x for x in g if x.startswith('c ')]
    ok(b and b[0] == 'b BAD STARTTLS not allowed after login' and c and c[0].startswith('c OK'),
       'IMAP: STARTTLS after LOGIN: BAD, the session goes on (%s)' % (b[0] if b else g))
    import base64
    cred = base64.b64encode(b'\0alice\0alice-pw')
    g = talk(P['submission'], [(b'EHLO x', '250 '), (b'AUTH PLAIN ' + cred, ''), (b'STARTTLS', ''),
                               (b'NOOP', ''), (b'QUIT', '')], None)
    st = [x for x in g if x[:3].isdigit()]
    tail = st[-4:]
    ok(tail[0].startswith('235') and tail[1][:1] == '5' and tail[2].startswith('250') and tail[3].startswith('221'),
       'SMTP 587: STARTTLS after AUTH: %s, the session goes on' % tail[1])


for fn in (smtp_starttls_25, smtp_sasl_25, smtp_submission, smtp_auth_failures, after_login):
    attempt(fn.__name__, fn)
attempt('inject smtp', lambda: inject('SMTP', P['smtp'], [b'EHLO x\r\n', b'STARTTLS\r\nRSET\r\n'], b'EHLO y\r\n', r'^250-mail\.example\.test$'))
attempt('inject pop3', lambda: inject('POP3', P['pop3'], [b'STLS\r\nUSER alice\r\n'], b'NOOP\r\n', r'^-ERR'))
attempt('inject imap', lambda: inject('IMAP', P['imap'], [b'a STARTTLS\r\nb CAPABILITY\r\n'], b'c NOOP\r\n', r'^c OK'))
for fn in (imap_tests, pop3_tests, smtp_encrypt, no_cert, deadline, drop_after_tls):
    attempt(fn.__name__, fn)
