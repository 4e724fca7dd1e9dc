#!/usr/bin/env python3
"""msgs.py DIR N: writes N test messages DIR/msg.1 ... (LF line ends): a
line that starts with a dot, a lone dot, a 2000-octet line, 8-bit text."""
import os, sys

d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    body = ("Hello %d.\n.starts with a dot\n.\n..two\n%s\nAvec aççénts, %d\n"
            % (i, 'x' * 2000, i))
    msg = ("From: Sender %d <sender%d@example.test>\nTo: alice@example.test\n"
           "Subject: e2e message %d\nMessage-ID: <e2e.%d.%d@example.test>\n\n%s"
           % (i, i, i, i, os.getpid(), body))
    with open(os.path.join(d, "msg.%d" % i), "wb") as f:
        f.write(msg.encode())
