"""Shared by compare.py and expected.py: a parser of IMAP values (lists,
quoted strings, literals, NIL, numbers, atoms) into Python values, and a
reader of `mimedump all` output."""
import re


class P:
    def __init__(s, b): s.b, s.i = b, 0

    def ws(s):
        while s.i < len(s.b) and s.b[s.i:s.i+1] == b' ': s.i += 1

    def val(s):
        s.ws(); c = s.b[s.i:s.i+1]
        if c == b'':
            raise ValueError('end of input')
        if c == b'(':
            s.i += 1; l = []
            while True:
                s.ws()
                if s.i >= len(s.b): raise ValueError('unclosed list')
                if s.b[s.i:s.i+1] == b')': s.i += 1; return l
                l.append(s.val())
        if c == b'"':
            s.i += 1; o = bytearray()
            while s.b[s.i:s.i+1] != b'"':
                if s.i >= len(s.b): raise ValueError('unclosed string')
                if s.b[s.i:s.i+1] == b'\\': s.i += 1
                o += s.b[s.i:s.i+1]; s.i += 1
            s.i += 1; return bytes(o)
        if c == b'{':
            j = s.b.index(b'}', s.i); n = int(s.b[s.i+1:j]); s.i = j + 3
            v = s.b[s.i:s.i+n]; s.i += n; return v
        m = re.compile(rb'[^ ()\[\]]+(\[[^\]]*\])?').match(s.b, s.i)
        if m is None: raise ValueError('bad token at %d' % s.i)
        s.i = m.end(); t = m.group(0)
        return None if t == b'NIL' else (int(t) if t.isdigit() else t.decode())


def parse_whole(b):
    """One value that must fill b entirely."""
    p = P(b); v = p.val(); p.ws()
    if p.i != len(p.b): raise ValueError('trailing bytes: %r' % p.b[p.i:p.i+40])
    return v


def read_all(out):
    """`mimedump all` output -> {path: {'envelope': bytes|None, ...,
    'section SPEC': (rc, bytes)}}"""
    res, cur, i = {}, None, 0
    while i < len(out):
        j = out.index(b'\n', i); head = out[i:j].decode('utf-8', 'replace'); i = j + 1
        if head.startswith('file '):
            cur = res[head[5:]] = {}; continue
        if head.startswith('section '):
            _, n, rc, spec = head.split(' ', 3); n = int(n)
            cur['section ' + spec] = (int(rc), out[i:i+n]); i += n + 1; continue
        label, n = head.split(' '); n = int(n)
        if n < 0: cur[label] = None; continue
        cur[label] = out[i:i+n]; i += n + 1
    return res
