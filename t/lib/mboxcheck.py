#!/usr/bin/env python3
"""Strict check of a mailbox recovered after a crash (issue 19).

usage: mboxcheck.py OLD NEW RESULT...
OLD is the mailbox before the operation, NEW the one the operation makes
when it is not interrupted.  For each RESULT prints one line:
  RESULT ok old|new|mixed
  RESULT FAIL reason
and exits 1 if any failed.  The rules: no NUL byte; Python's mailbox parses
it; no duplicate Message-ID; every message is byte for byte its OLD or its
NEW version (a message only in OLD may be gone, one in both must be there,
one only in NEW may be missing only if the result is otherwise OLD); X-UID
of every message that had one in OLD unchanged; UIDVALIDITY unchanged.
"""
import mailbox
import re
import sys


def messages(path):
    """[(message-id, raw bytes, x-uid)], uidvalidity; raw = From_ line to
    the next From_ line (separator included), as mailbox.mbox splits."""
    data = open(path, 'rb').read()
    box = mailbox.mbox(path, create=False)
    box.lock = lambda: None
    out = []
    for key in box.iterkeys():
        start, stop = box._toc[key]
        raw = data[start:stop]
        msg = box[key]
        mid = msg.get('Message-ID', '')
        uid = msg.get('X-UID')
        out.append((mid.strip(), raw, uid.strip() if uid else None))
    uv = None
    m = re.search(rb'^X-IMAPbase: *(\d+)', data, re.M)
    if m:
        uv = int(m.group(1))
    box.close()
    return data, out, uv


def check(old, new, path):
    data, res, uv = messages(path)
    if b'\0' in data:
        return 'FAIL NUL byte at %d' % data.index(b'\0')
    ids = [m[0] for m in res]
    if len(set(ids)) != len(ids):
        return 'FAIL duplicate Message-ID'
    o = {m[0]: m for m in old[1]}
    n = {m[0]: m for m in new[1]}
    states = set()
    for mid, raw, uid in res:
        if mid in o and raw == o[mid][1]:
            states.add('old')
        elif mid in n and raw == n[mid][1]:
            states.add('new')
        else:
            return 'FAIL message %s neither old nor new (torn)' % mid
        if mid in o and o[mid][2] and uid != o[mid][2]:
            return 'FAIL message %s X-UID %s became %s' % (mid, o[mid][2], uid)
    for mid in o:
        if mid in n and mid not in ids:
            return 'FAIL message %s lost' % mid
    for mid in n:
        if mid not in o and mid not in ids and 'new' in states:
            return 'FAIL message %s missing in a new state' % mid
    if old[2] is not None and uv != old[2]:
        return 'FAIL UIDVALIDITY %s became %s' % (old[2], uv)
    if data == old[0]:
        return 'ok old'
    if data == new[0]:
        return 'ok new'
    return 'ok mixed ' + ','.join(sorted(states))


def main():
    old = messages(sys.argv[1])
    new = messages(sys.argv[2])
    bad = 0
    for p in sys.argv[3:]:
        r = check(old, new, p)
        print(p, r)
        bad += r.startswith('FAIL')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
