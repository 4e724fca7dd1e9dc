#!/usr/bin/env python3
"""view.py MBOX [FLAGS]: the messages of an mbox as users see them, for
comparing mailboxes whose metadata headers differ.  Each message: its From_
line, its headers without Status, X-Status, X-Keywords, X-UID, X-IMAPbase,
X-IMAP and Content-Length (with continuations), the empty line, the body.
The pseudo message (X-IMAP) is skipped.  With FLAGS, each message is
followed by a line "status=<Status value>"."""
import re, sys

META = re.compile(rb'(?i)^(status|x-status|x-keywords|x-uid|x-imapbase|x-imap|content-length):')
data = open(sys.argv[1], 'rb').read()
flags = len(sys.argv) > 2
msgs, cur, prev_blank = [], None, True
for line in data.splitlines(keepends=True):
    if prev_blank and line.startswith(b'From '):
        cur = [line]
        msgs.append(cur)
    elif cur is not None:
        cur.append(line)
    prev_blank = line in (b'\n', b'\r\n')
out = sys.stdout.buffer
for m in msgs:
    # the separator empty line before the next From_ line is not the body's
    if len(m) > 1 and m[-1] in (b'\n', b'\r\n'):
        m = m[:-1]
    hdr, body, skip, status, pseudo = [], [], False, b'', False
    i = 1
    while i < len(m) and m[i] not in (b'\n', b'\r\n'):
        l = m[i]
        if l[:1] in (b' ', b'\t'):
            if not skip:
                hdr.append(l)
        else:
            skip = bool(META.match(l))
            if l.lower().startswith(b'status:'):
                status = l[7:].strip()
            if l.lower().startswith(b'x-imap:'):
                pseudo = True
            if not skip:
                hdr.append(l)
        i += 1
    if pseudo:
        continue
    out.write(m[0] + b''.join(hdr) + b''.join(m[i:]))
    if flags:
        out.write(b'status=' + status + b'\n')
