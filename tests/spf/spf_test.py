#!/usr/bin/python3
"""spf_test.py -- issue 10, SPF-aware egress, end to end: crafted SMTP
captures replayed through spanwatch, whose SPF helper asks a real DNS
server (dnsmasq, started here on a free loopback port) through
[smtp] resolver = 127.0.0.1:PORT.

The zone (dnsmasq --local=/example/, so unknown names are NXDOMAIN):
  pass.example     v=spf1 ip4:100.64.0.1 -all       the subscriber itself
  inc.example      v=spf1 include:pass.example -all  through include:
  fail.example     v=spf1 ip4:192.0.2.1 -all         -all, not authorised
  soft.example     v=spf1 ip4:192.0.2.1 ~all         ~all
  neutral.example  v=spf1 ?all
  nospf.example    an A record only (no TXT: NODATA)
  nx.example       nothing (NXDOMAIN)
  slow.example     forwarded to a UDP socket that never answers
  bad.example      v=spf1 ip4:100.64.0.1 foo:bar -all  (malformed)
  helo.example, tls.example  EHLO names (null sender; STARTTLS)
  mta.example      v=spf1 ip4:100.64.0.10 -all      a customer's own MTA
  pass6.example    v=spf1 ip6:2001:db8:100::1 -all
  p-N, q-N, k-N, r-N.example  v=spf1 ip4:100.64.0.0/16 -all
  all.example      v=spf1 +all                       broad records: a pass
  wide4.example    v=spf1 ip4:0.0.0.0/1 -all         they give is "broad"
  wide6.example    v=spf1 ip6:2000::/3 -all
  incall.example   v=spf1 include:all.example -all
  narrowall.example v=spf1 ip4:100.64.0.0/24 +all    a pass inside the /24
  net24.example    v=spf1 ip4:100.64.0.0/24 -all     a /24: a pass

Checked, with spanwatch -v (each verdict logged "spf=RESULT domain=D"):
  1. every session gets the right result, identity (mailfrom, or helo for
     the null sender and for STARTTLS), the cache answers a repeat in a
     later step, a non-domain is "none" without DNS; the local parts of
     the envelope never reach stderr or the alerts;
  2. smtp_spfpass in each subscriber's RRD counts the passing sessions;
  3. alerts follow [smtp] spf: annotate adds the window's sessions by
     verdict (spf_pass, spf_fail, spf_broad, spf_softfail, spf_neutral,
     spf_none, spf_temperror, spf_permerror: a failed lookup is not a
     domain without a record); exempt drops smtp_direct for the subscriber
     whose sessions all passed, not for the other; off, and a
     configuration that does not name spf (off is the default), neither
     evaluate nor annotate nor start the helper;
  3b. broad (SPEC, issue 15.4): +all, ip4:0.0.0.0/1, ip6:2000::/3, and
     +all reached through include: give spf=broad, not pass: not in
     smtp_spfpass, never exempted; a /24, and a record whose /24 comes
     before its +all, still pass (and exempt);
  4. the resolver stopped (SIGSTOP) in the middle of a run read from a
     pipe: capture continues, later verdicts are temperror, no crash;
  5. the helper killed (SIGKILL) in the middle of a run: logged, started
     again, later verdicts still come; it runs as nobody;
  6. (opt only) packet rate of one capture with SPF off, with a healthy
     resolver and with a dead one, from wall time and the summary. A
     replay waits for verdicts at each step's end (spf.h), so there a dead
     resolver costs time, bounded per step;
  7. (opt, root only) the same live: the capture sent over a veth pair
     between two namespaces made here (198.18.10.0/30) with tcpreplay,
     dnsmasq in the sensor's namespace, healthy and then stopped. Live,
     nothing waits: every packet is counted and none dropped either way.
Exit 0 pass, 77 skip (no dnsmasq), 1 fail. SW_SPF_KEEP=1 keeps the
work directory (logs, captures, RRDs) of a passing run too.
"""
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
VARIANT = os.environ.get("SW_VARIANT", "opt")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rrdsum  # noqa: E402
from spf_pcap import Writer, smtp_plain, smtp_starttls  # noqa: E402

