#!/bin/sh
# End to end under xinetd on 127.0.0.1: python3 imaplib fetches the
# BODYSTRUCTURE of a multipart message (text, a nested alternative, a binary
# attachment, an attached message), then every part with BODY.PEEK[n] and
# BODY[n.MIME], decodes each by its Content-Transfer-Encoding and checks the
# attachment byte-exact and the text parts as sent; the message stays
# unseen after the PEEKs.  Also SEARCH and ESEARCH over the network.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
xinetd_need
imap_env
P=$(free_port)
xinetd_start imap=$P
ok $? "xinetd serves imapd on 127.0.0.1:$P"

# the attachment: 70000 random bytes (every byte value, CR and LF included)
head -c 70000 /dev/urandom > "$T_TMP/att.bin"
"$PYTHON" - "$T_TMP/att.bin" > "$T_TMP/msg.eml" <<'PY'
import sys
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
data = open(sys.argv[1], 'rb').read()
m = MIMEMultipart('mixed')
m['From'] = 'Alice <alice@example.test>'
m['To'] = 'bob@example.test'
m['Subject'] = 'attachment test'
m['Date'] = 'Mon, 3 Nov 2025 10:20:30 +0100'
m.attach(MIMEText('Hello Bob,\nthe file is attached.\n', 'plain', 'utf-8'))
alt = MIMEMultipart('alternative')
alt.attach(MIMEText('caf\u00e9 cr\u00e8me plain\n', 'plain', 'iso-8859-1'))
alt.attach(MIMEText('<p>caf\u00e9 cr\u00e8me html</p>\n', 'html', 'utf-8'))
m.attach(alt)
a = MIMEApplication(data, 'octet-stream', Name='data.bin')
a['Content-Disposition'] = 'attachment; filename="data.bin"'
m.attach(a)
inner = MIMEText('inner body\n')
inner['Subject'] = 'inner'
m.attach(MIMEMessage(inner))
sys.stdout.write(m.as_string().replace('\r\n', '\n'))
PY
mkbox alice < /dev/null
deliver alice < "$T_TMP/msg.eml"

cat > "$T_TMP/e2e.py" <<'PY'
import sys, imaplib, base64, quopri, re
port, first, att = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], 'rb').read()
n = first - 1
def ok(cond, name):
    global n
    n += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', n, name))
    sys.stdout.flush()
M = imaplib.IMAP4('127.0.0.1', port, timeout=30)
M.login('alice', 'alice-pw')
typ, d = M.select('INBOX')
ok(typ == 'OK' and d[0] == b'1', 'SELECT INBOX: one message')
typ, d = M.fetch('1', '(BODYSTRUCTURE)')
bs = d[0] if isinstance(d[0], bytes) else d[0][0]
ok(typ == 'OK' and b'BODYSTRUCTURE' in bs, 'FETCH BODYSTRUCTURE')
ok(re.search(rb'\("application" "octet-stream" \("name" "data.bin"\) NIL NIL "base64" (\d+)', bs, re.I) is not None,
   'the attachment in BODYSTRUCTURE: application/octet-stream base64')
# (parameter names keep the sender's case: Python writes "Name")
ok(b'"alternative"' in bs and b'"mixed"' in bs and b'("message" "rfc822"' in bs.lower().replace(b'"MESSAGE" "RFC822"', b'"message" "rfc822"'),
   'nested alternative and message/rfc822 in BODYSTRUCTURE')
ok(b'("attachment" ("filename" "data.bin"))' in bs, 'disposition with filename')

def part(spec):
    typ, d = M.fetch('1', '(BODY.PEEK[%s] BODY.PEEK[%s.MIME])' % (spec, spec))
    if typ != 'OK':
        return None, None
    got = {}
    for item in d:
        if isinstance(item, tuple):
            k = re.search(rb'BODY\[([0-9.]+(?:\.MIME)?)\]', item[0]).group(1).decode()
            got[k] = item[1]
    return got.get(spec), got.get(spec + '.MIME')

