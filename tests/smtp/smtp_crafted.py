#!/usr/bin/python3
"""smtp_crafted.py -- crafted SMTP sessions through spanwatch, checked
against what each session is known to hold (the oracle is the crafted
content itself):

  cust-fake     the server says 235 to no AUTH (a bot whose far end
                cooperates): unauth (issue 14.8)
  cust-refused  AUTH refused (535), then a 235 unasked: unauth
  cust-plain    no AUTH at all: unauth
  cust-long     EHLO name of 100 bytes and a sender domain of 80: unauth;
                its alert shows the first 63 bytes of each, marked
                helo_truncated=1 and from_domain_truncated=1 (issue 14.9)
  cust-auth     AUTH PLAIN with an initial response, 235: auth
  cust-login    AUTH LOGIN, two 334 challenges, 235: auth
  cust-early    AUTH PLAIN whose 235 the capture shows first (a mirror
                that delivers the two directions out of step): auth

with [smtp] max_sessions = 0 (issue 13.11): each unauth subscriber gets
exactly one smtp_direct alert, sessions=1; neither auth one gets any.
RRDs: smtp_direct 1 for each, smtp_unauth 1 for the unauth ones, 0 for
the others; the alert lines on stderr (logfmt) carry the same fields as
the JSON. SPF is off (said in the configuration). Exit 0 pass, 1 fail.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "spf"))
import rrdsum  # noqa: E402
from spf_pcap import Writer  # noqa: E402

T0 = 1767225600
STEP = 60
LONG_HELO = "h" * 100
LONG_DOM = "d" * 80 + ".example"
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def greet(helo):
    return [("S", b"220 mx.test ESMTP\r\n"), ("C", b"EHLO " + helo.encode() + b"\r\n"),
            ("S", b"250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n")]


def mail(dom):
    return [("C", b"MAIL FROM:<someone@" + dom.encode() + b">\r\n"), ("S", b"250 ok\r\n"),
            ("C", b"RCPT TO:<victim@rcpt.test>\r\n"), ("S", b"250 ok\r\n"),
            ("C", b"QUIT\r\n"), ("S", b"221 bye\r\n")]


# (subscriber, address, dialogue, authenticated?)
SESSIONS = [
    ("cust-fake", "100.64.0.1", greet("fake.example") +
     [("S", b"235 2.7.0 Authentication successful\r\n")] + mail("fake.example"), False),
    ("cust-refused", "100.64.0.2", greet("refused.example") +
     [("C", b"AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n"), ("S", b"535 5.7.8 no\r\n"),
      ("S", b"235 2.7.0 ok\r\n")] + mail("refused.example"), False),
    ("cust-plain", "100.64.0.3", greet("plain.example") + mail("plain.example"), False),
    ("cust-long", "100.64.0.4", greet(LONG_HELO) + mail(LONG_DOM), False),
    ("cust-auth", "100.64.0.5", greet("auth.example") +
     [("C", b"AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n"), ("S", b"235 2.7.0 ok\r\n")] +
     mail("auth.example"), True),
    ("cust-login", "100.64.0.6", greet("login.example") +
     [("C", b"AUTH LOGIN\r\n"), ("S", b"334 VXNlcm5hbWU6\r\n"), ("C", b"dXNlcg==\r\n"),
      ("S", b"334 UGFzc3dvcmQ6\r\n"), ("C", b"cGFzcw==\r\n"), ("S", b"235 2.7.0 ok\r\n")] +
     mail("login.example"), True),
    ("cust-early", "100.64.0.7", greet("early.example") +
     [("S", b"235 2.7.0 ok\r\n"), ("C", b"AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n")] +
     mail("early.example"), True),
]


def main():
    if shutil.which("rrdtool") is None:
        print("SKIP: rrdtool is not installed")
        return 77
    work = tempfile.mkdtemp(prefix="sw-smtp-crafted-")
    pcap = os.path.join(work, "crafted.pcap")
    with open(pcap, "wb") as fp:
        w = Writer(fp)
        t = T0 + 5
        for i, (_, addr, dialogue, _) in enumerate(SESSIONS):
            t = w.smtp(t, addr, "198.51.100.%d" % (i + 1), dialogue) + 1
    subs = os.path.join(work, "subscribers.txt")
    with open(subs, "w") as fp:
        for sub, addr, _, _ in SESSIONS:
            fp.write("%s/32 %s\n" % (addr, sub))
    conf = os.path.join(work, "spanwatch.conf")
    with open(conf, "w") as fp:
        fp.write("[subscribers]\nfile = %s\n[rrd]\nstep = %d\n[smtp]\nspf = off\nmax_sessions = 0\n"
                 "max_mx = 1000\nmax_rcpt = 1000\n[alerts]\nholddown = 0\n" % (subs, STEP))
    rrd, js = os.path.join(work, "rrd"), os.path.join(work, "alerts.json")
    p = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-c", conf, "-r", pcap, "-o", rrd,
                        "--alerts-json", js, "--no-syslog"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "spanwatch exit 0 (got %d)%s" % (p.returncode, p.returncode and ": " + p.stderr[-500:] or ""))
    bad = [l for l in p.stderr.splitlines() if "Sanitizer" in l or "runtime error" in l]
    check(not bad, "no sanitizer report" + (": " + bad[0] if bad else ""))
    alerts = []
    if os.path.exists(js):
        with open(js) as fp:
            alerts = [json.loads(l) for l in fp if l.strip()]
    lines = [l for l in p.stderr.splitlines() if "alert=smtp_direct" in l]

    for sub, addr, _, auth in SESSIONS:
        path = os.path.join(rrd, "subscribers", sub + ".rrd")
        tot = rrdsum.totals(path) if os.path.exists(path) else {}
        direct, unauth = round(tot.get("smtp_direct", -1)), round(tot.get("smtp_unauth", -1))
        check(direct == 1 and unauth == (0 if auth else 1),
              "%s: smtp_direct=1 smtp_unauth=%d (got %d, %d)" % (sub, 0 if auth else 1, direct, unauth))
        mine = [a for a in alerts if a.get("subscriber") == sub]
        if auth:
            check(not mine, "%s: authenticated, no alert (got %s)" % (sub, mine))
            continue
        check(len(mine) == 1 and mine[0].get("alert") == "smtp_direct" and mine[0].get("sessions") == 1
              and mine[0].get("ip") == addr,
              "%s: one smtp_direct, sessions=1, ip=%s (got %s)" % (sub, addr, mine))

    long_a = [a for a in alerts if a.get("subscriber") == "cust-long"]
    if long_a:
        a = long_a[0]
        check(a.get("helo") == LONG_HELO[:63] and a.get("helo_truncated") == 1,
              "cust-long: helo is the first 63 bytes, helo_truncated=1 (%r, %r)"
              % (a.get("helo"), a.get("helo_truncated")))
        check(a.get("from_domain") == LONG_DOM[:63] and a.get("from_domain_truncated") == 1,
              "cust-long: from_domain is the first 63 bytes, from_domain_truncated=1")
    others = [a for a in alerts if a.get("subscriber") != "cust-long"]
    check(all("helo_truncated" not in a and "from_domain_truncated" not in a for a in others),
          "no other alert says a name was cut")
    ll = [l for l in lines if "subscriber=cust-long " in l]
    check(len(ll) == 1 and (" helo=%s helo_truncated=1 " % LONG_HELO[:63]) in ll[0] and
          ll[0].rstrip().endswith("from_domain=%s from_domain_truncated=1" % LONG_DOM[:63]),
          "cust-long: the logfmt line says the same (%s)" % (ll[0] if ll else "-"))
    check(len(lines) == 4, "4 smtp_direct lines on stderr (got %d)" % len(lines))

    if failures:
        print("%d failed; files in %s" % (len(failures), work))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