T0 = 1767225600          # 2026-01-01 00:00:00 UTC, a multiple of the step
STEP = 60
A, MTA, V6 = "100.64.0.1", "100.64.0.10", "2001:db8:100::1"
BROAD, NET, BROAD6 = "100.65.0.20", "100.64.0.30", "2001:db8:200::1"
SECRET = "lp-secret"     # local parts: must never be logged
VERDICT = re.compile(r"spf=(\w+) domain=(\S+) identity=(\w+) subscriber=(\S+)( cached=1)?")
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)
    return ok


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class BlackHole(threading.Thread):
    """A UDP port that reads DNS queries and never answers."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def run(self):
        while True:
            try:
                self.sock.recvfrom(4096)
            except OSError:
                return


RECORDS = {
    "pass.example": "v=spf1 ip4:100.64.0.1 -all",
    "inc.example": "v=spf1 include:pass.example -all",
    "fail.example": "v=spf1 ip4:192.0.2.1 -all",
    "soft.example": "v=spf1 ip4:192.0.2.1 ~all",
    "neutral.example": "v=spf1 ?all",
    "bad.example": "v=spf1 ip4:100.64.0.1 foo:bar -all",
    "helo.example": "v=spf1 ip4:100.64.0.1 -all",
    "tls.example": "v=spf1 ip4:100.64.0.1 -all",
    "mta.example": "v=spf1 ip4:100.64.0.10 -all",
    "pass6.example": "v=spf1 ip6:2001:db8:100::1 -all",
    "all.example": "v=spf1 +all",
    "wide4.example": "v=spf1 ip4:0.0.0.0/1 -all",
    "wide6.example": "v=spf1 ip6:2000::/3 -all",
    "incall.example": "v=spf1 include:all.example -all",
    "narrowall.example": "v=spf1 ip4:100.64.0.0/24 +all",
    "net24.example": "v=spf1 ip4:100.64.0.0/24 -all",
}
for pre in ("p", "q", "k", "r"):
    for i in range(40):
        RECORDS["%s-%d.example" % (pre, i)] = "v=spf1 ip4:100.64.0.0/16 -all"


class Dns:
    """dnsmasq on 127.0.0.1:port, serving RECORDS."""

    def __init__(self, work, blackhole_port, prefix=()):
        self.port = free_port()
        self.prefix = list(prefix)
        self.conf = os.path.join(work, "dnsmasq.conf")
        with open(self.conf, "w") as fp:
            fp.write("port=%d\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
                     "local-ttl=300\nlocal=/example/\nserver=/slow.example/127.0.0.1#%d\n"
                     "host-record=nospf.example,192.0.2.9\nlog-queries\nlog-facility=%s\n"
                     % (self.port, blackhole_port, os.path.join(work, "dnsmasq.log")))
            for name, txt in sorted(RECORDS.items()):
                fp.write('txt-record=%s,"%s"\n' % (name, txt))
        self.proc = subprocess.Popen(self.prefix + ["dnsmasq", "--keep-in-foreground",
                                                    "--conf-file=" + self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if self.prefix:
            time.sleep(0.5)     # in another namespace: not probed from here
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq: %s" % self.proc.stderr.read().decode())
        elif not self.ready():
            raise RuntimeError("dnsmasq did not answer: %s" % self.proc.stderr.read().decode())

    def ready(self):
        q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x04pass\x07example\x00" + \
            struct.pack("!HH", 16, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            for _ in range(25):
                if self.proc.poll() is not None:
                    return False
                try:
                    s.sendto(q, ("127.0.0.1", self.port))
                    if s.recv(4096)[:2] == q[:2]:
                        return True
                except OSError:
                    time.sleep(0.1)
            return False
        finally:
            s.close()

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        self.resume()
        self.proc.terminate()
        self.proc.wait()


def write_setup(work, dns_port, spf, max_sessions=2):
    """The configuration; spf None leaves [smtp] spf to its default."""
    subs = os.path.join(work, "subscribers.txt")
    with open(subs, "w") as fp:
        fp.write("100.64.0.1/32 cust-a\n100.64.0.10/32 cust-mta\n2001:db8:100::1/128 cust-v6\n"
                 "%s/32 cust-broad\n%s/32 cust-net\n%s/128 cust-broad6\n" % (BROAD, NET, BROAD6))
    conf = os.path.join(work, "spanwatch-%s.conf" % (spf or "default"))
    with open(conf, "w") as fp:
        fp.write("[subscribers]\nfile = %s\n[rrd]\nstep = %d\n[smtp]\n%s"
                 "resolver = 127.0.0.1:%d\nmax_sessions = %d\n[alerts]\nholddown = 0\n"
                 % (subs, STEP, "spf = %s\n" % spf if spf else "", dns_port, max_sessions))
    return conf


def mail(name, dom):
    return "%s-%s@%s" % (SECRET, name, dom)


def results_capture(path):
    """The result matrix: cust-a's sessions (step 1, one repeat in step 2),
    cust-mta's four, cust-v6's two."""
    expect = []           # (subscriber, domain, identity, result)
    with open(path, "wb") as fp:
        w = Writer(fp)
        t = T0 + 5
        far = iter("198.51.100.%d" % i for i in range(1, 200))
        for dom, res in (("pass.example", "pass"), ("inc.example", "pass"), ("fail.example", "fail"),
                         ("soft.example", "softfail"), ("neutral.example", "neutral"),
                         ("nospf.example", "none"), ("nx.example", "none"), ("slow.example", "temperror"),
                         ("bad.example", "permerror")):
            t = w.smtp(t, A, next(far), smtp_plain("host-a.cust.test", mail("a", dom))) + 0.5
            expect.append(("cust-a", dom, "mailfrom", res))
        t = w.smtp(t, A, next(far), smtp_plain("helo.example", "")) + 0.5
        expect.append(("cust-a", "helo.example", "helo", "pass"))
        t = w.smtp(t, A, next(far), smtp_starttls("tls.example")) + 0.5
        expect.append(("cust-a", "tls.example", "helo", "pass"))
        t = w.smtp(t, A, next(far), smtp_plain("host-a.cust.test", mail("a", "localhost"))) + 0.5
        expect.append(("cust-a", "-", "mailfrom", "none"))
        for i in range(4):
            t = w.smtp(t, MTA, next(far), smtp_plain("mail.mta.example", mail("m%d" % i, "mta.example"))) + 0.5
            expect.append(("cust-mta", "mta.example", "mailfrom", "pass"))
        t = w.smtp(t, V6, "2001:db8:ffff::25", smtp_plain("v6.cust.test", mail("v", "pass6.example"))) + 0.5
        expect.append(("cust-v6", "pass6.example", "mailfrom", "pass"))
        t = w.smtp(t, V6, "2001:db8:ffff::26", smtp_plain("v6.cust.test", mail("v", "pass.example"))) + 0.5
        expect.append(("cust-v6", "pass.example", "mailfrom", "fail"))
        # Step 2: the same question again, answered by the cache.
        t = w.smtp(T0 + STEP + 5, A, next(far), smtp_plain("host-a.cust.test", mail("a2", "pass.example")))
        expect.append(("cust-a", "pass.example", "mailfrom", "pass"))
    return expect


def run(conf, pcap, work, tag, extra=()):
    rrd = os.path.join(work, "rrd-" + tag)
    js = os.path.join(work, "alerts-%s.json" % tag)
    os.makedirs(rrd, exist_ok=True)
    t = time.monotonic()
    p = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-v", "-c", conf, "-r", pcap, "-o", rrd,
                        "--alerts-json", js, "--no-syslog"] + list(extra),
                       capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - t
    with open(os.path.join(work, "stderr-%s.log" % tag), "w") as fp:
        fp.write(p.stderr)
    alerts = []
    if os.path.exists(js):
        with open(js) as fp:
            alerts = [json.loads(l) for l in fp if l.strip()]
    return p, rrd, alerts, wall


def verdicts(stderr):
    return [(m.group(4), m.group(2), m.group(3), m.group(1), bool(m.group(5)))
            for m in VERDICT.finditer(stderr)]


def no_crash(p, tag):
    check(p.returncode == 0, "%s: exit 0 (got %d)" % (tag, p.returncode))
    bad = [l for l in p.stderr.splitlines() if "Sanitizer" in l or "runtime error" in l]
    check(not bad, "%s: no sanitizer report%s" % (tag, (": " + bad[0]) if bad else ""))


def spfpass(rrd, sub):
    path = os.path.join(rrd, "subscribers", sub + ".rrd")
    if not os.path.exists(path):
        return None
    return round(rrdsum.totals(path, end=T0 + 10 * STEP).get("smtp_spfpass", 0.0))


def direct_alerts(alerts, sub):
    return [a for a in alerts if a.get("alert") == "smtp_direct" and a.get("subscriber") == sub]


def summary_packets(stderr):
    m = re.search(r"summary packets=(\d+)", stderr)
    return int(m.group(1)) if m else -1


def test_results(work, dns):
    pcap = os.path.join(work, "results.pcap")
    expect = results_capture(pcap)

    # 1, 2, 3: annotate (the default).
    p, rrd, alerts, _ = run(write_setup(work, dns.port, "annotate"), pcap, work, "annotate")
    no_crash(p, "annotate")
    got = verdicts(p.stderr)
    check(sorted(g[:4] for g in got) == sorted(expect),
          "annotate: every session's verdict is right (%d sessions)" % len(expect))
    for e in sorted(set(expect) - set(g[:4] for g in got)):
        print("     missing or wrong:", e, [g for g in got if g[0] == e[0] and g[1] == e[1]])
    a_pass = [g for g in got if g[0] == "cust-a" and g[1] == "pass.example"]
    check(len(a_pass) == 2 and a_pass[-1][4], "annotate: the repeat in step 2 came from the cache")
    check(SECRET not in p.stderr, "annotate: no local part in the log")
    with open(os.path.join(work, "alerts-annotate.json")) as fp:
        check(SECRET not in fp.read(), "annotate: no local part in the alerts")
    check(re.search(r"spf: asked=\d+ .*cut=0 dropped=0 ", p.stderr) is not None,
          "annotate: nothing dropped or cut (stats line)")
    for sub, n in (("cust-a", 5), ("cust-mta", 4), ("cust-v6", 1)):
        got_n = spfpass(rrd, sub)
        check(got_n == n, "annotate: smtp_spfpass of %s = %d (got %s)" % (sub, n, got_n))
    da, dm = direct_alerts(alerts, "cust-a"), direct_alerts(alerts, "cust-mta")
    check(len(da) >= 1 and da[0].get("spf_pass") == 4 and da[0].get("spf_fail") == 1,
          "annotate: cust-a's smtp_direct carries spf_pass=4 spf_fail=1 (%s)" %
          [(a.get("spf_pass"), a.get("spf_fail")) for a in da])
    # Its step-1 sessions by verdict, as the results matrix says.
    want = {"spf_pass": 4, "spf_fail": 1, "spf_broad": 0, "spf_softfail": 1, "spf_neutral": 1,
            "spf_none": 3, "spf_temperror": 1, "spf_permerror": 1}
    got_f = {k: da[0].get(k) for k in want} if da else {}
    check(got_f == want, "annotate: cust-a's first smtp_direct tells every verdict apart, "
          "temperror (slow.example) from none (nospf, nx, localhost) (%s)" % got_f)
    check(len(da) == 2 and da[1].get("spf_pass") == 5,
          "annotate: cust-a's step-2 smtp_direct counts the cached pass (spf_pass=5)")
    check(len(dm) == 1 and dm[0].get("spf_pass") == 4 and dm[0].get("spf_fail") == 0,
          "annotate: cust-mta's smtp_direct carries spf_pass=4 spf_fail=0")

    # exempt: cust-mta (all passed) is not alerted, cust-a is.
    p, rrd, alerts, _ = run(write_setup(work, dns.port, "exempt"), pcap, work, "exempt")
    no_crash(p, "exempt")
    check(not direct_alerts(alerts, "cust-mta"), "exempt: no smtp_direct for cust-mta (all passed SPF)")
    check(len(direct_alerts(alerts, "cust-a")) == 2, "exempt: cust-a (fail, none, ...) still alerted")
    check(re.search(r"spf: .* exempted=[1-9]", p.stderr) is not None, "exempt: counted as exempted")
    check(spfpass(rrd, "cust-mta") == 4, "exempt: smtp_spfpass of cust-mta = 4")

    # off: no evaluation, no annotation, no smtp_spfpass.
    dns_queries(work)
    p, rrd, alerts, _ = run(write_setup(work, dns.port, "off"), pcap, work, "off")
    no_crash(p, "off")
    check(not verdicts(p.stderr) and "spf: helper started" not in p.stderr, "off: nothing evaluated, no helper")
    check(len(direct_alerts(alerts, "cust-mta")) == 1 and
          all("spf_pass" not in a for a in alerts), "off: smtp_direct for cust-mta, without spf fields")
    check(spfpass(rrd, "cust-a") == 0, "off: smtp_spfpass of cust-a = 0")
    check(dns_queries(work) == 0, "off: dnsmasq was asked nothing")

    # No spf key at all: off is the default (a replay asks no DNS).
    p, rrd, alerts, _ = run(write_setup(work, dns.port, None), pcap, work, "default")
    no_crash(p, "default")
    check(not verdicts(p.stderr) and "spf: helper started" not in p.stderr,
          "default: nothing evaluated, no helper")
    check(len(direct_alerts(alerts, "cust-a")) == 2 and
          all(not any(k.startswith("spf_") for k in a) for a in alerts),
          "default: smtp_direct for cust-a, without spf fields")
    check(dns_queries(work) == 0, "default: dnsmasq was asked nothing")


def dns_queries(work):
    """Queries dnsmasq logged since the last call (it logs with log-queries)."""
    path = os.path.join(work, "dnsmasq.log")
    with open(path) as fp:
        lines = fp.read().splitlines()
    seen = dns_queries.seen.get(path, 0)
    dns_queries.seen[path] = len(lines)
    return sum(1 for l in lines[seen:] if " query[" in l)


dns_queries.seen = {}


def broad_capture(path):
    """cust-broad: four sessions whose domains pass only through a broad
    term; cust-broad6: three, ip6:2000::/3; cust-net: three passes from a
    /24 (one of them the /24 before +all)."""
    expect = []
    with open(path, "wb") as fp:
        w = Writer(fp)
        t = T0 + 5
        far = iter("198.51.100.%d" % i for i in range(1, 200))
        for dom in ("all.example", "wide4.example", "incall.example", "narrowall.example"):
            t = w.smtp(t, BROAD, next(far), smtp_plain("b.cust.test", mail("b", dom))) + 0.5
            expect.append(("cust-broad", dom, "mailfrom", "broad"))
        for i in range(3):
            t = w.smtp(t, BROAD6, "2001:db8:ffff::%x" % (0x30 + i),
                       smtp_plain("b6.cust.test", mail("b6", "wide6.example"))) + 0.5
            expect.append(("cust-broad6", "wide6.example", "mailfrom", "broad"))
        for dom in ("net24.example", "narrowall.example", "net24.example"):
            t = w.smtp(t, NET, next(far), smtp_plain("n.cust.test", mail("n", dom))) + 0.5
            expect.append(("cust-net", dom, "mailfrom", "pass"))
    return expect


def test_broad(work, dns):
    pcap = os.path.join(work, "broad.pcap")
    expect = broad_capture(pcap)
    p, rrd, alerts, _ = run(write_setup(work, dns.port, "annotate"), pcap, work, "broad-annotate")
    no_crash(p, "broad annotate")
    got = verdicts(p.stderr)
    check(sorted(g[:4] for g in got) == sorted(expect),
          "broad: +all, ip4:0.0.0.0/1, ip6:2000::/3, include of +all give broad; a /24 gives pass "
          "(%d sessions)" % len(expect))
    for e in sorted(set(expect) - set(g[:4] for g in got)):
        print("     missing or wrong:", e, [g for g in got if g[0] == e[0] and g[1] == e[1]])
    for sub, n in (("cust-broad", 0), ("cust-broad6", 0), ("cust-net", 3)):
        got_n = spfpass(rrd, sub)
        check(got_n == n, "broad: smtp_spfpass of %s = %d (got %s)" % (sub, n, got_n))
    check(re.search(r"spf: asked=\d+ pass=3 .* broad=7 ", p.stderr) is not None,
          "broad: the stats line counts 3 pass, 7 broad")
    for sub, nb in (("cust-broad", 4), ("cust-broad6", 3)):
        da = direct_alerts(alerts, sub)
        check(len(da) == 1 and da[0].get("spf_broad") == nb and da[0].get("spf_pass") == 0,
              "broad: %s's smtp_direct carries spf_broad=%d spf_pass=0 (%s)"
              % (sub, nb, [(a.get("spf_broad"), a.get("spf_pass")) for a in da]))
    dn = direct_alerts(alerts, "cust-net")
    check(len(dn) == 1 and dn[0].get("spf_pass") == 3 and dn[0].get("spf_broad") == 0,
          "broad: cust-net's smtp_direct carries spf_pass=3 spf_broad=0")

    p, rrd, alerts, _ = run(write_setup(work, dns.port, "exempt"), pcap, work, "broad-exempt")
    no_crash(p, "broad exempt")
    check(len(direct_alerts(alerts, "cust-broad")) == 1 and len(direct_alerts(alerts, "cust-broad6")) == 1,
          "broad exempt: cust-broad and cust-broad6 (+all, /1, /3) are not exempted")
    check(not direct_alerts(alerts, "cust-net"), "broad exempt: cust-net (a /24) is exempted")


def phased_capture(prefix1, prefix2, n, background):
    """Two phases of n sessions each (domains prefix1-i, prefix2-i), in
    steps 1 and 2, each with background UDP packets; returns the pcap's
    bytes split at the phase boundary."""
    buf = io.BytesIO()
    w = Writer(buf)
    t = T0 + 1
    for i in range(n):
        t = w.smtp(t, A, "198.51.100.%d" % (i + 1), smtp_plain("host-a.cust.test", mail("x", "%s-%d.example" % (prefix1, i))))
    t = w.udp_burst(t, A, "203.0.113.9", background, gap=0.0002)
    cut = buf.tell()
    t = T0 + STEP + 1
    for i in range(n):
        t = w.smtp(t, A, "198.51.100.%d" % (i + 101), smtp_plain("host-a.cust.test", mail("y", "%s-%d.example" % (prefix2, i))))
    t = w.udp_burst(t, A, "203.0.113.9", background, gap=0.0002)
    data = buf.getvalue()
    return data[:cut], data[cut:], w.packets


def run_phased(conf, work, tag, part1, part2, between):
    """spanwatch -r - fed part1, then between(pid) once the helper has had
    time to answer, then part2."""
    rrd = os.path.join(work, "rrd-" + tag)
    os.makedirs(rrd, exist_ok=True)
    err = open(os.path.join(work, "stderr-%s.log" % tag), "w+")
    p = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "-v", "-c", conf, "-r", "-", "-o", rrd,
                          "--alerts-json", os.path.join(work, "alerts-%s.json" % tag), "--no-syslog"],
                         stdin=subprocess.PIPE, stderr=err)
    p.stdin.write(part1)
    p.stdin.flush()
    time.sleep(2.0)
    info = between(p.pid)
    t = time.monotonic()
    p.stdin.write(part2)
    p.stdin.close()
    rc = p.wait(timeout=120)
    wall = time.monotonic() - t
    err.seek(0)
    return rc, err.read(), info, wall


def helper_of(pid):
    """The pid of pid's SPF helper, and its status lines."""
    for c in os.listdir("/proc"):
        if not c.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % c) as fp:
                ppid = int(fp.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % c, "rb") as fp:
                cmd = fp.read()
        except OSError:
            continue
        if ppid == pid and b"--spf-helper" in cmd:
            with open("/proc/%s/status" % c) as fp:
                return int(c), dict(l.rstrip("\n").split(":\t", 1) for l in fp if ":\t" in l)
    return None, {}


