#!/usr/bin/env python3
"""Mutational fuzz of smtpd (t/35-smtp-fuzz.t).  Usage: fuzz.py SMTPD CONF N SEED OUTDIR

Builds N sessions from valid transcripts, mutates each (random bytes, byte
flips, truncation, long lines, NULs, bare CR/LF, huge BDAT sizes, dropped or
repeated lines), pipes it into SMTPD and checks: exit status 0 (no signal,
no sanitizer exit code), the replies are well-formed SMTP reply lines
starting with the greeting, every "queued as ID" of the replies is the only
thing queued.  Prints one TAP-free summary line per problem on stdout and
"sessions=N queued=Q" at the end; exit 1 if any problem."""
import os, random, re, subprocess, sys

smtpd, conf, n, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rnd = random.Random(seed)

R = lambda *ls: b"".join(l + b"\r\n" for l in ls)
BASE = [
    R(b"EHLO c", b"MAIL FROM:<bob@example.test>", b"RCPT TO:<alice@example.test>", b"DATA",
      b"Subject: fuzz", b"", b"body", b"..dot", b"From here", b".", b"QUIT"),
    R(b"HELO c", b"MAIL FROM:<>", b"RCPT TO:<postmaster>", b"RCPT TO:<team@example.test>", b"DATA",
      b"x", b".", b"RSET", b"QUIT"),
    R(b"EHLO c", b"MAIL FROM:<bob@example.test> BODY=8BITMIME SIZE=100", b"RCPT TO:<carol@example.test>",
      b"BDAT 5") + b"abcde" + R(b"BDAT 3 LAST") + b"fgh" + R(b"QUIT"),
    R(b"EHLO c", b"MAIL FROM:<\xc3\xa9@example.test> SMTPUTF8 ENVID=a+2Bb RET=HDRS",
      b"RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice+40example.test",
      b"RCPT TO:<\"al ice\"@example.test>", b"RCPT TO:<@a,@b:bob@[127.0.0.1]>", b"DATA",
      b"Subject: caf\xc3\xa9", b"", b".", b"VRFY alice", b"EXPN team", b"HELP", b"NOOP x", b"ETRN example.test",
      b"QUIT"),
    R(b"EHLO c", b"MAIL FROM:<a@example.test>", b"RCPT TO:<alice@example.test>", b"BDAT 0 LAST",
      b"MAIL FROM:<a@example.test>", b"RCPT TO:<ghost@example.test>", b"RCPT TO:<x@remote.example>",
      b"DATA", b".", b"QUIT"),
]
NASTY = [b"\x00", b"\r", b"\n", b"\r\n", b".\r\n", b"\r\n.\r\n", b"BDAT 99999999999999 LAST\r\n",
         b"BDAT 18446744073709551615\r\n", b"BDAT -1\r\n", b"BDAT 4\r\n", b"DATA\r\n", b"MAIL FROM:<>\r\n",
         b"RCPT TO:<alice@example.test>\r\n", b"<", b">", b"\"", b"\\", b"@", b":", b"=", b"+",
         b"\xff\xfe", b"\xc3", b" ", b"\t", b"QUIT\r\n", b"RSET\r\n", b"EHLO x\r\n"]

def mutate(b):
    b = bytearray(b)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(10)
        pos = rnd.randint(0, len(b))
        if op == 0 and b:                       # flip a byte
            b[min(pos, len(b) - 1)] = rnd.randrange(256)
        elif op == 1:                           # random bytes
            b[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
        elif op == 2:                           # truncate
            del b[pos:]
        elif op == 3:                           # a long line
            b[pos:pos] = bytes([rnd.choice(b"a.\x00 ")]) * rnd.choice([1000, 2049, 5000, 70000])
        elif op == 4:                           # something nasty
            b[pos:pos] = rnd.choice(NASTY)
        elif op == 5 and b:                     # drop a range
            del b[pos:pos + rnd.randint(1, 30)]
        elif op == 6:                           # repeat a range
            b[pos:pos] = b[pos:pos + rnd.randint(1, 200)] * rnd.randint(2, 5)
        elif op == 7:                           # CRLF -> LF or CR
            b = bytearray(bytes(b).replace(b"\r\n", rnd.choice([b"\n", b"\r", b"\r\r\n"]), rnd.randint(1, 3)))
        elif op == 8:                           # NUL
            b[pos:pos] = b"\x00"
        else:                                   # swap case
            b[pos:pos + 8] = bytes(b[pos:pos + 8]).swapcase()
    return bytes(b)

REPLY = re.compile(rb"^[2-5][0-9][0-9]([ -][\x20-\x7e\x80-\xff]*)?$")
problems, queued_ids = 0, []
env = dict(os.environ)
for i in range(n):
    data = mutate(rnd.choice(BASE))
    with open(os.path.join(out, "last.in"), "wb") as f:
        f.write(data)
    try:
        p = subprocess.run([smtpd, "-c", conf], input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30, env=env)
    except subprocess.TimeoutExpired:
        print("session %d: hung" % i); problems += 1
        continue
    bad = None
    if p.returncode != 0:
        bad = "exit status %d" % p.returncode
    elif p.stderr:
        bad = "wrote to stderr: %r" % p.stderr[:200]
    elif not p.stdout.startswith(b"220 ") or not p.stdout.endswith(b"\r\n"):
        bad = "no greeting or unterminated reply: %r" % p.stdout[-80:]
    else:
        lines = p.stdout[:-2].split(b"\r\n")
        for k, l in enumerate(lines):
            if not REPLY.match(l) or b"\n" in l or b"\r" in l:
                bad = "malformed reply line %r" % l[:100]; break
            if l[3:4] == b"-" and (k + 1 >= len(lines) or lines[k + 1][:3] != l[:3]):
                bad = "broken multi-line reply at %r" % l[:100]; break
    if bad:
        problems += 1
        with open(os.path.join(out, "fail%d.in" % i), "wb") as f:
            f.write(data)
        print("session %d: %s (input kept as fail%d.in)" % (i, bad, i))
    queued_ids += re.findall(rb"^250 2\.0\.0 Ok: queued as ([0-9A-F]+)\r$", p.stdout, re.M)
with open(os.path.join(out, "ids"), "wb") as f:
    f.write(b"".join(x + b"\n" for x in queued_ids))
print("sessions=%d queued=%d problems=%d" % (n, len(queued_ids), problems))
sys.exit(1 if problems else 0)
