#!/usr/bin/python3
"""Issue 5's real-client test: real mail servers (aiosmtpd), a real client
(swaks), spanwatch live on the wire and on tcpdump's capture of it.

The network, in namespaces made here (addresses in 198.18.0.0/15):

    subscribers ns                router ns                 internet ns
    198.18.1.10 bot           .254 [R]-----[U] .254       198.19.0.10:587 relay (AUTH)
    198.18.1.20 customer   [S]------'  forwards  '------[N] 198.19.0.21-.24:25 MX
    198.18.1.40 mailhost                                   198.19.0.25:25 MX with STARTTLS
                                                           198.19.0.30:587 outside submission

spanwatch (-i) and tcpdump (-w) both capture on R, the router's subscriber
side. What the subscribers do, each one swaks run:
  * bot: no AUTH, 2 sessions to each of 4 MX hosts, 4 recipients each, one
    of them refused by the MX (550): past max_sessions, max_mx, max_rcpt;
  * customer: AUTH LOGIN and AUTH PLAIN through the relay on 587 (not
    direct: it is in [smtp] relays); AUTH PLAIN to an outside submission
    server on 587 (direct, class auth); one STARTTLS session to an MX
    (direct, class tls, its recipients hidden);
  * mailhost ([smtp] exempt, its own MTA): 6 sessions without AUTH to 4 MX
    hosts, 5 recipients each: as much as a bot, counted, never alerted.
Checked, for the live run and for the run over the pcap alike:
  * each subscriber's smtp_direct, smtp_unauth, smtp_tls, smtp_rcpt totals
    (rrdtool) equal the count from swaks's own transcripts (sessions, what
    each ended as, plaintext RCPT commands), and that count equals what the
    aiosmtpd servers logged receiving (sessions, AUTH, RCPT, STARTTLS);
  * sensor.rrd smtp_sess counts every session, relay ones included;
  * the alerts are exactly one smtp_direct, for the bot, and nothing else;
  * live and pcap give the same counters and the same alerts.
Then (issue 15.3) the bot's real sessions from tcpdump's capture, re-timed
with scapy: the same burst twice, 20 s apart, every hour for 31 hours (a
routine: never smtp_surge, though 16 sessions pass the floor of 10), and
at hour 31 twelve copies 20 s apart (a change: exactly one smtp_surge,
for the bot, within a window of it); the flow count and smtp_direct
alerts in at least 16 hours show the bursts were seen.
Needs root (namespaces); SKIP without it or without swaks/aiosmtpd.
"""
import calendar
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import netns  # noqa: E402
import rrdsum  # noqa: E402
import swsummary  # noqa: E402

NET = netns.Topology("sm")
TAG = NET.tag
NS_SUB, NS_RTR, NS_NET = NET.sub, NET.rtr, NET.net
IF_S, IF_R, IF_U, IF_N = NET.if_s, NET.if_r, NET.if_u, NET.if_n

SUBS = {"bot": "198.18.1.10", "customer": "198.18.1.20", "mailhost": "198.18.1.40"}
RELAY = "198.19.0.10"
MX = ["198.19.0.21", "198.19.0.22", "198.19.0.23", "198.19.0.24"]
MX_TLS = "198.19.0.25"
SUBMIT = "198.19.0.30"          # someone else's submission server: not our relay
DS = ("smtp_direct", "smtp_unauth", "smtp_tls", "smtp_rcpt", "smtp_spfpass")

CONF = """\
[subscribers]
file = {work}/subscribers.txt
[smtp]
relays = {relay}
ports = 25, 587
exempt = mailhost
window = 5m
max_sessions = 4
max_mx = 3
max_rcpt = 12
# No SPF look-ups: the namespaces have no resolver, and none may be asked.
spf = off
[alerts]
holddown = 1h
[sensor]
name = realsmtp
"""

failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


sh, nsx = netns.sh, netns.nsx
wait_capturing = NET.wait_capturing
teardown = NET.teardown


def setup():
    NET.setup(list(SUBS.values()), [RELAY] + MX + [MX_TLS, SUBMIT])