def test_dead_resolver(work, dns):
    conf = write_setup(work, dns.port, "annotate", max_sessions=1000)
    part1, part2, npk = phased_capture("p", "q", 6, 20000)
    rc, err, _, wall = run_phased(conf, work, "dead", part1, part2, lambda pid: dns.pause())
    dns.resume()
    no_crash(subprocess.CompletedProcess([], rc, "", err), "dead resolver")
    got = verdicts(err)
    check(sum(1 for g in got if g[1].startswith("p-") and g[3] == "pass") == 6,
          "dead resolver: the 6 verdicts before it stopped are pass")
    q = [g[3] for g in got if g[1].startswith("q-")]
    check(len(q) == 6 and set(q) == {"temperror"}, "dead resolver: the 6 after are temperror (%s)" % q)
    check(summary_packets(err) == npk, "dead resolver: every packet counted (%d of %d)" % (summary_packets(err), npk))
    print("     dead resolver: second half (6 sessions, 20000 packets) read in %.2f s" % wall)


def test_helper_killed(work, dns):
    conf = write_setup(work, dns.port, "annotate", max_sessions=1000)
    part1, part2, npk = phased_capture("k", "r", 5, 2000)

    def kill(pid):
        hp, st = helper_of(pid)
        if hp:
            os.kill(hp, signal.SIGKILL)
        return hp, st

    rc, err, (hp, st), _ = run_phased(conf, work, "killed", part1, part2, kill)
    no_crash(subprocess.CompletedProcess([], rc, "", err), "helper killed")
    check(hp is not None, "helper killed: the helper was found (pid %s)" % hp)
    if st:
        check(st.get("Uid", "").split()[:1] == ["65534"] and st.get("CapEff", "") == "0000000000000000",
              "helper killed: it ran as nobody with no capabilities (Uid %s)" % st.get("Uid"))
    check(re.search(r"spf: helper \(pid %s\) .*killed by signal 9.*restarting" % hp, err) is not None,
          "helper killed: its death is logged")
    check(len(re.findall(r"spf: helper started", err)) == 2, "helper killed: started again")
    got = verdicts(err)
    check(sum(1 for g in got if g[3] == "pass") == 10, "helper killed: all 10 verdicts are pass (%d)" %
          sum(1 for g in got if g[3] == "pass"))
    check(summary_packets(err) == npk, "helper killed: every packet counted")


