#!/usr/bin/env python3
"""A scriptable SMTP server for the relay tests (t/37, t/38): the remote
that facteur's client talks to.  One thread per connection; every message
accepted is written to OUTDIR/msg-N.json (envelope, parameters, data);
every command line received is appended to OUTDIR/transcript.

  remote.py --listen ADDR:PORT --out DIR [options]
    --helo-only        EHLO answered 502 (an RFC 821 server)
    --no-8bitmime      no 8BITMIME, no SMTPUTF8 in the EHLO reply
    --no-smtputf8      no SMTPUTF8 (8BITMIME kept)
    --no-pipelining    no PIPELINING
    --size N           SIZE N
    --grey N           the first N RCPT of each address get 450 (greylisting)
    --reject ADDR      RCPT of ADDR gets 550 5.1.1
    --stall STAGE      never answer at STAGE: greeting, mail, dot
    --drop-after-354   close the connection right after DATA's 354
    --drop-before-dot-reply  read the message, close without a reply
    --greet-5xx        554 greeting
    --delay-mail SECS  wait SECS before the reply to MAIL (a slow remote)
Connections are logged to OUTDIR/events: "open N T", "mail N T" (a MAIL
received), "close N T" (QUIT or the end of the connection read); T in s.
Prints "ready" on stdout once listening.
"""
import argparse, json, os, socket, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--listen", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--helo-only", action="store_true")
ap.add_argument("--no-8bitmime", action="store_true")
ap.add_argument("--no-pipelining", action="store_true")
ap.add_argument("--no-smtputf8", action="store_true")
ap.add_argument("--size", type=int, default=0)
ap.add_argument("--grey", type=int, default=0)
ap.add_argument("--reject", action="append", default=[])
ap.add_argument("--stall", default="")
ap.add_argument("--drop-after-354", action="store_true")
ap.add_argument("--drop-before-dot-reply", action="store_true")
ap.add_argument("--greet-5xx", action="store_true")
ap.add_argument("--name", default="remote.test")
ap.add_argument("--delay-mail", type=float, default=0)
a = ap.parse_args()

lock = threading.Lock()
seen = {}
count = [0]
os.makedirs(a.out, exist_ok=True)


def log(line):
    with lock, open(os.path.join(a.out, "transcript"), "ab") as f:
        f.write(line + b"\n")


def save(env):
    with lock:
        count[0] += 1
        n = count[0]
    tmp = os.path.join(a.out, ".msg-%d" % n)
    with open(tmp, "w") as f:
        json.dump(env, f)
    os.rename(tmp, os.path.join(a.out, "msg-%d.json" % n))


def event(what, n):
    with lock, open(os.path.join(a.out, "events"), "a") as f:
        f.write("%s %d %.6f\n" % (what, n, time.time()))


def stall():
    time.sleep(3600)


def session(c, n=0):
    f = c.makefile("rb")
    def say(s):
        c.sendall(s.encode() + b"\r\n")
    if a.stall == "greeting":
        stall()
    if a.greet_5xx:
        say("554 5.7.1 go away")
        f.readline()
        return
    say("220 %s ESMTP test" % a.name)
    env = None
    while True:
        line = f.readline(4096)
        if not line:
            return
        log(line.rstrip(b"\r\n"))
        cmd = line.decode("utf-8", "replace").rstrip("\r\n")
        verb = cmd[:4].upper()
        if verb == "EHLO":
            if a.helo_only:
                say("502 5.5.2 Error: command not recognized")
                continue
            ext = []
            if not a.no_pipelining:
                ext.append("PIPELINING")
            if a.size:
                ext.append("SIZE %d" % a.size)
            if not a.no_8bitmime:
                ext.append("8BITMIME")
            if not a.no_8bitmime and not a.no_smtputf8:
                ext.append("SMTPUTF8")
            ext.append("DSN")
            lines = [a.name] + ext
            for l in lines[:-1]:
                say("250-" + l)
            say("250 " + lines[-1])
        elif verb == "HELO":
            say("250 " + a.name)
        elif verb == "MAIL":
            if a.stall == "mail":
                stall()
            event("mail", n)
            if a.delay_mail:
                time.sleep(a.delay_mail)
            frm = cmd[10:].split(">")[0].lstrip("<")
            env = {"from": frm, "mail": cmd, "rcpts": [], "rcptcmds": []}
            say("250 2.1.0 Ok")
        elif verb == "RCPT":
            if env is None:
                say("503 5.5.1 need MAIL")
                continue
            to = cmd[8:].split(">")[0].lstrip("<")
            with lock:
                seen[to] = seen.get(to, 0) + 1
                n = seen[to]
            if to in a.reject:
                say("550 5.1.1 <%s>: Recipient address rejected: User unknown" % to)
            elif n <= a.grey:
                say("450 4.2.0 <%s>: Recipient address rejected: Greylisted" % to)
            else:
                env["rcpts"].append(to)
                env["rcptcmds"].append(cmd)
                say("250 2.1.5 Ok")
        elif verb == "DATA":
            if not env or not env["rcpts"]:
                say("554 5.5.1 Error: no valid recipients")
                env = None
                continue
            say("354 End data with <CR><LF>.<CR><LF>")
            if a.drop_after_354:
                c.shutdown(socket.SHUT_RDWR)
                return
            data = b""
            while True:
                l = f.readline(100000)
                if not l:
                    return
                if l == b".\r\n":
                    break
                if l.startswith(b"."):
                    l = l[1:]
                data += l
            if a.stall == "dot":
                stall()
            if a.drop_before_dot_reply:
                c.shutdown(socket.SHUT_RDWR)
                return
            env["data"] = data.decode("utf-8", "surrogateescape")
            env["crlf_only"] = b"\n" not in data.replace(b"\r\n", b"")
            save(env)
            say("250 2.0.0 Ok: queued as T%d" % count[0])
            env = None
        elif verb == "RSET":
            env = None
            say("250 2.0.0 Ok")
        elif verb == "NOOP":
            say("250 2.0.0 Ok")
        elif verb == "QUIT":
            return "quit"          # 221 after the close event (serve)
        else:
            say("502 5.5.2 Error: command not recognized")


def serve(c, n):
    event("open", n)
    quit = None
    try:
        quit = session(c, n)
    except OSError:
        pass
    finally:
        event("close", n)
        if quit:
            try:
                c.sendall(b"221 2.0.0 Bye\r\n")
            except OSError:
                pass
        c.close()


host, port = a.listen.rsplit(":", 1)
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port)))
s.listen(50)
print("ready", flush=True)
nconn = 0
while True:
    c, _ = s.accept()
    nconn += 1
    threading.Thread(target=serve, args=(c, nconn), daemon=True).start()
