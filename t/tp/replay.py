#!/usr/bin/env python3
"""Replays a protocol transcript of docs/tp-fr.md against a server.

replay.py PROTO PORT < transcript   (PROTO: smtp, pop3, imap)

The transcript is what a student sees in `nc`: server and client lines
interleaved.  The client lines are found by following the protocol (a
reply's last line, DATA, multi-line POP3 answers, IMAP tags and literals),
sent with CRLF, and the real transcript is printed in the same shape, so
that the test can compare the two after normalize()."""
import re, socket, sys

POP3_MULTI = {"capa", "retr", "top", "list", "uidl"}


def client_lines(proto, lines):
    """The lines of a transcript typed by the client, in order."""
    out, i, n = [], 0, len(lines)

    def smtp_reply(i):
        while i < n and not re.match(r"^\d{3} ", lines[i]):
            i += 1
        return i + 1

    if proto == "smtp":
        i = smtp_reply(i)
        while i < n:
            c = lines[i]; out.append(c); i += 1
            if c.lower() == "data" and i < n and lines[i].startswith("354"):
                i += 1
                while i < n:
                    out.append(lines[i]); i += 1
                    if out[-1] == ".":
                        break
            i = smtp_reply(i)
    elif proto == "pop3":
        i = 1
        while i < n:
            c = lines[i]; out.append(c); i += 1
            words = c.lower().split()
            multi = words and words[0] in POP3_MULTI and (words[0] not in ("list", "uidl") or len(words) == 1)
            ok = i < n and lines[i].startswith("+OK")
            i += 1
            if multi and ok:
                while i < n and lines[i] != ".":
                    i += 1
                i += 1
    elif proto == "imap":
        i = 1
        while i < n:
            c = lines[i]; out.append(c); i += 1
            tag = c.split(" ", 1)[0]
            while i < n:
                l = lines[i]; i += 1
                m = re.search(r"\{(\d+)\}$", l)
                if m:
                    left = int(m.group(1))
                    while left > 0 and i < n:
                        left -= len(lines[i].encode()) + 2; i += 1
                    continue
                if l.startswith(tag + " "):
                    break
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.f = self.s.makefile("rb")
        self.out = []

    def line(self):
        l = self.f.readline()
        if not l:
            raise EOFError("connection closed")
        l = l.decode("utf-8", "replace").rstrip("\r\n")
        self.out.append(l)
        return l

    def send(self, l):
        self.out.append(l)
        self.s.sendall(l.encode() + b"\r\n")


def run(proto, port, cmds):
    c = Conn(port)
    try:
        if proto == "smtp":
            def reply():
                while not re.match(r"^\d{3} ", c.line()):
                    pass
                return c.out[-1]
            reply()
            body = False
            for l in cmds:
                c.send(l)
                if body:
                    if l == ".":
                        body = False
                        reply()
                    continue
                r = reply()
                if l.lower() == "data" and r.startswith("354"):
                    body = True
        elif proto == "pop3":
            c.line()
            for l in cmds:
                c.send(l)
                w = l.lower().split()
                multi = w and w[0] in POP3_MULTI and (w[0] not in ("list", "uidl") or len(w) == 1)
                if c.line().startswith("+OK") and multi:
                    while c.line() != ".":
                        pass
        else:
            c.line()
            for l in cmds:
                c.send(l)
                tag = l.split(" ", 1)[0]
                while True:
                    r = c.line()
                    m = re.search(r"\{(\d+)\}$", r)
                    if m:
                        data = c.f.read(int(m.group(1))).decode("utf-8", "replace")
                        data = data.replace("\r\n", "\n")
                        c.out.extend((data[:-1] if data.endswith("\n") else data).split("\n"))
                        continue
                    if r.startswith(tag + " "):
                        break
    except (EOFError, OSError) as e:
        c.out.append("(%s)" % e)
    return c.out


def normalize(text):
    """What changes from run to run: queue ids, dates, ids, sizes, uids."""
    day = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
    mon = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    rules = [
        (day + r", +\d{1,2} " + mon + r" \d{4} \d\d:\d\d:\d\d [+-]\d{4}( \([A-Z]+\))?", "DATE"),
        (day + " " + mon + r" +\d{1,2} \d\d:\d\d:\d\d \d{4}", "DATE"),
        (r"\d{1,2}-" + mon + r"-\d{4} \d\d:\d\d:\d\d [+-]\d{4}", "DATE"),
        (r"queued as [0-9A-Za-z]+", "queued as ID"),
        (r"\bid [0-9A-Za-z]+", "id ID"),
        (r"<[^<>@ ]+@[^<>@ ]+>", lambda m: "<ID@" + m.group(0).split("@")[1] if re.match(r"<[0-9A-Z.]+@", m.group(0)) else m.group(0)),
        (r"\+OK \d+ octets", "+OK N octets"),
        (r"^(\d+) \d+$", r"\1 N"),
        (r"\(\d+ octets\)", "(N octets)"),
        (r"UIDVALIDITY \d+", "UIDVALIDITY N"),
        (r"RFC822\.SIZE \d+", "RFC822.SIZE N"),
        (r"\{\d+\}$", "{N}"),
        (r"^[0-9a-f]{16}$", "UIDL"),
        (r"^(\d+) [0-9a-f]{16}$", r"\1 UIDL"),
        (r"X-IMAPbase: \d+ \d+", "X-IMAPbase: N N"),
        (r"userid \d+", "userid N"),
        (r"\(unknown \[[0-9.]+\]\)", "(unknown [IP])"),
        (r"\[[0-9a-f]{8}\]", "[SESSION]"),
    ]
    out = []
    for l in text.rstrip("\n").split("\n"):
        for pat, rep in rules:
            l = re.sub(pat, rep, l)
        out.append(l.rstrip())
    return "\n".join(out) + "\n"


def main():
    if sys.argv[1] == "normalize":
        sys.stdout.write(normalize(sys.stdin.read()))
        return
    proto, port = sys.argv[1], int(sys.argv[2])
    lines = sys.stdin.read().rstrip("\n").split("\n")
    cmds = lines if "--cmds" in sys.argv else client_lines(proto, lines)
    print("\n".join(run(proto, port, cmds)))


if __name__ == "__main__":
    main()
