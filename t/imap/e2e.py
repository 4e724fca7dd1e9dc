# python3 imaplib against imapd on 127.0.0.1:PORT: every command of the core.
# Prints TAP lines starting at number FIRST; exit status = failures.
import imaplib, re, socket, sys, time

port, first = int(sys.argv[1]), int(sys.argv[2])
n, failed = first - 1, 0

def ok(cond, name):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, name))
    if not cond:
        failed += 1

def okr(res, name):
    ok(res[0] == 'OK', "%s (%s)" % (name, res[0]))
    return res[1]

M = imaplib.IMAP4('127.0.0.1', port)
ok(b'IMAP4REV1' in [c.upper() for c in [x.encode() if isinstance(x, str) else x for x in M.capabilities]]
   or 'IMAP4REV1' in M.capabilities, "greeting capabilities")
ok('AUTH=PLAIN' in M.capabilities, "AUTH=PLAIN advertised")
okr(M.authenticate('PLAIN', lambda _: b'\0alice\0alice-pw'), "AUTHENTICATE PLAIN")
okr(M.noop(), "NOOP")
typ, data = M.namespace()
ok(typ == 'OK' and b'"/"' in data[0], "NAMESPACE")
okr(M.create('Archive'), "CREATE")
okr(M.subscribe('Archive'), "SUBSCRIBE")
typ, data = M.list()
ok(any(b'"Archive"' in d and b'\\Archive' in d for d in data), "LIST with special-use")
typ, data = M.lsub()
ok(any(b'Archive' in d for d in data), "LSUB")
typ, data = M.status('INBOX', '(MESSAGES UIDNEXT UNSEEN)')
ok(typ == 'OK' and b'MESSAGES 3' in data[0], "STATUS")
typ, data = M.select('INBOX')
ok(typ == 'OK' and data[0] == b'3', "SELECT INBOX: 3 messages")
typ, data = M.fetch('1:*', '(UID FLAGS RFC822.SIZE)')
ok(typ == 'OK' and len(data) == 3, "FETCH 1:*")
typ, data = M.fetch('2', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
ok(typ == 'OK' and b'Subject: message 2' in data[0][1], "FETCH header fields")
typ, data = M.uid('FETCH', '3', '(RFC822)')
ok(typ == 'OK' and b'body of message 3' in data[0][1], "UID FETCH RFC822")
typ, data = M.store('1', '+FLAGS', '(\\Flagged)')
ok(typ == 'OK' and b'\\Flagged' in data[0], "STORE +FLAGS")
typ, data = M.search(None, 'FLAGGED')
ok(typ == 'OK' and data[0] == b'1', "SEARCH FLAGGED")
typ, data = M.uid('SEARCH', None, 'UNSEEN')
ok(typ == 'OK' and data[0].split() == [b'1', b'2'], "UID SEARCH UNSEEN")
typ, data = M.copy('1', 'Archive')
ok(typ == 'OK' and b'COPYUID' in data[0], "COPY with COPYUID")
typ, data = M.uid('MOVE', '2', 'Archive')
ok(typ == 'OK', "UID MOVE")
typ, data = M.append('Archive', '(\\Seen)', imaplib.Time2Internaldate(time.time()),
                     b'Subject: appended\r\n\r\nhello\r\n')
ok(typ == 'OK' and b'APPENDUID' in data[0], "APPEND with APPENDUID")
okr(M.check(), "CHECK")
okr(M.store('1', '+FLAGS', '(\\Deleted)'), "STORE \\Deleted")
typ, data = M.expunge()
ok(typ == 'OK' and b'1' in data, "EXPUNGE")
okr(M.close(), "CLOSE")
typ, data = M.select('Archive', readonly=True)
ok(typ == 'OK' and data[0] == b'3', "EXAMINE Archive: 3 messages")
okr(M.unselect() if hasattr(M, 'unselect') else M._simple_command('UNSELECT'), "UNSELECT")
okr(M.rename('Archive', 'Old/Archive'), "RENAME into a new level")
typ, data = M.list('""', 'Old/%')
ok(typ == 'OK' and b'Old/Archive' in data[0], "LIST the renamed mailbox")
okr(M.unsubscribe('Archive'), "UNSUBSCRIBE")
okr(M.delete('Old/Archive'), "DELETE")
okr(M.delete('Old'), "DELETE the empty level")
# IDLE: not in imaplib before 3.14, spoken by hand
M.select('INBOX')
tag = M._new_tag()
M.send(tag + b' IDLE\r\n')
line = M.readline()
ok(line.startswith(b'+'), "IDLE continuation")
M.send(b'DONE\r\n')
line = M.readline()
ok(line.startswith(tag + b' OK'), "IDLE done")
typ, data = M.logout()
ok(typ == 'BYE', "LOGOUT")

# LOGIN with a password that needs quoting
M = imaplib.IMAP4('127.0.0.1', port)
okr(M.login('bob', 'bob-pw'), "LOGIN")
M.logout()
M = imaplib.IMAP4('127.0.0.1', port)
try:
    M.login('bob', 'wrong')
    ok(False, "wrong password refused")
except imaplib.IMAP4.error:
    ok(True, "wrong password refused")
print("# %d tests from python" % (n - first + 1))
sys.exit(min(failed, 100))