def test_rate(work, dns):
    """The same capture: SPF off, a healthy resolver, a dead one."""
    pcap = os.path.join(work, "rate.pcap")
    npk = rate_capture(pcap, 20)
    rows = []
    for tag, spf, dead in (("off", "off", False), ("healthy", "annotate", False), ("deadrate", "annotate", True)):
        conf = write_setup(work, dns.port, spf, max_sessions=1000)
        if dead:
            dns.pause()
        p, _, _, wall = run(conf, pcap, work, tag)
        if dead:
            dns.resume()
        no_crash(p, "rate " + tag)
        n = summary_packets(p.stderr)
        check(n == npk, "rate %s: every packet counted (%d of %d)" % (tag, n, npk))
        res = sorted(set(g[3] for g in verdicts(p.stderr)))
        rows.append((tag, wall, n / wall if wall else 0, res))
    for tag, wall, pps, res in rows:
        print("     rate %-9s %6.2f s  %9.0f packets/s  verdicts %s" % (tag, wall, pps, ",".join(res) or "-"))


def rate_capture(path, first, per_step=60000):
    """5 steps, each 4 SMTP sessions (fresh domains from q-first on) and
    per_step UDP packets. Returns the number of packets."""
    with open(path, "wb") as fp:
        w = Writer(fp)
        for s in range(5):
            t = T0 + s * STEP + 1
            for i in range(4):
                t = w.smtp(t, A, "198.51.100.%d" % (i + 1),
                           smtp_plain("host-a.cust.test", mail("z", "q-%d.example" % (first + s * 4 + i))))
            w.udp_burst(t, A, "203.0.113.9", per_step, gap=0.0005)
        return w.packets


