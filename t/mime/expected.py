#!/usr/bin/env python3
"""expected.py BUILD CORPUS_DIR: compares facteur's ENVELOPE, BODYSTRUCTURE
and BODY of every t/mime/NAME.eml with t/mime/NAME.expected, written by
hand from the RFCs (see README).  Values are compared as parsed IMAP
structures (quoted vs literal does not matter; everything else, case
included, does).  BODY is BODYSTRUCTURE without extension data (RFC 3501
7.4.2), derived here from the expected BODYSTRUCTURE.  Prints TAP lines
without numbers: '<ok|not ok> NAME WHAT'."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapparse import parse_whole, read_all


def strip_ext(b):
    """BODYSTRUCTURE -> BODY: drop the extension data of every part."""
    if isinstance(b[0], list):  # multipart: bodies, then the subtype
        k = 0
        while isinstance(b[k], list): k += 1
        return [strip_ext(x) for x in b[:k]] + [b[k]]
    t = [x.lower() if isinstance(x, bytes) else x for x in b[:2]]
    if t == [b'message', b'rfc822']:  # body-type-msg: + envelope body lines
        return b[:7] + [b[7], strip_ext(b[8]), b[9]]
    if t[0] == b'text':  # body-type-text: + lines
        return b[:8]
    return b[:7]


def load_expected(path):
    want = {}
    for line in open(path, 'rb').read().split(b'\n'):
        if line.startswith(b'#') or not line.strip(): continue
        key, _, v = line.partition(b' ')
        want[key.decode()] = parse_whole(v)
    return want


def main():
    build, corpus = sys.argv[1:3]
    names = sorted(f for f in os.listdir(corpus) if f.endswith('.eml'))
    out = subprocess.run([build + '/t/bin/mimedump', 'all'] + [os.path.join(corpus, n) for n in names],
                         stdout=subprocess.PIPE).stdout
    got = read_all(out)
    for n in names:
        exp = os.path.join(corpus, n[:-4] + '.expected')
        if not os.path.exists(exp):
            print('not ok %s has a .expected file' % n); continue
        try:
            want = load_expected(exp)
            want['BODY'] = strip_ext(want['BODYSTRUCTURE'])
        except Exception as e:
            print('not ok %s .expected parses # %s' % (n, e)); continue
        g = got.get(os.path.join(corpus, n), {})
        for what, key in (('ENVELOPE', 'envelope'), ('BODYSTRUCTURE', 'bodystructure'), ('BODY', 'body')):
            try:
                v = parse_whole(g[key])
            except Exception as e:
                v = 'unparsable (%s): %r' % (e, (g.get(key) or b'')[:200])
            if v == want[what]:
                print('ok %s %s as expected' % (n, what))
            else:
                print('not ok %s %s as expected' % (n, what))
                print('#   facteur:  %r' % (v,))
                print('#   expected: %r' % (want[what],))


main()