def decode(body, mime):
    cte = re.search(rb'(?im)^content-transfer-encoding:\s*(\S+)', mime)
    cte = cte.group(1).lower() if cte else b'7bit'
    if cte == b'base64':
        return base64.b64decode(body)
    if cte == b'quoted-printable':
        return quopri.decodestring(body)
    return body

body, mime = part('3')
ok(body is not None and mime is not None, 'BODY.PEEK[3] and BODY.PEEK[3.MIME]')
ok(mime is not None and mime.lower().startswith(b'content-type: application/octet-stream') and mime.endswith(b'\r\n\r\n'),
   '3.MIME: the part header, ending with the blank line')
data = decode(body or b'', mime or b'')
ok(data == att, 'attachment byte-exact (%d bytes)' % len(data))
ok(len(body or b'') == int(re.search(rb'"octet-stream" \([^)]*\) NIL NIL "base64" (\d+)', bs, re.I).group(1)),
   'BODYSTRUCTURE size = octets of BODY[3]')
b1, m1 = part('1')
ok(decode(b1 or b'', m1 or b'').decode('utf-8') == 'Hello Bob,\nthe file is attached.\n',
   'text part 1 decoded')
b21, m21 = part('2.1')
ok(b'iso-8859-1' in (m21 or b'') and decode(b21 or b'', m21 or b'').decode('iso-8859-1').startswith('caf\u00e9 cr\u00e8me plain'),
   'part 2.1 (latin-1 in an alternative)')
b22, m22 = part('2.2')
ok(decode(b22 or b'', m22 or b'').decode('utf-8').startswith('<p>caf\u00e9 cr\u00e8me html</p>'), 'part 2.2 (html)')
typ, d = M.fetch('1', '(BODY.PEEK[4.HEADER.FIELDS (SUBJECT)] BODY.PEEK[4.TEXT])')
parts = [x[1] for x in d if isinstance(x, tuple)]
ok(typ == 'OK' and parts[:1] == [b'Subject: inner\r\n\r\n'] and parts[1:2] == [b'inner body\r\n'],
   'attached message: 4.HEADER.FIELDS and 4.TEXT')
typ, d = M.fetch('1', '(BODY.PEEK[3]<0.10>)')
ok(typ == 'OK' and d[0][1] == body[:10], 'partial fetch of the attachment')
typ, d = M.fetch('1', '(FLAGS)')
ok(b"\\Seen" not in d[0], 'still unseen after BODY.PEEK')
typ, d = M.fetch('1', '(BODY[3])')
typ, d = M.fetch('1', '(FLAGS)')
ok(b'\\Seen' in d[0], 'BODY[3] sets \\Seen')
M.literal = 'CR\u00c8ME'.encode('utf-8')
typ, d = M.search('UTF-8', 'BODY')
ok(typ == 'OK' and d[0] == b'1', 'SEARCH CHARSET UTF-8 BODY finds the latin-1 part')
typ, d = M.search(None, 'TEXT', 'inner')
ok(typ == 'OK' and d[0] == b'1', 'SEARCH TEXT in the attached message')
typ, d = M.search(None, 'BODY', 'nowhere')
ok(typ == 'OK' and d[0] == b'', 'SEARCH BODY negative')
typ, d = M._simple_command('SEARCH', 'RETURN', '(COUNT MIN)', 'SUBJECT', 'attachment')
ok(typ == 'OK' and M.untagged_responses.get('ESEARCH', [b''])[0].endswith(b'MIN 1 COUNT 1'), 'ESEARCH over the network')
M.logout()
PY
"$PYTHON" "$T_TMP/e2e.py" "$P" $((T_N + 1)) "$T_TMP/att.bin" > "$T_TMP/py.out" 2>&1
cat "$T_TMP/py.out"
T_N=$((T_N + $(grep -c '^\(not \)\?ok ' "$T_TMP/py.out")))
T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$T_TMP/py.out")))
grep -q 'attachment byte-exact' "$T_TMP/py.out"; ok $? "python3 imaplib ran to the attachment check"
xinetd_stop
done_testing
