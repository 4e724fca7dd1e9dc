/* recvtool -c CONF [-r] [-m] PEER < RECORDS: runs smtpd's root side
 * (receive_loop) on a record stream as if a session child had sent it:
 * -r the parent finds the client may relay, -m the stream is a maildrop
 * file.  Verdicts go to stdout.  Prints nothing else; exit 0 when the
 * stream ended cleanly, 1 on a protocol error.  For tests of the parent's
 * own checks (a compromised child can send any record). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "../../smtp/smtp.h"

int main(int argc, char **argv)
{
	static struct conf c;
	struct recv_ctx x;
	struct peer peer;
	char err[256];
	const char *cf = NULL, *addr = "local";
	int i, relay = 0, md = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			cf = argv[++i];
		else if (!strcmp(argv[i], "-r"))
			relay = 1;
		else if (!strcmp(argv[i], "-m"))
			md = 1;
		else
			addr = argv[i];
	}
	conf_defaults(&c);
	if (conf_load(&c, cf, err, sizeof err) < 0) {
		fprintf(stderr, "recvtool: %s\n", err);
		return 2;
	}
	log_open("recvtool", c.log);
	memset(&peer, 0, sizeof peer);
	snprintf(peer.addr, sizeof peer.addr, "%s", addr);
	memset(&x, 0, sizeof x);
	x.c = &c;
	x.peer = &peer;
	x.relay_ok = relay;
	x.maildrop = md;
	x.on_etrn = worker_on_etrn;   /* as smtpd: an accepted ETRN requests a run */
	x.local_uid = -1;
	x.outfd = md ? -1 : 1;
	return receive_loop(&x, 0) == 0 && !x.proto_err ? 0 : 1;
}
