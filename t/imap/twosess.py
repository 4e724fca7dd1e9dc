#!/usr/bin/env python3
# Two sessions of one IMAP server command on the same mailbox, driven by a
# script on stdin: lines "A cmd" / "B cmd" (tag added), run one at a time,
# each waiting for its tagged reply.  Prints every reply line of session A
# (CR removed); session B's are dropped.  --login USER PW logs in first
# (otherwise the server must greet with PREAUTH).
import subprocess, sys

cmd = sys.argv[1]
login = sys.argv[3:5] if len(sys.argv) > 2 and sys.argv[2] == '--login' else None
sess = {}
for name in 'AB':
    p = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.stdout.readline()
    sess[name] = [p, 0]


def run(name, text):
    p = sess[name][0]
    sess[name][1] += 1
    tag = '%s%d' % (name.lower(), sess[name][1])
    p.stdin.write(('%s %s\r\n' % (tag, text)).encode())
    p.stdin.flush()
    while True:
        l = p.stdout.readline()
        if not l:
            return
        if name == 'A':
            sys.stdout.write(l.decode('latin-1').replace('\r', ''))
        if l.startswith(tag.encode() + b' '):
            return


if login:
    for name in 'AB':
        sess[name][0].stdin.write(('l LOGIN %s %s\r\n' % tuple(login)).encode())
        sess[name][0].stdin.flush()
        while not sess[name][0].stdout.readline().startswith(b'l '):
            pass
for line in sys.stdin:
    line = line.rstrip('\n')
    if line[:2] in ('A ', 'B '):
        run(line[0], line[2:])
for name in 'AB':
    run(name, 'LOGOUT')
