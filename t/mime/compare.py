#!/usr/bin/env python3
"""compare.py BUILD CORPUS_DIR WORKDIR: runs Dovecot's preauthenticated imap on
an mbox of the corpus, fetches BODY[], ENVELOPE, BODY and BODYSTRUCTURE, runs
facteur's mimedump on the very bytes Dovecot served, and compares the
answers as parsed IMAP structures (so quoted-vs-literal choices don't
matter).  Prints TAP lines 'ok'/'not ok' without numbers on stdout:
'<ok|not ok> NAME WHAT [# reason]'.  Known, explained differences are in
KNOWN below."""
import os, subprocess, sys, re
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapparse import P, read_all

# Differences with Dovecot that are deliberate, with the reason.
KNOWN = {
    # RFC 2046 5.1.1: the CRLF before a boundary belongs to the boundary.
    # Dovecot keeps it in a message/rfc822 part whose nested message is
    # all header (no blank line) and in a multipart whose close delimiter
    # is directly followed by the outer boundary.
    ('62-attachment-rfc822-b64.eml', 'body'): 'RFC 2046 5.1.1 CRLF, see above',
    ('62-attachment-rfc822-b64.eml', 'bodystructure'): 'RFC 2046 5.1.1 CRLF, see above',
    ('62-attachment-rfc822-b64.eml', 'BODY[1]'): 'RFC 2046 5.1.1 CRLF, see above',
    ('62-attachment-rfc822-b64.eml', 'BODY[1.HEADER]'): 'RFC 2046 5.1.1 CRLF, see above',
    ('62-attachment-rfc822-b64.eml', 'BODY[1.1]'): 'RFC 2046 5.1.1 CRLF, see above',
    # message/global (RFC 6532 3.7, RFC 9051 7.5.2) is a nested message for
    # facteur's part numbers; Dovecot 2.3 treats it as an opaque leaf.
    # (BODYSTRUCTURE keeps Dovecot's leaf form for IMAP4rev1 clients.)
    ('15-message-global.eml', 'BODY[1.1]'): 'message/global is a message (RFC 9051)',
    ('15-message-global.eml', 'BODY[1.HEADER]'): 'message/global is a message (RFC 9051)',
    ('15-message-global.eml', 'BODY[1.TEXT]'): 'message/global is a message (RFC 9051)',
    # RFC 2045 5.2: a syntactically invalid Content-Type ("garbage", no
    # subtype) gets the default text/plain; Dovecot reports "garbage" "".
    ('54-ct-invalid.eml', 'body'): 'RFC 2045 5.2 default for an invalid Content-Type',
    ('54-ct-invalid.eml', 'bodystructure'): 'RFC 2045 5.2 default for an invalid Content-Type',
    # RFC 2231 charset*= is a charset parameter: no default us-ascii is
    # added beside it (Dovecot adds "charset" "us-ascii").
    ('17-rfc2231-charset.eml', 'body'): 'charset*= present: no default charset',
    ('17-rfc2231-charset.eml', 'bodystructure'): 'charset*= present: no default charset',
    # A TAB in an unfolded header is text (RFC 5322 3.2.5): kept; Dovecot
    # turns it into a space.
    ('64-subject-special-chars.eml', 'envelope'): 'TAB in Subject kept (RFC 5322 3.2.5)',
    # Dovecot's 2.3 message parser treats a boundary followed by more than
    # white space ("--abc" when the boundary is "ab") as not a boundary only
    # when an inner multipart declared it; see README in this directory.
}

# BODY[section] specs fetched from both
SECTIONS = ['1', '1.MIME', 'TEXT', 'HEADER', 'HEADER.FIELDS (From Subject)', 'HEADER.FIELDS.NOT (To Date)',
            '2', '2.MIME', '2.1', '2.HEADER', '2.TEXT', '1.1', '1.2', '2.1.MIME', '3', '1.HEADER']

def lower(v):
    # IMAP atoms such as "TEXT"/"text" and parameter names compare case-insensitively
    if isinstance(v, list): return [lower(x) for x in v]
    if isinstance(v, bytes): return v.lower()
    return v

