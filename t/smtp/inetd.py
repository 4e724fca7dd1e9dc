#!/usr/bin/env python3
"""A minimal inetd for tests that need a server on a given address (xinetd
binds one address per service too, but this one is lighter inside a
network namespace): inetd.py ADDR:PORT PROGRAM [ARGS...] runs PROGRAM per
connection with the socket on fds 0 and 1 (stderr to /dev/null, as a
server must never write there).  Prints "ready" once listening."""
import os, signal, socket, sys

host, port = sys.argv[1].rsplit(":", 1)
prog = sys.argv[2:]
signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # no zombies
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port)))
s.listen(50)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        s.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(c.fileno(), 0)
        os.dup2(c.fileno(), 1)
        null = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null, 2)
        os.execv(prog[0], prog)
    c.close()
