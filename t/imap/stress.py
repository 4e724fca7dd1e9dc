#!/usr/bin/env python3
# IMAP stress client: N sessions (one process each, logged in once) on one
# mailbox doing a random mix of FETCH (flags, headers, bodies), STORE,
# APPEND, UID EXPUNGE, SEARCH, NOOP and SELECT, each tracking what it must
# see and counting as an error every tagged NO/BAD and every inconsistency:
#   - a sequence number that answers with another UID than the one the
#     session's own EXISTS/EXPUNGE bookkeeping says (RFC 3501 7.4.1)
#   - a UID whose Message-ID changes, a UID appearing twice
#   - its own keyword ($sN) missing from FLAGS where it set it, or present
#     where it removed it; SEARCH KEYWORD $sN naming other messages
#   - a message it appended (APPENDUID) vanishing without it deleting it,
#     or missing at the end
# Options add a delivery every D seconds (a command that reads a message on
# stdin, e.g. facteur's smtpd) and one extra session that expunges half of
# the other messages at random moments.  At the end one more session checks
# the whole mailbox: no Message-ID twice, every message appended or
# delivered either present or deleted by someone.
# The server is a command speaking IMAP on stdin/stdout (imapd, Dovecot's
# imap preauthenticated, imap4d --inetd).  Output: one line "key=value ...".
import argparse, multiprocessing as mp, os, random, re, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--server', required=True, help='shell command of one IMAP session')
ap.add_argument('--user', default='')
ap.add_argument('--password', default='')
ap.add_argument('--clients', type=int, default=10)
ap.add_argument('--seconds', type=float, default=5)
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--deliver', default='', help='shell command: delivers the message on stdin')
ap.add_argument('--rcpt', default='', help='--deliver speaks SMTP on stdin/stdout (smtpd): to this address')
ap.add_argument('--interval', type=float, default=0.1)
ap.add_argument('--expunger', action='store_true')
ap.add_argument('--verbose', action='store_true')
opt = ap.parse_args()


class Err(Exception):
    pass


LIT = re.compile(rb'\{(\d+)\+?\}\r\n$')


