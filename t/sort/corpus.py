#!/usr/bin/env python3
"""Writes the SORT/THREAD corpus of t/69 as files N.eml (LF line ends) and
'arrivals' (N unix-time) into the directory argv[1].  Each message tests a
rule of RFC 5256 (base subject, sent date, addresses, threading repair);
the comment beside it says which."""
import os, sys

T0 = 1762128000  # 2025-11-03 00:00 UTC
M = []


def add(hdrs, body="body\n", arrive=None):
    M.append((hdrs, body, arrive))


# base subjects (RFC 5256 2.1) and reply/forward marks
add("From: Alice Able <alice@a.example>\nTo: Bob <bob@b.example>\nSubject: Hello world\n"
    "Date: Mon, 3 Nov 2025 10:00:00 +0000\nMessage-ID: <a@t>\n")
add("From: bob@b.example\nTo: alice@a.example\nSubject: Re: Hello world\n"
    "Date: Mon, 3 Nov 2025 11:00:00 +0000\nMessage-ID: <b@t>\nReferences: <a@t>\n")
add("From: \"Carl C\" <carl@c.example>\nTo: alice@a.example\nCc: dan@d.example\n"
    "Subject: RE: re: Fwd: hello WORLD\nDate: Mon, 3 Nov 2025 12:00:00 +0000\n"
    "Message-ID: <c@t>\nReferences: <a@t>\n <b@t>\n")
add("From: Dan <dan@d.example>\nSubject: [list] Re: hello world\n"
    "Date: Mon, 3 Nov 2025 13:00:00 +0000\nMessage-ID: <d@t>\nIn-Reply-To: <b@t> (Bob's)\n")
add("From: Eve <eve@e.example>\nSubject: Re [list]: hello world (fwd)\n"
    "Date: Mon, 3 Nov 2025 09:00:00 -0500\nMessage-ID: <e@t>\nReferences: <zz@t>\n")
add("From: =?UTF-8?Q?=C3=89mile?= <emile@f.example>\nSubject: [fwd: Hello world]\n"
    "Date: Mon, 3 Nov 2025 15:00:00 +0100\nMessage-ID: <f@t>\nReferences: <zz@t>\n")
add("From: Emma <emma@g.example>\nSubject: [only a blob]\n"
    "Date: Tue, 4 Nov 2025 08:00:00 +0000\nMessage-ID: <a@t>\n")  # duplicate id
add("From: zeta@h.example\nTo: \"Zed\" <zed@z.example>\nSubject: =?UTF-8?Q?R=C3=A9sum=C3=A9?=\n"
    "Date: Tue, 4 Nov 2025 09:00:00 +0000\nMessage-ID: <h@t>\nReferences: <i@t>\n")
add("From: (comment) yann@i.example\nTo: _under@u.example\nSubject: \u00c9t\u00e9\n"
    "Date: Tue, 4 Nov 2025 10:00:00 +0000\nMessage-ID: <i@t>\nReferences: <h@t>\n")
add("From: Fred <fred@j.example>\nSubject:   spaced \t  out   subject  \n"
    "Date: Tue, 4 Nov 2025 07:00:00 +0000\n")  # no Message-ID
add("From: gina@k.example\nSubject: Fw: Thread me\nDate: garbage\nMessage-ID: <k@t>\n",
    arrive=T0 + 20 * 3600)  # bad Date: INTERNALDATE
add("From: hank@l.example\nSubject: Thread me\nMessage-ID: <l@t>\n",
    arrive=T0 + 2 * 3600)   # no Date: INTERNALDATE
add("From: Ivy <ivy@m.example>\nSubject:\nDate: Wed, 5 Nov 2025 10:00:00 +0000\n"
    "Message-ID: <m@t>\nReferences: <m@t>\n")  # empty subject, refers to itself
add("From: jack@n.example\nDate: Wed, 5 Nov 2025 11:00:00 +0000\nMessage-ID: <n@t>\n"
    "References: <x1@t> <x2@t> <c@t>\n")  # no subject; ancestors missing, then c
add("From: Zoe <zoe@o.example>\nTo: Amy <amy@p.example>\nSubject: re: re: Thread me\n"
    "Date: Wed, 5 Nov 2025 12:00:00 +0000\nMessage-ID: <o@t>\nIn-Reply-To: <k@t>\n",
    body="x" * 4000 + "\n")
add("To: undisclosed-recipients:;\nSubject: Zulu\nDate: Wed, 5 Nov 2025 13:00:00 +0000\n"
    "Message-ID: <p@t>\nReferences: <q@t>\n")  # no From:, group To:
add("From: kim@q.example\nSubject: Re: Zulu\nDate: Wed, 5 Nov 2025 12:30:00 +0000\n"
    "Message-ID: <q@t>\n", body="y" * 10 + "\n")
add("From: Alice Able <alice@a.example>\nSubject: Hello world\n"
    "Date: Mon, 3 Nov 2025 10:00:00 +0000\nMessage-ID: <r@t>\n")  # same date as 1
add("From: lou@r.example\nSubject: [PATCH 1/2] fix\nDate: Thu, 6 Nov 2025 10:00:00 +0000\n"
    "Message-ID: <s@t>\nReferences: <s0@t>\n")
add("From: lou@r.example\nSubject: [PATCH 2/2] fix\nDate: Thu, 6 Nov 2025 10:01:00 +0000\n"
    "Message-ID: <t@t>\nReferences: <s0@t>\n")
add("From: moe@s.example\nSubject: RE: [PATCH 2/2] fix\nDate: Thu, 6 Nov 2025 11:00:00 +0000\n"
    "Message-ID: <u@t>\nIn-Reply-To: <t@t>\n")

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "arrivals"), "w") as a:
    for n, (h, b, arr) in enumerate(M, 1):
        with open(os.path.join(out, "%02d.eml" % n), "w", encoding="utf-8") as f:
            f.write(h + "\n" + b)
        a.write("%02d %d\n" % (n, arr if arr else T0 + n * 5 * 3600))