def test_live(work):
    """Live capture over a veth pair, resolver healthy, then stopped."""
    if os.geteuid() != 0 or shutil.which("tcpreplay") is None or shutil.which("ip") is None:
        print("     live: skipped (needs root, ip and tcpreplay)")
        return
    tag = "swspf%d" % (os.getpid() % 10000)
    ns_gen, ns_sw = tag + "g", tag + "s"

    def sh(*args):
        return subprocess.run(list(args), check=True, capture_output=True, text=True)

    def nsx(*args):
        return ["ip", "netns", "exec", ns_sw] + list(args)

    dns = None
    try:
        sh("ip", "netns", "add", ns_gen)
        sh("ip", "netns", "add", ns_sw)
        sh("ip", "link", "add", tag + "a", "netns", ns_gen, "type", "veth", "peer", "name", tag + "b",
           "netns", ns_sw)
        for ns, dev, addr in ((ns_gen, tag + "a", "198.18.10.1/30"), (ns_sw, tag + "b", "198.18.10.2/30")):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        pcap = os.path.join(work, "live.pcap")
        npk = rate_capture(pcap, 0, per_step=20000)
        os.chmod(work, 0o755)
        bh = subprocess.Popen(nsx("/usr/bin/python3", "-c", "import socket\ns=socket.socket(socket.AF_INET,"
                                  "socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',0))\nprint(s.getsockname()[1],"
                                  "flush=True)\nwhile True: s.recv(9999)"), stdout=subprocess.PIPE, text=True)
        dns = Dns(work, int(bh.stdout.readline()), prefix=nsx())
        rows = []
        for phase in ("healthy", "dead"):
            conf = write_setup(work, dns.port, "annotate", max_sessions=1000)
            err = open(os.path.join(work, "stderr-live-%s.log" % phase), "w+")
            rrd = os.path.join(work, "rrd-live-" + phase)
            os.makedirs(rrd, exist_ok=True)
            sw = subprocess.Popen(nsx(os.path.join(SW_BIN, "spanwatch"), "-v", "-c", conf, "-i", tag + "b",
                                      "-o", rrd, "--no-syslog"), stderr=err)
            time.sleep(1.5)
            if phase == "dead":
                dns.pause()
            t = time.monotonic()
            sh("ip", "netns", "exec", ns_gen, "tcpreplay", "-q", "-i", tag + "a", "--pps", "25000", pcap)
            send = time.monotonic() - t
            time.sleep(3.0 if phase == "healthy" else 6.0)
            sw.send_signal(signal.SIGTERM)
            rc = sw.wait(timeout=60)
            dns.resume()
            err.seek(0)
            text = err.read()
            m = re.search(r"summary packets=(\d+) .* drops=(\d+)", text)
            n, drops = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
            res = sorted(set(g[3] for g in verdicts(text)))
            check(rc == 0, "live %s: exit 0 after SIGTERM (got %d)" % (phase, rc))
            check(n == npk and drops == 0, "live %s: every packet counted, none dropped (%d of %d, drops %d)"
                  % (phase, n, npk, drops))
            check(res == (["pass"] if phase == "healthy" else ["temperror"]),
                  "live %s: verdicts %s" % (phase, res))
            rows.append((phase, send, n, drops, res))
        for phase, send, n, drops, res in rows:
            print("     live %-8s %d packets sent in %.2f s (%.0f packets/s), %d counted, %d dropped, "
                  "verdicts %s" % (phase, npk, send, npk / send, n, drops, ",".join(res)))
        bh.kill()
    finally:
        if dns:
            dns.stop()
        for ns in (ns_gen, ns_sw):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main():
    if shutil.which("dnsmasq") is None:
        print("SKIP: dnsmasq is not installed")
        return 77
    work = tempfile.mkdtemp(prefix="sw-spf-")
    bh = BlackHole()
    bh.start()
    dns = None
    try:
        dns = Dns(work, bh.port)
        test_results(work, dns)
        test_broad(work, dns)
        test_dead_resolver(work, dns)
        test_helper_killed(work, dns)
        if VARIANT == "opt":
            test_rate(work, dns)
            test_live(work)
    finally:
        if dns:
            dns.stop()
    if failures:
        print("%d failed; files in %s" % (len(failures), work))
        return 1
    if not os.environ.get("SW_SPF_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
