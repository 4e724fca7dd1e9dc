#!/usr/bin/env python3
"""bench/lib/perf-roles.py PERF_SCRIPT_OUTPUT NCONN: CPU per connection by
process role, from `perf script` of a `perf record -a -g -e cpu-clock -e
sched:sched_process_fork -e sched:sched_process_exec` run (bench/smtp-profile).
Roles come from the fork/exec events: the server exec'ed by the launcher,
its children (#1 is the session child forked first), their children, the
long-lived processes by name.  Each sample is put under what it was doing:
the system call it was in, a page fault, or user code by library."""
import collections
import os
import re
import sys

HDR = re.compile(r'(\S.*?)\s+(\d+)/\d+\s+\[\d+\]\s+[\d.]+:\s+(\S+):(.*)')


def records(path):
    """(comm, pid, event, rest, frames) for each record of perf script"""
    hdr, frames = None, []
    for line in open(path, errors='replace'):
        if not line.strip():
            if hdr:
                yield hdr + (frames,)
            hdr, frames = None, []
            continue
        m = HDR.match(line)
        if m and not line.startswith('\t'):
            if hdr:
                yield hdr + (frames,)
            hdr, frames = (m.group(1), int(m.group(2)), m.group(3), m.group(4)), []
        else:
            frames.append(line.strip())
    if hdr:
        yield hdr + (frames,)


def what(frames):
    for f in frames:
        m = re.search(r'__(?:x64|do)_sys_(\w+)', f)
        if m:
            return 'syscall ' + m.group(1)
        if 'asm_exc_page_fault' in f:
            return 'page faults'
        if 'ret_from_fork' in f:
            return 'return from fork'
    if not frames:
        return '?'
    m = re.search(r'\((.*?)\)\s*$', frames[0])
    dso = m.group(1).rsplit('/', 1)[-1] if m else '?'
    return 'kernel, other' if 'kernel' in dso else 'user code in ' + dso


def main():
    path, nconn = sys.argv[1], int(sys.argv[2])
    server = sys.argv[3] if len(sys.argv) > 3 else 'smtpd'
    parent, kids, execd, comm = {}, collections.defaultdict(list), {}, {}
    samples = []
    for c, pid, ev, rest, frames in records(path):
        if ev.startswith('sched:sched_process_fork'):
            child = int(re.search(r'child_pid=(\d+)', rest).group(1))
            parent[child] = pid
            kids[pid].append(child)
        elif ev.startswith('sched:sched_process_exec'):
            execd[pid] = re.search(r'filename=(\S+)', rest).group(1)
        else:
            comm.setdefault(pid, c)
            samples.append((pid, what(frames), frames[0] if frames else '?'))

    def role(pid):
        if execd.get(pid, '').endswith('/' + server):
            return server + ' started per connection (from the launcher\'s fork)'
        if pid in execd:
            return execd[pid].rsplit('/', 1)[-1]
        if pid in parent:
            up = role(parent[pid])
            if up.startswith(server + ' started'):
                n = kids[parent[pid]].index(pid) + 1
                return f'{server}\'s child #{n}' if n == 1 else f'{server}\'s later children'
            return 'children of ' + up
        c = comm.get(pid, '?')
        return 'idle (swapper)' if c == 'swapper' else c

    total, by = collections.Counter(), collections.defaultdict(collections.Counter)
    leaves = collections.defaultdict(collections.Counter)
    for pid, w, leaf in samples:
        r = role(pid)
        if w.startswith('user code'):
            leaves[r][re.sub(r'^\S+\s+', '', leaf)] += 1
        total[r] += 1
        by[r][w] += 1
    procs = collections.Counter(role(p) for p in set(parent) | {p for p, _, _ in samples})
    n = sum(total.values())
    print(f'{n} samples of 1 ms, {nconn} connections: {n / nconn:.2f} ms of CPU per connection')
    for r, k in total.most_common(8):
        many = f' ({procs[r] / nconn:.2f} per connection)' if procs[r] > 1 else ''
        print(f'  {k / nconn:6.2f} ms  {100 * k / n:4.1f}%  {r}{many}')
        for w, j in by[r].most_common(8):
            if j / nconn >= 0.05:
                print(f'           {j / nconn:6.2f}  {w}')

    # PERF_ROLES_LEAVES=N: the N user-code functions sampled most in each role
    top = int(os.environ.get('PERF_ROLES_LEAVES', '0'))
    for r, k in total.most_common(8) if top else []:
        print(f'  {r}: the functions sampled most, ms per connection')
        for leaf, j in leaves[r].most_common(top):
            print(f'           {j / nconn:6.2f}  {leaf}')


main()
