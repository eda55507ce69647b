#!/usr/bin/python3
"""A real SMTP server for secdesk's tests (python3-aiosmtpd), on 127.0.0.1.

Every message received is written to --dir as NNNNNN.eml (the bytes as
received, CRLF) with NNNNNN.env beside it (JSON: mail_from, rcpt_tos), each
file complete before it appears (written to a dot file, then renamed).

  --port N          listen on N (0, the default: a free port)
  --port-file F     write the port there once listening
  --pid-file F      write our PID there
  --rcpt-reply 'CODE TEXT'   answer RCPT TO so (e.g. '450 4.2.1 try later')
  --data-reply 'CODE TEXT'   answer the end of DATA so
  --fail-times N    give those answers only N times, then accept (0: always)
  --match S         give them only for recipients containing S
  --rcpt-rule 'S|CODE TEXT[|N]'   (repeatable) answer RCPT TO for recipients
                    containing S so, the first N times (none or 0: always);
                    other recipients are taken: one server can take some
                    recipients of a mail and refuse others (4xx or 5xx)
  --rcpt-log F      append every RCPT TO and the code answered to F
  --pipelining      advertise PIPELINING (RFC 2920)
  --respond-to MAILDIR   act as a naive auto-responder: answer every mail
                    received with one into MAILDIR/new, From its recipient,
                    To its From, without any RFC 3834 header
  --auth USER:PASS  require AUTH PLAIN or LOGIN with these credentials
  --cert PEM --key PEM   the server's certificate, for:
  --starttls        offer STARTTLS and require it before MAIL and AUTH
  --smtps           TLS from the first byte (implicit TLS)
  --no-fsync        do not sync what is received (benchmarks: a sink)
  --count-only      write no mail, only the number received, to --dir/count
                    when stopped (benchmarks: the server's own cost only)
  --quiet           no log lines on stderr

Stopped by SIGTERM (the tests kill it by PID).
"""
import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


SYNC = True


def write_atomic(path, data):
    d, base = os.path.split(path)
    tmp = os.path.join(d, "." + base + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if SYNC:
            f.flush()
            os.fsync(f.fileno())
    os.rename(tmp, path)


class Handler:
    def __init__(self, args):
        self.args = args
        self.counter = itertools.count(1)
        self.failures = 0
        self.seq = itertools.count(1)
        self.received = 0
        self.rules = []
        for spec in args.rcpt_rule:
            parts = spec.split("|")
            self.rules.append({"match": parts[0], "reply": parts[1],
                               "times": int(parts[2]) if len(parts) > 2 and parts[2] else 0,
                               "used": 0})

    def _fails(self, rcpt):
        a = self.args
        if a.match and a.match not in rcpt:
            return False
        if a.fail_times and self.failures >= a.fail_times:
            return False
        return True

    def _rule(self, rcpt):
        for r in self.rules:
            if r["match"] in rcpt and (r["times"] == 0 or r["used"] < r["times"]):
                r["used"] += 1
                return r["reply"]
        return None

    def _log(self, rcpt, reply):
        if self.args.rcpt_log:
            with open(self.args.rcpt_log, "a") as f:
                f.write("%s %s\n" % (rcpt, reply[:3]))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.rcpt_reply and self._fails(address):
            self.failures += 1
            self._log(address, self.args.rcpt_reply)
            return self.args.rcpt_reply
        reply = self._rule(address)
        if reply:
            self._log(address, reply)
            return reply
        envelope.rcpt_tos.append(address)
        self._log(address, "250")
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_reply and any(self._fails(r) for r in envelope.rcpt_tos):
            self.failures += 1
            return self.args.data_reply
        n = next(self.counter)
        self.received = n
        if self.args.count_only:
            return "250 2.0.0 queued as %06d" % n
        base = os.path.join(self.args.dir, "%06d" % n)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        env = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        write_atomic(base + ".env", json.dumps(env).encode())
        write_atomic(base + ".eml", data)
        if self.args.respond_to:
            self._respond(data)
        return "250 2.0.0 queued as %06d" % n

    def _respond(self, data):
        """Answers like a naive vacation program: to the From header,
        whatever the mail was, with no Auto-Submitted."""
        msg = email.message_from_bytes(data, policy=email.policy.default)
        to = msg.get("From", "")
        me = msg.get("To", "responder@example.org")
        subject = msg.get("Subject", "")
        mid = msg.get("Message-ID", "")
        n = next(self.seq)
        body = (
            "From: %s\r\nTo: %s\r\nSubject: Re: %s\r\n"
            "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <responder.%d.%d@example.org>\r\n"
            "In-Reply-To: %s\r\nReferences: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "I am away. Your mail has been received.\r\n"
            % (me, to, subject, os.getpid(), n, mid, mid)
        )
        name = "%d.R%d.responder" % (int(time.time()), n)
        d = self.args.respond_to
        write_atomic(os.path.join(d, "tmp", name), body.encode())
        os.rename(os.path.join(d, "tmp", name), os.path.join(d, "new", name))


class Server(SMTP):
    pipelining = False

    async def smtp_EHLO(self, hostname):
        # aiosmtpd reads pipelined commands in order; advertise it on request.
        if self.pipelining:
            self._pipelining_pending = True
        await super().smtp_EHLO(hostname)

    async def push(self, status):
        if getattr(self, "_pipelining_pending", False) and status == "250 HELP":
            self._pipelining_pending = False
            await super().push("250-PIPELINING")
        await super().push(status)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--pid-file")
    p.add_argument("--rcpt-reply")
    p.add_argument("--data-reply")
    p.add_argument("--fail-times", type=int, default=0)
    p.add_argument("--match")
    p.add_argument("--rcpt-rule", action="append", default=[])
    p.add_argument("--rcpt-log")
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--respond-to")
    p.add_argument("--auth")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-fsync", action="store_true")
    p.add_argument("--count-only", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--smtps", action="store_true")
    args = p.parse_args()
    global SYNC
    SYNC = not args.no_fsync
    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args)

    kw = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False)

        kw = dict(authenticator=authenticator, auth_required=True,
                  auth_require_tls=args.starttls or args.smtps)

    ctx = None
    if args.starttls or args.smtps:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    if args.starttls:
        kw.update(tls_context=ctx, require_starttls=True)

    Server.pipelining = args.pipelining

    def factory():
        srv = Server(handler, hostname="smtpd.test", **kw)
        if args.smtps:
            srv._tls_protocol = True  # aiosmtpd: the session is already TLS
        return srv

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    srv = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=args.port,
                           ssl=ctx if args.smtps else None))
    port = srv.sockets[0].getsockname()[1]
    if args.pid_file:
        write_atomic(args.pid_file, b"%d\n" % os.getpid())
    if args.port_file:
        write_atomic(args.port_file, b"%d\n" % port)
    if not args.quiet:
        print("smtpd: listening on 127.0.0.1:%d" % port, file=sys.stderr)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    try:
        loop.run_forever()
    finally:
        srv.close()
        if args.count_only:
            write_atomic(os.path.join(args.dir, "count"), b"%d\n" % handler.received)


if __name__ == "__main__":
    main()