def plan():
    """The swaks runs: (subscriber, server, port, extra options, recipients)."""
    runs = []
    for i in range(8):                      # the bot: 8 sessions, 4 MX, 32 RCPT
        rc = ["u%d.%d@victim%d.test" % (i, j, i % 4) for j in range(3)] + ["nouser%d@victim.test" % i]
        runs.append(("bot", MX[i % 4], 25, [], rc))
    runs.append(("customer", RELAY, 587, ["--auth", "LOGIN"], ["friend@far.test", "aunt@far.test"]))
    runs.append(("customer", RELAY, 587, ["--auth", "PLAIN"], ["boss@work.test"]))
    runs.append(("customer", SUBMIT, 587, ["--auth", "PLAIN"], ["me@elsewhere.test", "you@elsewhere.test"]))
    runs.append(("customer", MX_TLS, 25, ["--tls"], ["pen@pal.test", "pal@pal.test"]))
    for i in range(6):                      # the exempt MTA: 6 sessions, 4 MX, 30 RCPT
        runs.append(("mailhost", MX[i % 4], 25, [], ["list%d.%d@members.test" % (i, j) for j in range(5)]))
    return runs


def run_swaks(work, n, sub, server, port, extra, rcpts):
    args = ["swaks", "--server", server, "--port", str(port), "--local-interface", SUBS[sub],
            "--helo", sub + ".isp.test", "--from", "%s@isp.test" % sub, "--to", ",".join(rcpts),
            "--timeout", "10"] + extra
    if "--auth" in extra:
        args += ["--auth-user", "customer", "--auth-password", "s3cret"]
    r = subprocess.run(nsx(NS_SUB, *args), capture_output=True, text=True)
    with open(os.path.join(work, "swaks.%02d.txt" % n), "w") as fp:
        fp.write(r.stdout + r.stderr)
    return r.returncode, r.stdout + r.stderr


def transcript(out):
    """What one swaks session did, read from its transcript alone."""
    lines = out.splitlines()
    return {
        "connected": any(l.startswith("=== Connected to") for l in lines),
        "tls": any(l.startswith("=== TLS started") for l in lines),
        "auth": any(l.startswith(("<-  235", "<~  235")) for l in lines),
        "rcpt_plain": sum(1 for l in lines if l.startswith(" -> RCPT TO:")),
        "rcpt_tls": sum(1 for l in lines if l.startswith(" ~> RCPT TO:")),
        "queued": sum(1 for l in lines if l.startswith(("<-  250 2.0.0", "<~  250 2.0.0"))),
    }


def expected_from_swaks(runs, results):
    exp = {s: dict.fromkeys(DS, 0) for s in SUBS}
    sess = 0
    for (sub, server, port, extra, rcpts), t in zip(runs, results):
        if not t["connected"]:
            continue
        sess += 1
        if server == RELAY:
            continue
        e = exp[sub]
        e["smtp_direct"] += 1
        if t["tls"]:
            e["smtp_tls"] += 1
        elif not t["auth"]:
            e["smtp_unauth"] += 1
        e["smtp_rcpt"] += t["rcpt_plain"]
    return exp, sess


def expected_from_servers(path):
    """The same figures, from what the aiosmtpd servers logged."""
    byaddr = {a: s for s, a in SUBS.items()}
    relay_srv = "relay"
    sessions = {}                       # (srv, peer, pport) -> facts
    for line in open(path):
        ev = json.loads(line)
        k = (ev["srv"], ev["peer"], ev["pport"])
        f = sessions.setdefault(k, {"tls": False, "auth": False, "rcpt_plain": 0, "rcpt_tls": 0,
                                    "auth_mechs": [], "data": 0})
        if ev["tls"]:
            f["tls"] = True
        if ev["ev"] == "auth" and ev["ok"]:
            f["auth"] = True
            f["auth_mechs"].append(ev["mech"])
        if ev["ev"] == "rcpt":
            f["rcpt_tls" if ev["tls"] else "rcpt_plain"] += 1
        if ev["ev"] == "data":
            f["data"] += 1
    exp = {s: dict.fromkeys(DS, 0) for s in SUBS}
    relay_auth = []
    for (srv, peer, _), f in sessions.items():
        if srv == relay_srv:
            relay_auth += [(byaddr.get(peer), m) for m in f["auth_mechs"]]
            continue
        e = exp[byaddr[peer]]
        e["smtp_direct"] += 1
        if f["tls"]:
            e["smtp_tls"] += 1
        elif not f["auth"]:
            e["smtp_unauth"] += 1
        e["smtp_rcpt"] += f["rcpt_plain"]
    return exp, len(sessions), sorted(relay_auth), sum(f["rcpt_tls"] for f in sessions.values())