def main():
    build, corpus, work = sys.argv[1:4]
    names = sorted(f for f in os.listdir(corpus) if f.endswith('.eml'))
    with open(os.path.join(work, 'inbox'), 'wb') as mb:
        for n in names:
            data = open(os.path.join(corpus, n), 'rb').read()
            data = re.sub(rb'(?m)^(>*From )', rb'>\1', data)
            if not data.endswith(b'\n'): data += b'\n'
            mb.write(b'From MAILER-DAEMON Thu Nov 27 10:00:00 2025\n' + data + b'\n')
    os.makedirs(os.path.join(work, 'mail'), exist_ok=True)
    cmd = ['/usr/lib/dovecot/imap', '-o', 'mail_location=mbox:%s/mail:INBOX=%s/inbox' % (work, work)]
    env = {'USER': os.environ.get('DV_USER', 'nobody'), 'HOME': work, 'PATH': '/usr/bin:/bin'}
    if os.getuid() == 0:
        for r, ds, fs in os.walk(work):
            for x in ds + fs: os.chown(os.path.join(r, x), 65534, 65534)
        os.chown(work, 65534, 65534)
        cmd = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] + cmd
    inp = (b'a SELECT INBOX\r\nb FETCH 1:* (BODY.PEEK[] ENVELOPE BODY BODYSTRUCTURE ' +
           b' '.join(b'BODY.PEEK[%s]' % x.encode() for x in SECTIONS) + b')\r\n')
    # LOGOUT (and EOF on its stdin) only after the FETCH is answered: at
    # EOF Dovecot drops the connection even while FETCH output is pending
    dv = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    dv.stdin.write(inp); dv.stdin.flush()
    out = b''
    while not re.search(rb'\r\nb (OK|NO|BAD)[^\r\n]*\r\n', out[-4096:]):
        chunk = os.read(dv.stdout.fileno(), 65536)
        if not chunk: break
        out += chunk
    try:
        dv.stdin.write(b'c LOGOUT\r\n'); dv.stdin.close()
    except BrokenPipeError:
        pass
    out += dv.stdout.read()
    dv.wait()
    res = {}
    for m in re.finditer(rb'\* (\d+) FETCH ', out):
        p = P(out); p.i = m.end()
        try:
            l = p.val()
        except Exception:
            sys.stderr.write('unparsable dovecot answer at %r\n' % out[p.i-80:p.i+80]); continue
        res[int(m.group(1))] = dict(zip(l[0::2], l[1::2]))
    if len(res) != len(names):
        print('not ok dovecot answered for %d of %d messages' % (len(res), len(names)))
        sys.stderr.write(out[-2000:].decode('latin-1'))
        return
    # facteur: one mimedump run for every message Dovecot served
    files = []
    for i, n in enumerate(names, 1):
        f = os.path.join(work, 'msg%03d' % i)
        open(f, 'wb').write(res[i]['BODY[]'])
        files.append(f)
    cmd = [build + '/t/bin/mimedump', 'all']
    for sec in SECTIONS: cmd += ['-s', sec]
    mine = read_all(subprocess.run(cmd + files, stdout=subprocess.PIPE).stdout)
    for i, n in enumerate(names, 1):
        d, g = res[i], mine.get(files[i - 1], {})
        for what, key in (('envelope', 'ENVELOPE'), ('body', 'BODY'), ('bodystructure', 'BODYSTRUCTURE')):
            got = g.get(what) or b''
            try:
                v = P(got).val()
            except Exception as e:
                v = 'unparsable: %r' % got[:200]
            ok = lower(v) == lower(d[key])
            report(n, what, ok, v, d[key])
        for sec in SECTIONS:
            rc, got = g.get('section ' + sec, (-1, b'missing'))
            if rc < 0: got = b'error'
            want = d.get('BODY[%s]' % sec.replace('HEADER.FIELDS (From Subject)', 'HEADER.FIELDS (FROM SUBJECT)').replace('(To Date)', '(TO DATE)'))
            if want is None: want = b''
            report(n, 'BODY[%s]' % sec, got == want, got[:300], want[:300])

def report(n, what, ok, g, d):
            k = KNOWN.get((n, what))
            if ok:
                print('ok %s %s matches Dovecot' % (n, what))
            elif k:
                print('ok %s %s differs from Dovecot # %s' % (n, what, k))
            else:
                print('not ok %s %s matches Dovecot' % (n, what))
                print('#   facteur: %r' % (g,))
                print('#   dovecot: %r' % (d,))
main()
