#!/usr/bin/env python3
"""check.py SENT GOT: GOT (as a client saved it) holds the message SENT:
line ends normalised to LF, SENT's headers and body must be the end of GOT
(a delivery or a client may add trace headers in front); exit 1 if not."""
import sys

def norm(b):
    b = b.replace(b'\r\n', b'\n')
    return b.rstrip(b'\n') + b'\n'

sent = norm(open(sys.argv[1], 'rb').read())
got = norm(open(sys.argv[2], 'rb').read())
if got.endswith(sent):
    sys.exit(0)
sys.stderr.write("# sent %d octets, got %d; got ends: %r\n" % (len(sent), len(got), got[-200:]))
sys.exit(1)