def rrd_counts(rrd):
    got = {}
    for s in SUBS:
        p = os.path.join(rrd, "subscribers", s + ".rrd")
        t = rrdsum.totals(p, end=int(time.time()) + 120) if os.path.exists(p) else {}
        got[s] = {d: int(round(t.get(d, 0.0))) for d in DS}
    p = os.path.join(rrd, "sensor.rrd")
    t = rrdsum.totals(p, end=int(time.time()) + 120) if os.path.exists(p) else {}
    return got, int(round(t.get("smtp_sess", 0.0)))


def read_alerts(path):
    res = []
    if os.path.exists(path):
        for line in open(path):
            if line.strip():
                a = json.loads(line)
                res.append((a.get("alert"), a.get("subscriber"), a.get("ip")))
    return sorted(res)


def judge(label, rrd, alerts_path, exp, sess):
    got, smtp_sess = rrd_counts(rrd)
    for s in SUBS:
        check(got[s] == exp[s], "%s: %s RRD SMTP counters %s, expected %s" % (label, s, got[s], exp[s]))
    check(smtp_sess == sess, "%s: sensor.rrd smtp_sess %d, expected %d (every session)" % (label, smtp_sess, sess))
    alerts = read_alerts(alerts_path)
    check(alerts == [("smtp_direct", "bot", SUBS["bot"])],
          "%s: alerts %s, expected exactly one smtp_direct for bot" % (label, alerts))
    return got, alerts


def retimed(work, pcap, conf):
    """The bot's sessions in pcap as an hourly routine, then a change."""
    from scapy.all import IP, TCP, rdpcap, wrpcap
    bot = SUBS["bot"]
    pkts = [p for p in rdpcap(pcap) if IP in p and TCP in p and bot in (p[IP].src, p[IP].dst)]
    sessions = len({p[TCP].sport for p in pkts if p[IP].src == bot and p[TCP].flags & 0x12 == 0x02})
    t0 = float(pkts[0].time)
    base = (int(t0) // 3600 - 40) * 3600 + 600       # 10 past an hour, in the past
    out, ports = [], {}
    plan = [(h, j) for h in range(31) for j in range(2)] + [(31, j) for j in range(12)]
    for h, j in plan:
        for p in pkts:
            q = p.copy()
            out_dir = q[IP].src == bot
            port = q[TCP].sport if out_dir else q[TCP].dport
            new = ports.setdefault((h, j, port), 10000 + len(ports))
            if out_dir:
                q[TCP].sport = new
            else:
                q[TCP].dport = new
            del q[IP].chksum
            del q[TCP].chksum
            q.time = base + h * 3600 + j * 20 + (float(p.time) - t0)
            out.append(q)
    out.sort(key=lambda q: q.time)
    path = os.path.join(work, "retimed.pcap")
    wrpcap(path, out)
    alerts_path = os.path.join(work, "alerts-retimed.json")
    r = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-c", conf, "-r", path, "-o",
                        os.path.join(work, "rrd-retimed"), "--no-syslog", "--alerts-json", alerts_path],
                       capture_output=True, text=True)
    check(r.returncode == 0, "retimed: spanwatch -r exits 0 (got %d)" % r.returncode)
    check(swsummary.of(r.stderr).get("flows") == str(sessions * len(plan)),
          "retimed: %d flows (%d bot sessions x %d copies), got %s"
          % (sessions * len(plan), sessions, len(plan), swsummary.of(r.stderr).get("flows")))
    alerts = [json.loads(l) for l in open(alerts_path) if l.strip()] if os.path.exists(alerts_path) else []
    surge = [a for a in alerts if a.get("alert") == "smtp_surge"]
    change = base + 31 * 3600
    ok = len(surge) == 1 and surge[0].get("subscriber") == "bot"
    if ok:
        ts = calendar.timegm(time.strptime(surge[0]["ts"], "%Y-%m-%dT%H:%M:%SZ"))
        ok = 0 <= ts - change <= 300
    check(ok, "retimed: one smtp_surge, for the bot, within 300 s of the change at hour 31, "
          "none for the 31 hours of routine (got %s)" % [(a.get("subscriber"), a.get("ts")) for a in surge])
    hours = {a["ts"][:13] for a in alerts if a.get("alert") == "smtp_direct"}
    # ([alerts] holddown = 1h: at least every other hour)
    check(len(hours) >= 16, "retimed: smtp_direct raised in %d distinct hours (>= 16: the bursts seen)"
          % len(hours))


