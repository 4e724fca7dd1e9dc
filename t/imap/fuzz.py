#!/usr/bin/env python3
"""Bounded mutational fuzz of imapd (t/57-imap-fuzz.t).

Sessions are built from valid transcripts (after a LOGIN), mutated with
fixed seeds: bytes flipped, dropped or repeated, IMAP specials and 8-bit
inserted, numbers made huge, literals announced and left short.  Every
session must end without a crash or sanitizer report, and every line the
server writes must be a well-formed response ("* ...", "+ ...", "TAG
OK|NO|BAD ...", literal data announced by a {n} before it).
Usage: fuzz.py IMAPD CONF SESSIONS SEED; prints TAP-free diagnostics and
exits 1 on the first failure (the failing input is saved as fuzz-fail.in).
"""
import concurrent.futures
import os
import random
import re
import subprocess
import sys

SEEDS = [
    [b"s1 SELECT INBOX", b"s2 FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)",
     b"s3 UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From Subject Date)])",
     b"s4 FETCH 2 (BODY[TEXT]<0.10> RFC822.HEADER)", b"s5 STORE 1 +FLAGS (\\Flagged kw1)",
     b"s6 UID STORE 1:3 -FLAGS.SILENT (\\Seen)", b"s7 SEARCH UNSEEN FROM \"sender\"",
     b"s8 UID SEARCH 1:* SUBJECT message", b"s9 NOOP"],
    [b"l1 LIST \"\" \"*\"", b"l2 LIST \"\" %", b"l3 LSUB \"\" \"*\"", b"l4 CREATE fz/one",
     b"l5 SUBSCRIBE fz/one", b"l6 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
     b"l7 LIST (SUBSCRIBED) \"\" \"*\" RETURN (SPECIAL-USE)", b"l8 NAMESPACE",
     b"l9 ID (\"name\" \"fuzz\")", b"l10 ENABLE UTF8=ACCEPT", b"l11 CAPABILITY"],
    [b"a1 APPEND fz/one (\\Seen) \"01-Jan-2020 10:00:00 +0100\" {24}\r\nSubject: fz\r\n\r\nbody\r\n",
     b"a2 APPEND fz/one {20+}\r\nSubject: y\r\n\r\nbody!\r\n",
     b"a3 SELECT fz/one", b"a4 FETCH 1:* (FLAGS BODY.PEEK[])", b"a5 STORE * +FLAGS (\\Answered)",
     b"a6 UNSELECT"],
    [b"e1 EXAMINE INBOX", b"e2 FETCH 1 BODY[]", b"e3 FETCH * (FLAGS)", b"e4 UID FETCH 4294967295:* UID",
     b"e5 COPY 1:2 fz/one", b"e6 UID COPY 1 nosuch", b"e7 CHECK", b"e8 IDLE", b"DONE",
     b"e9 SEARCH ALL"],
    [b"b1 SELECT \"INBOX\"", b"b2 FETCH 1,2:3,* (UID FLAGS)", b"b3 STORE 2 FLAGS (\\Draft $Label1)",
     b"b4 UID FETCH 1:* (FLAGS)", b"b5 FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Received)])",
     b"b6 UID COPY 2:* fz/one", b"b7 IDLE", b"DONE", b"b8 STATUS fz/one (MESSAGES)"],
]

SPECIALS = [b"{", b"}", b"(", b")", b"\"", b"\\", b"*", b"%", b"\x00", b"\xff", b"\xe9",
            b"\r", b"\n", b" ", b"[", b"]", b"<", b">", b".", b":", b",", b"{5}\r\n",
            b"{3+}\r\n", b"{999999}", b"{18446744073709551616}", b"4294967296", b"0",
            b"NIL", b"\"\"", b"~{2}\r\n", b"+", b"&", b"&-", b"/", b"..", b"\\Recent",
            b"BODY[", b"<0.", b"UID ", b"IDLE\r\n", b"DONE\r\n"]

# EXPUNGE, CLOSE, MOVE, DELETE, RENAME are left out of the seeds so that
# "no message lost" means something; a mutation cannot assemble them.
FORBIDDEN = [b"EXPUNGE", b"CLOSE", b"MOVE", b"DELETE", b"RENAME"]


def mutate(rng, line):
    b = bytearray(line)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(b))
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[pos:pos] = rng.choice(SPECIALS)
        elif op == 2 and b:
            end = min(len(b), pos + rng.randint(1, 8))
            del b[pos:end]
        elif op == 3 and b:
            end = min(len(b), pos + rng.randint(1, 16))
            b[pos:pos] = b[pos:end] * rng.randint(1, 4)
        elif op == 4:
            b = bytearray(re.sub(rb"\d+", lambda m: rng.choice(
                [b"0", b"4294967295", b"99999999999", b"*", m.group(0)]), bytes(b), count=1))
        else:
            b = bytearray(line[:pos])
    return bytes(b)


def session(rng):
    out = [b"a0 LOGIN alice alice-pw\r\n"]
    for _ in range(3):
        seed = rng.choice(SEEDS)
        for line in seed:
            if rng.random() < 0.35:
                line = mutate(rng, line)
            if any(f in line.upper() for f in FORBIDDEN):
                continue
            out.append(line + b"\r\n")
    out.append(b"zz LOGOUT\r\n")
    return b"".join(out)


RESP = re.compile(rb"^(\* |\+( |$)|[\x21-\x7e]+ (OK|NO|BAD)( |$))")
LIT = re.compile(rb"\{(\d+)\}$")


def check_output(data):
    """Each response starts well-formed; literals are skipped by count."""
    pos = 0
    first = True
    while pos < len(data):
        end = data.find(b"\r\n", pos)
        if end < 0:
            return "unterminated line: %r" % data[pos:pos + 80]
        line = data[pos:end]
        pos = end + 2
        if first and not RESP.match(line):
            return "malformed response: %r" % line[:120]
        if b"\n" in line or b"\r" in line:
            return "bare CR/LF in a line: %r" % line[:120]
        m = LIT.search(line)
        if m:
            n = int(m.group(1))
            if pos + n > len(data):
                return "literal runs past the end"
            pos += n
            first = False    # the response goes on after the literal
            continue
        first = True
    return None


def run(imapd, conf, inp):
    try:
        p = subprocess.run([imapd, "-c", conf], input=inp, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "timeout (hang)", b"", b""
    if p.returncode < 0 or p.returncode > 1:
        return "exit status %d" % p.returncode, p.stdout, p.stderr
    if p.stderr:
        return "stderr output (sanitizer?): %r" % p.stderr[:400], p.stdout, p.stderr
    err = check_output(p.stdout)
    if err:
        return err, p.stdout, p.stderr
    if not p.stdout.startswith(b"* OK [CAPABILITY "):
        return "no greeting", p.stdout, p.stderr
    if b"\r\na0 OK [CAPABILITY " not in p.stdout:
        return "the login failed: nothing was fuzzed", p.stdout, p.stderr
    return None, p.stdout, p.stderr


def main():
    imapd, conf, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    inputs = [session(rng) for _ in range(n)]
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        for i, (err, out, _) in enumerate(ex.map(lambda x: run(imapd, conf, x), inputs)):
            if err:
                bad += 1
                print("# session %d (seed %d): %s" % (i, seed, err))
                if bad == 1:
                    with open("fuzz-fail.in", "wb") as f:
                        f.write(inputs[i])
                    with open("fuzz-fail.out", "wb") as f:
                        f.write(out)
    print("# %d sessions, %d failed" % (n, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
