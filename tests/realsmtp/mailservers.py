#!/usr/bin/python3
"""The outside mail servers of t_real_smtp.sh: real SMTP servers (aiosmtpd,
Debian's python3-aiosmtpd) in one asyncio loop, each on its own address.

    mailservers.py LOG SPEC [SPEC...]
    SPEC = NAME:ADDRESS:PORT:KIND[:CERT:KEY]
    KIND = relay  AUTH (LOGIN, PLAIN) required, without TLS (auth_require_tls
                  off for the test); user "customer", password "s3cret"
           mx     accepts mail without AUTH; a recipient whose local part
                  starts with "nouser" is refused (550), as an MX refuses a
                  bot's guessed addresses
           mxtls  an mx that also offers STARTTLS with CERT and KEY

Every event is appended to LOG as one JSON object per line, flushed at once,
so that the test counts what the servers saw, independently of spanwatch:
    {"srv", "peer", "pport", "tls", "ev": "ehlo"|"auth"|"rcpt"|"data", ...}
"ready" is printed on stdout once every server listens; SIGTERM stops them.
"""
import asyncio
import json
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = b"customer", b"s3cret"


class Recorder:
    """aiosmtpd handler: answers like a mail server and logs each event."""

    def __init__(self, name, log):
        self.name = name
        self.log = log

    def put(self, session, ev, **kw):
        peer = session.peer or ("?", 0)
        rec = {"srv": self.name, "peer": peer[0], "pport": peer[1],
               "tls": session.ssl is not None, "ev": ev}
        rec.update(kw)
        self.log.write(json.dumps(rec) + "\n")
        self.log.flush()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.put(session, "ehlo", helo=hostname)
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refused = address.split("@")[0].startswith("nouser")
        self.put(session, "rcpt", to=address, ok=not refused)
        if refused:
            return "550 5.1.1 <%s>: recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.put(session, "data", rcpts=len(envelope.rcpt_tos), size=len(envelope.content or b""))
        return "250 2.0.0 OK: queued"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER
              and auth_data.password == PASSWORD)
        self.put(session, "auth", mech=mechanism, ok=ok)
        return AuthResult(success=ok)


async def serve(log, specs):
    loop = asyncio.get_running_loop()
    servers = []
    for spec in specs:
        f = spec.split(":")
        name, addr, port, kind = f[0], f[1], int(f[2]), f[3]
        rec = Recorder(name, log)
        kw = {"hostname": name + ".test", "ident": "test ESMTP"}
        if kind == "relay":
            kw.update(authenticator=rec.authenticator, auth_required=True, auth_require_tls=False)
        elif kind == "mxtls":
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(f[4], f[5])
            kw.update(tls_context=ctx)
        elif kind != "mx":
            raise SystemExit("mailservers: unknown kind %s" % kind)
        servers.append(await loop.create_server(
            lambda rec=rec, kw=kw: SMTP(rec, **kw), host=addr, port=port, reuse_address=True))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    for s in servers:
        s.close()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "a") as log:
        asyncio.run(serve(log, sys.argv[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