def main():
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root")
        return 77
    # A runner that gives up sends SIGTERM: clean up as on any failure.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("swaks", "tcpdump", "rrdtool", "ip", "openssl"):
        if shutil.which(tool) is None:
            print("SKIP: %s is not installed (tests/install-deps.sh installs it)" % tool)
            return 77
    if "TLS not available" in subprocess.run(["swaks", "--support"], capture_output=True, text=True).stdout:
        print("SKIP: swaks has no STARTTLS: libnet-ssleay-perl is not installed (tests/install-deps.sh installs it)")
        return 77
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("SKIP: python3-aiosmtpd is not installed (tests/install-deps.sh installs it)")
        return 77
    work = tempfile.mkdtemp(prefix="sw-realsmtp-")
    procs = []
    try:
        setup()
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
           "-subj", "/CN=mx5.test", "-keyout", os.path.join(work, "key.pem"), "-out", os.path.join(work, "cert.pem"))
        with open(os.path.join(work, "subscribers.txt"), "w") as fp:
            fp.writelines("%s/32 %s\n" % (a, s) for s, a in SUBS.items())
        conf = os.path.join(work, "spanwatch.conf")
        with open(conf, "w") as fp:
            fp.write(CONF.format(work=work, relay=RELAY))
        # (-n alone says "nothing to read" when the file names no interface)
        sh(os.path.join(SW_BIN, "spanwatch"), "-n", "-c", conf, "-i", IF_R)

        evlog = os.path.join(work, "servers.jsonl")
        specs = ["relay:%s:587:relay" % RELAY, "submit:%s:587:relay" % SUBMIT,
                 "mxtls:%s:25:mxtls:%s:%s" % (MX_TLS, os.path.join(work, "cert.pem"), os.path.join(work, "key.pem"))]
        specs += ["mx%d:%s:25:mx" % (i + 1, a) for i, a in enumerate(MX)]
        srv = subprocess.Popen(nsx(NS_NET, "/usr/bin/python3", os.path.join(HERE, "mailservers.py"), evlog) + specs,
                               stdout=subprocess.PIPE, stderr=open(os.path.join(work, "servers.err"), "w"), text=True)
        procs.append(srv)
        check(srv.stdout.readline().strip() == "ready", "aiosmtpd servers started")

        pcap = os.path.join(work, "wire.pcap")
        tcpd_err = open(os.path.join(work, "tcpdump.err"), "w+")
        tcpd = subprocess.Popen(nsx(NS_RTR, "tcpdump", "-i", IF_R, "-s", "0", "-U", "-Z", "root", "-w", pcap),
                                stderr=tcpd_err)
        procs.append(tcpd)
        rrd_live = os.path.join(work, "rrd-live")
        live_alerts = os.path.join(work, "alerts-live.json")
        live_err = open(os.path.join(work, "spanwatch-live.err"), "w+")
        sw = subprocess.Popen(nsx(NS_RTR, os.path.join(SW_BIN, "spanwatch"), "-c", conf, "-i", IF_R,
                                  "-o", rrd_live, "--step", "20", "--no-syslog", "--alerts-json", live_alerts,
                                  "--flow-log", os.path.join(work, "flows-live.tsv")), stderr=live_err)
        procs.append(sw)
        check(wait_capturing([tcpd.pid, sw.pid]), "tcpdump and spanwatch capture on %s" % IF_R)

        runs = plan()
        results = []
        for n, r in enumerate(runs):
            rc, out = run_swaks(work, n, *r)
            t = transcript(out)
            results.append(t)
            check(rc == 0 and t["connected"] and t["queued"] == 1,
                  "swaks %02d %s -> %s:%d %s: exit %d, message queued" % (n, r[0], r[1], r[2], " ".join(r[3]), rc))
        time.sleep(1.0)

        # Stop the capture (tcpdump first, so that it has every packet spanwatch had).
        tcpd.send_signal(signal.SIGTERM)
        tcpd.wait(10)
        sw.send_signal(signal.SIGTERM)
        rc = sw.wait(30)
        check(rc == 0, "live spanwatch exits 0 after SIGTERM (got %d)" % rc)
        srv.send_signal(signal.SIGTERM)
        srv.wait(10)
        live_err.seek(0)
        lerr = live_err.read()
        lsum = swsummary.of(lerr)
        check(lsum.get("drops") == "0", "live: no drops (summary drops=%s)" % lsum.get("drops"))

        exp, sess = expected_from_swaks(runs, results)
        sexp, ssess, relay_auth, hidden = expected_from_servers(evlog)
        print("expected (swaks transcripts): %s, sessions %d" % (exp, sess))
        check(sexp == exp, "the servers' log agrees with swaks: %s" % sexp)
        check(ssess == sess, "the servers logged %d sessions, swaks ran %d" % (ssess, sess))
        check(relay_auth == [("customer", "LOGIN"), ("customer", "PLAIN")],
              "the relay accepted AUTH LOGIN and AUTH PLAIN from customer: %s" % relay_auth)
        check(hidden == 2, "the STARTTLS session's 2 recipients went inside TLS (%d)" % hidden)
        check(exp["bot"]["smtp_unauth"] > 4 and exp["bot"]["smtp_rcpt"] > 12,
              "the bot's traffic passes the maxima it must pass (sessions 4, MX 3, rcpt 12)")

        live_got, live_al = judge("live", rrd_live, live_alerts, exp, sess)

        rrd_pcap = os.path.join(work, "rrd-pcap")
        pcap_alerts = os.path.join(work, "alerts-pcap.json")
        r = subprocess.run(nsx(NS_RTR, os.path.join(SW_BIN, "spanwatch"), "-c", conf, "-r", pcap, "-o", rrd_pcap,
                               "--step", "20", "--no-syslog", "--alerts-json", pcap_alerts,
                               "--flow-log", os.path.join(work, "flows-pcap.tsv")),
                           capture_output=True, text=True)
        check(r.returncode == 0, "spanwatch -r on tcpdump's capture exits 0 (got %d)" % r.returncode)
        psum = swsummary.of(r.stderr)
        pcap_got, pcap_al = judge("pcap", rrd_pcap, pcap_alerts, exp, sess)
        check(live_got == pcap_got and live_al == pcap_al, "live and pcap runs agree")
        retimed(work, pcap, conf)
        for k in ("ip_packets", "ip_bytes", "flows"):
            check(lsum.get(k) == psum.get(k), "summary %s: live %s, pcap %s" % (k, lsum.get(k), psum.get(k)))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()
                p.wait()
        teardown()
        if failures and os.environ.get("SW_KEEP"):
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:        # again, where the runner's tail shows them
        print("failed: " + (f if len(f) < 240 else f[:240] + "..."))
    print("realsmtp: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