class Sess:
    """One IMAP session over a child process's stdin/stdout."""

    def __init__(self, name, kw):
        self.name, self.kw = name, kw
        self.p = subprocess.Popen(opt.server, shell=True, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.n = 0
        self.errors = []
        self.ops = 0
        self.view = []          # seq-1 -> uid (None: not known yet)
        self.msgid = {}         # uid -> Message-ID, as first seen
        self.mykw = {}          # uid -> True (set) / False (removed), my keyword
        self.mine = {}          # uid -> Message-ID of what I appended
        self.deleted = set()    # Message-IDs I set \Deleted on
        self.appended = set()   # Message-IDs I appended
        self.uidplus = False
        self.trace = []
        greet = self.line()
        if greet.startswith(b'* OK'):
            self.cmd('LOGIN %s %s' % (opt.user, opt.password))
        elif not greet.startswith(b'* PREAUTH'):
            raise Err('bad greeting %r' % greet[:80])
        caps = self.cmd('CAPABILITY')
        self.uidplus = any(b'UIDPLUS' in l.upper() for l in caps)

    def err(self, what):
        self.errors.append(what)
        if opt.verbose and len(self.errors) <= 2:
            sys.stderr.write('%s: %s\n%s\n' % (self.name, what, b''.join(self.trace[-int(os.environ.get('TRACE', '40')):]).decode('latin-1')))

    def line(self):
        """a response line with its literals inlined"""
        out = b''
        while True:
            l = self.p.stdout.readline()
            if not l:
                raise Err('server closed the connection')
            out += l
            self.trace.append(b'S: ' + l)
            m = LIT.search(l)
            if not m:
                return out
            out += self.p.stdout.read(int(m.group(1)))
            if os.environ.get('TRACE'):
                self.trace.append(b'L: ' + out[-int(m.group(1)):].replace(b'\r\n', b' ') + b'\n')

    def cmd(self, text, literal=None):
        self.n += 1
        tag = 't%d' % self.n
        if literal is None:
            self.p.stdin.write(('%s %s\r\n' % (tag, text)).encode())
        else:
            self.p.stdin.write(('%s %s {%d+}\r\n' % (tag, text, len(literal))).encode() + literal + b'\r\n')
        self.p.stdin.flush()
        self.trace.append(('C: %s %s\n' % (tag, text)).encode())
        del self.trace[:-200]
        self.ops += 1
        resp = []
        while True:
            l = self.line()
            if l.startswith(tag.encode() + b' '):
                self.tagged = l
                st = l.split(b' ', 2)[1]
                if st != b'OK':
                    self.err('%s -> %s' % (text[:60], l.strip()[:120].decode('latin-1')))
                return resp
            resp.append(l)
            self.untagged(l)

    # ---- the bookkeeping of untagged responses ----
    def untagged(self, l):
        m = re.match(rb'\* (\d+) (EXISTS|EXPUNGE|FETCH)', l)
        if not m:
            return
        n, what = int(m.group(1)), m.group(2)
        if what == b'EXISTS':
            if n < len(self.view):
                self.err('EXISTS %d below %d' % (n, len(self.view)))
                del self.view[n:]
            self.view.extend([None] * (n - len(self.view)))
        elif what == b'EXPUNGE':
            if n < 1 or n > len(self.view):
                self.err('EXPUNGE %d out of range %d' % (n, len(self.view)))
                return
            uid = self.view.pop(n - 1)
            if uid is not None and uid in self.mine and self.mine[uid] not in self.deleted:
                self.err('my message UID %d expunged without me' % uid)
            if uid is not None:
                self.mykw.pop(uid, None)
                self.mine.pop(uid, None)
        else:
            self.fetch(n, l)

    def fetch(self, n, l):
        if n < 1 or n > len(self.view):
            self.err('FETCH %d out of range %d' % (n, len(self.view)))
            return
        m = re.search(rb'UID (\d+)', l)
        uid = self.view[n - 1]
        if m:
            got = int(m.group(1))
            if uid is None:
                if (n > 1 and self.view[n - 2] is not None and self.view[n - 2] >= got) or \
                   (n < len(self.view) and self.view[n] is not None and self.view[n] <= got):
                    self.err('UID %d out of order at %d' % (got, n))
                self.view[n - 1] = uid = got
            elif got != uid:
                self.err('seq %d is UID %d, expected %d' % (n, got, uid))
                return
        if uid is None:
            return
        mid = re.search(rb'Message-ID: *(<[^>\r\n]*>)', l, re.I)
        if mid:
            mid = mid.group(1).decode('latin-1')
            old = self.msgid.setdefault(uid, mid)
            if old != mid:
                self.err('UID %d was %s, now %s' % (uid, old, mid))
        fl = re.search(rb'FLAGS \(([^)]*)\)', l)
        if fl:
            has = self.kw.encode() in fl.group(1).split()
            want = self.mykw.get(uid)
            if want is not None and has != want:
                self.err('UID %d: my keyword %s %s' % (uid, 'lost' if want else 'back', fl.group(0).decode()))

    # ---- helpers ----
    def known(self):
        return [(i + 1, u) for i, u in enumerate(self.view) if u is not None]

    def learn(self):
        """fetch the UIDs of messages announced by EXISTS"""
        if None in self.view:
            lo = self.view.index(None) + 1
            self.cmd('FETCH %d:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])' % lo)

    def select(self):
        self.view = []
        self.cmd('SELECT INBOX')
        self.learn()

    def rand_range(self, rnd):
        n = len(self.view)
        if n == 0:
            return None
        a = rnd.randint(1, n)
        b = min(n, a + rnd.randint(0, 20))
        return '%d:%d' % (a, b)


def msg(mid, subj, extra=b''):
    return (('From: stress <stress@example.test>\r\nTo: user@example.test\r\n'
             'Subject: %s\r\nMessage-ID: %s\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n'
             % (subj, mid)).encode() + b'body line of a stress message\r\n' * 8 + extra)


def client(idx, q):
    rnd = random.Random(opt.seed * 1000 + idx)
    kw = '$s%d' % idx
    res = {'ops': 0, 'errors': [], 'deleted': [], 'appended': [], 'rss': 0}
    try:
        s = Sess('c%d' % idx, kw)
        s.select()
        end = time.time() + opt.seconds
        k = 0
        while time.time() < end:
            r = rnd.random()
            if r < 0.18:
                rg = s.rand_range(rnd)
                if rg:
                    s.cmd('FETCH %s (FLAGS)' % rg)
            elif r < 0.32:
                rg = s.rand_range(rnd)
                if rg:
                    s.cmd('FETCH %s (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])' % rg)
            elif r < 0.42:
                if s.view:
                    n = rnd.randint(1, len(s.view))
                    out = s.cmd('FETCH %d (UID BODY.PEEK[])' % n)
                    uid = s.view[n - 1] if n <= len(s.view) else None
                    for l in out:
                        if uid in s.msgid and l.startswith(b'* %d FETCH' % n) and b'BODY[] {' in l \
                           and s.msgid[uid].encode() not in l:
                            s.err('UID %d body without its Message-ID' % uid)
            elif r < 0.50:
                rg = s.rand_range(rnd)
                if rg:
                    s.cmd('STORE %s %sFLAGS (%s)' % (rg, rnd.choice('+-'), rnd.choice(['\\Seen', '\\Flagged'])))
            elif r < 0.60:
                kn = s.known()
                if kn:
                    n, uid = rnd.choice(kn)
                    on = rnd.random() < 0.6
                    # unknown while the command runs (the sync before it
                    # reports the old flags), then its own FETCH must show it
                    s.mykw.pop(uid, None)
                    out = s.cmd('STORE %d %sFLAGS (%s)' % (n, '+' if on else '-', kw))
                    if s.tagged.split(b' ')[1] == b'OK' and b'EXPUNGEISSUED' not in s.tagged:
                        s.mykw[uid] = on
                        # no FETCH reply is fine when nothing changed (Dovecot)
                        mine = [l for l in out if l.startswith(b'* %d FETCH' % n)]
                        if mine and (kw.encode() in mine[-1].split(b'(')[-1].rstrip(b')\r\n').split()) != on:
                            s.err('STORE %s on UID %d: reply %r' % (kw, uid, mine[-1:]))
            elif r < 0.68:
                k += 1
                mid = '<c%d.%d.%d@stress>' % (idx, k, opt.seed)
                s.cmd('APPEND INBOX', msg(mid, 'append %d by c%d' % (k, idx)))
                s.appended.add(mid)
                m = re.search(rb'APPENDUID \d+ (\d+)', s.tagged)
                if m:
                    s.mine[int(m.group(1))] = mid
                    s.msgid.setdefault(int(m.group(1)), mid)
            elif r < 0.73:
                mine = [u for u in s.mine if u in s.view]
                if mine:
                    uid = rnd.choice(mine)
                    s.deleted.add(s.mine[uid])
                    s.cmd('UID STORE %d +FLAGS.SILENT (\\Deleted)' % uid)
                    if s.uidplus:
                        s.cmd('UID EXPUNGE %d' % uid)
                    else:
                        s.cmd('EXPUNGE')
            elif r < 0.80:
                s.cmd('SEARCH %s' % rnd.choice(['ALL', 'UNSEEN', 'FLAGGED', 'SUBJECT append', 'NOT SEEN FLAGGED']))
            elif r < 0.86:
                out = s.cmd('UID SEARCH KEYWORD %s' % kw)
                for l in out:
                    if l.startswith(b'* SEARCH'):
                        for u in l.split()[2:]:
                            if s.mykw.get(int(u)) is False:
                                s.err('UID SEARCH KEYWORD %s found UID %s' % (kw, u.decode()))
            elif r < 0.97:
                s.cmd('NOOP')
            else:
                s.select()
            s.learn()
        s.cmd('NOOP')
        s.learn()
        # my appended messages that I did not delete are all there
        s.cmd('UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
        have = set(s.msgid[u] for u in s.view if u in s.msgid)
        for mid in s.appended - s.deleted:
            if s.uidplus and mid not in have:
                s.err('appended %s missing at the end' % mid)
        try:
            with open('/proc/%d/status' % s.p.pid) as f:
                for l in f:
                    if l.startswith('VmHWM:'):
                        res['hwm'] = int(l.split()[1])
                    if l.startswith('VmRSS:'):
                        res['rss'] = int(l.split()[1])
        except OSError:
            pass
        s.cmd('LOGOUT')
        s.p.stdin.close()
        s.p.wait(timeout=10)
        res['ops'] = s.ops
        res['errors'] = s.errors
        res['deleted'] = list(s.deleted)
        res['appended'] = list(s.appended)
    except (Err, OSError, subprocess.TimeoutExpired) as e:
        res['errors'].append('session c%d: %s' % (idx, e))
    q.put(res)


def expunger(q):
    """every 0.2-1 s: \\Deleted on half of the messages not appended by a
    client, then UID EXPUNGE of them"""
    rnd = random.Random(opt.seed * 7)
    res = {'ops': 0, 'errors': [], 'deleted': [], 'appended': [], 'rss': 0}
    try:
        s = Sess('x', '$x')
        s.select()
        end = time.time() + opt.seconds
        while time.time() < end:
            time.sleep(rnd.uniform(0.2, 1.0))
            s.cmd('NOOP')
            s.learn()
            s.cmd('FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
            cand = [u for u in s.view if u is not None and u in s.msgid and
                    not re.match(r'<c\d+\.', s.msgid[u])]
            pick = rnd.sample(cand, len(cand) // 2)
            if not pick:
                continue
            for u in pick:
                s.deleted.add(s.msgid[u])
            uids = ','.join(str(u) for u in sorted(pick))
            s.cmd('UID STORE %s +FLAGS.SILENT (\\Deleted)' % uids)
            s.cmd(('UID EXPUNGE %s' % uids) if s.uidplus else 'EXPUNGE')
        s.cmd('LOGOUT')
        s.p.stdin.close()
        s.p.wait(timeout=10)
        res['ops'] = s.ops
        res['errors'] = s.errors
        res['deleted'] = list(s.deleted)
    except (Err, OSError, subprocess.TimeoutExpired) as e:
        res['errors'].append('expunger: %s' % e)
    q.put(res)


def deliverer(q):
    res = {'ops': 0, 'errors': [], 'deleted': [], 'appended': [], 'rss': 0}
    end = time.time() + opt.seconds
    k = 0
    while time.time() < end:
        k += 1
        mid = '<d%d.%d@stress>' % (k, opt.seed)
        data = msg(mid, 'delivery %d' % k)
        if opt.rcpt:
            data = (b'EHLO stress.example.test\r\nMAIL FROM:<stress@example.test>\r\nRCPT TO:<%s>\r\n'
                    b'DATA\r\n%s.\r\nQUIT\r\n' % (opt.rcpt.encode(), data))
        else:
            data = data.replace(b'\r\n', b'\n')
        p = subprocess.run(opt.deliver, shell=True, input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0 or (opt.rcpt and not re.search(rb'\n250 [^\n]*queued', p.stdout)):
            res['errors'].append('delivery %d failed: %s' % (k, p.stdout[-200:]))
        else:
            res['appended'].append(mid)
        time.sleep(opt.interval)
    q.put(res)


def final_check(appended, deleted):
    errors = []
    s = Sess('final', '$f')
    s.select()
    out = s.cmd('UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
    ids = []
    for l in out:
        m = re.search(rb'Message-ID: *(<[^>\r\n]*>)', l, re.I)
        if m:
            ids.append(m.group(1).decode('latin-1'))
    seen = set()
    for i in ids:
        if i in seen:
            errors.append('final: %s twice' % i)
        seen.add(i)
    for mid in appended:
        if mid not in seen and mid not in deleted:
            errors.append('final: %s lost' % mid)
    s.cmd('LOGOUT')
    return errors + s.errors, len(ids)


def main():
    q = mp.Queue()
    procs = [mp.Process(target=client, args=(i, q)) for i in range(opt.clients)]
    if opt.expunger:
        procs.append(mp.Process(target=expunger, args=(q,)))
    if opt.deliver:
        procs.append(mp.Process(target=deliverer, args=(q,)))
    t0 = time.time()
    for p in procs:
        p.start()
    results = [q.get(timeout=opt.seconds + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    wall = time.time() - t0
    ops = sum(r['ops'] for r in results)
    errors = [e for r in results for e in r['errors']]
    appended = set(m for r in results for m in r['appended'])
    deleted = set(m for r in results for m in r['deleted'])
    ferr, final_n = final_check(appended, deleted)
    errors += ferr
    rss = max([r['rss'] for r in results] + [0])
    hwm = max([r.get('hwm', 0) for r in results] + [0])
    for e in errors[:20]:
        print('# error: %s' % e)
    delivered = sum(1 for m in appended if m.startswith('<d'))
    print('ops=%d seconds=%.1f ops_per_s=%.0f errors=%d rss_kib=%d peak_rss_kib=%d final_messages=%d appended=%d '
          'delivered=%d deleted=%d' % (ops, wall, ops / wall, len(errors), rss, hwm, final_n,
                                       len(appended) - delivered, delivered, len(deleted)))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
