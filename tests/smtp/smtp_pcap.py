"""smtp_pcap.py -- spanwatch's SMTP counters over the corpus's SMTP
captures (../shared/pcap/ndpi/*smtp*) against tshark, an independent
oracle.

For each capture the client of every SMTP connection (the SYN's sender, or
the first packet's sender towards the SMTP port) is made a subscriber, the
sensor writes its RRD files, and rrdtool fetch reads them back:

  smtp_direct   connections to the SMTP port (no relay configured)
  smtp_rcpt     RCPT commands tshark decodes (retransmissions left out)
  smtp_tls      connections where TLS started: a ClientHello from the
                client (after an accepted STARTTLS, or from the first
                byte as on port 465)
  smtp_unauth   the others, less those tshark saw the client's AUTH and a
                235 in (a 235 answering no AUTH authenticates nothing)
  sensor smtp_sess = the connections

Then the same capture with the server as a configured relay (no direct
session, no recipients counted, smtp_sess unchanged), and with thresholds
low enough that every direct session trips smtp_direct, whose alert JSON
must carry the counts and the latest session's EHLO name and sender domain.
Exit 0 pass, 77 skip (no corpus), 1 fail.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SW_BIN = os.environ.get("SW_BIN", os.path.join(TOP, "bin"))
SHARED = os.environ.get("SHARED", os.path.join(TOP, "..", "shared"))
CORPUS = os.path.join(SHARED, "pcap", "ndpi")
STEP = 60
PORTS = (25, 465, 587)

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def tshark(path, fields, yfilter=None):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    if yfilter:
        cmd += ["-Y", yfilter]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def ip_of(row_src, row_src6):
    return row_src or row_src6


def oracle(path):
    """tshark's view: per TCP stream towards an SMTP port."""
    port_f = " || ".join("tcp.port == %d" % p for p in PORTS)
    rows = tshark(path, ["tcp.stream", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
                         "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
                         "frame.time_epoch"], port_f)
    streams = {}
    for st, s4, s6, d4, d6, sp, dp, syn, ack, ts in rows:
        src, dst = ip_of(s4, s6), ip_of(d4, d6)
        first = st not in streams
        if syn in ("1", "True") and ack in ("0", "False"):
            streams[st] = {"client": src, "server": dst, "port": int(dp), "syn": True}
        elif first:
            if int(dp) in PORTS:
                streams[st] = {"client": src, "server": dst, "port": int(dp), "syn": False}
            else:
                streams[st] = {"client": dst, "server": src, "port": int(sp), "syn": False}
        s = streams[st]
        s.setdefault("first", float(ts))
        s["last"] = float(ts)
    for s in streams.values():
        s.update(rcpt=0, auth=False, auth_cmd=False, tls=False, helo="", from_domain="")
    nort = "!tcp.analysis.retransmission && !tcp.analysis.duplicate_ack"
    for st, cmds, params in tshark(path, ["tcp.stream", "smtp.req.command", "smtp.req.parameter"],
                                   "smtp.req && " + nort):
        if st not in streams:
            continue
        cl, pl = cmds.split(","), params.split(",")
        for i, c in enumerate(cl):
            c = c.upper()
            p = pl[i] if i < len(pl) else ""
            if c == "RCPT":
                streams[st]["rcpt"] += 1
            elif c in ("EHLO", "HELO"):
                streams[st]["helo"] = p.split(" ")[0]
            elif c == "AUTH":
                streams[st]["auth_cmd"] = True
            elif c == "MAIL" and "@" in p:
                streams[st]["from_domain"] = p.split("@")[-1].split(">")[0].lower()
    for st, codes in tshark(path, ["tcp.stream", "smtp.response.code"], "smtp.response && " + nort):
        if st in streams and "235" in codes.split(",") and streams[st]["auth_cmd"]:
            streams[st]["auth"] = True
    for st, src, src6 in tshark(path, ["tcp.stream", "ip.src", "ipv6.src"], "tls.handshake.type == 1"):
        if st in streams and ip_of(src, src6) == streams[st]["client"]:
            streams[st]["tls"] = True
    return streams


def fetch(path, start, end):
    """Sum of every data source over [start, end], as amounts."""
    out = subprocess.run(["rrdtool", "fetch", path, "AVERAGE", "-r", str(STEP),
                          "-s", str(start), "-e", str(end)],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    names = out[0].split()
    tot = dict.fromkeys(names, 0.0)
    for line in out[1:]:
        if ":" not in line:
            continue
        vals = line.split(":", 1)[1].split()
        for n, v in zip(names, vals):
            if v.lower() not in ("nan", "-nan"):
                tot[n] += float(v) * STEP
    return {k: int(round(v)) for k, v in tot.items()}


def run_sensor(work, cap, subs, conf_lines, tag):
    rrd = os.path.join(work, "rrd-" + tag)
    alerts = os.path.join(work, "alerts-" + tag + ".json")
    conf = os.path.join(work, tag + ".conf")
    with open(conf, "w") as f:
        f.write("[smtp]\nports = %s\n" % ", ".join(str(p) for p in PORTS))
        for line in conf_lines:
            f.write(line + "\n")
    cmd = [os.path.join(SW_BIN, "spanwatch"), "-c", conf, "-r", cap, "-S", subs, "-o", rrd,
           "--step", str(STEP), "--alerts-json", alerts, "--no-syslog", "-v"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s [%s]: spanwatch exit %d: %s" % (cap, tag, r.returncode, r.stderr[-2000:]))
        return None, []
    for line in r.stderr.splitlines():
        if "smtp:" in line:
            print("   ", line)
    got = []
    if os.path.exists(alerts):
        with open(alerts) as f:
            got = [json.loads(line) for line in f if line.strip()]
    return rrd, got


def check_capture(work, cap):
    streams = oracle(cap)
    if not streams:
        print("  %s: no SMTP connection, nothing to check" % os.path.basename(cap))
        return
    clients = sorted({s["client"] for s in streams.values()})
    subs = os.path.join(work, "subscribers.txt")
    names = {}
    with open(subs, "w") as f:
        for i, c in enumerate(clients):
            names[c] = "cust-%d" % i
            f.write("%s/%d %s\n" % (c, 128 if ":" in c else 32, names[c]))
    start = int(min(s["first"] for s in streams.values())) - 2 * STEP
    end = int(max(s["last"] for s in streams.values())) + 10 * STEP
    base = os.path.basename(cap)

    def expect(tag, relay):
        rrd, alerts = run_sensor(work, cap, subs, ["relays = " + " ".join(sorted(
            {s["server"] for s in streams.values()}))] if relay else [], tag)
        if rrd is None:
            return
        sess = fetch(os.path.join(rrd, "sensor.rrd"), start, end)["smtp_sess"]
        if sess != len(streams):
            fail("%s [%s]: smtp_sess %d, tshark %d" % (base, tag, sess, len(streams)))
        for c in clients:
            mine = [s for s in streams.values() if s["client"] == c]
            want = {"smtp_direct": 0, "smtp_unauth": 0, "smtp_tls": 0, "smtp_rcpt": 0}
            if not relay:
                want["smtp_direct"] = len(mine)
                want["smtp_tls"] = sum(1 for s in mine if s["tls"] and not s["auth"])
                want["smtp_unauth"] = sum(1 for s in mine if not s["tls"] and not s["auth"])
                want["smtp_rcpt"] = sum(s["rcpt"] for s in mine)
            got = fetch(os.path.join(rrd, "subscribers", names[c] + ".rrd"), start, end)
            for k, v in want.items():
                status = "ok" if got[k] == v else "MISMATCH"
                print("  %-14s %-6s %-8s %-12s spanwatch %4d  tshark %4d  %s"
                      % (base, tag, names[c], k, got[k], v, status))
                if got[k] != v:
                    fail("%s [%s] %s: %s %d, tshark %d" % (base, tag, names[c], k, got[k], v))
        if alerts:
            fail("%s [%s]: unexpected alerts %s" % (base, tag, alerts))

    expect("direct", False)
    expect("relay", True)

    # Thresholds every direct session passes: one smtp_direct alert per
    # client, carrying what tshark saw.
    rrd, alerts = run_sensor(work, cap, subs, ["max_sessions = 1", "max_mx = 1", "max_rcpt = 1",
                                               "window = 1d"], "alert")
    if rrd is None:
        return
    for c in clients:
        mine = [s for s in streams.values() if s["client"] == c]
        rcpt = sum(s["rcpt"] for s in mine)
        unauth = sum(1 for s in mine if not s["tls"] and not s["auth"])
        if len(mine) < 2 and rcpt < 2 and unauth < 2:
            continue        # nothing passes a maximum of 1
        got = [a for a in alerts if a.get("alert") == "smtp_direct" and a.get("subscriber") == names[c]]
        if not got:
            fail("%s: no smtp_direct alert for %s (%s)" % (base, names[c], alerts))
            continue
        a = got[-1]
        print("  %-14s alert  %s" % (base, json.dumps(a, sort_keys=True)))
        if str(a.get("ip")) != c:
            fail("%s: alert ip %s, want %s" % (base, a.get("ip"), c))
        # The first alert comes when the first maximum is passed; the
        # counts then are at most the totals.
        if int(a.get("rcpt", -1)) > rcpt or int(a.get("sessions", -1)) > unauth:
            fail("%s: alert counts beyond tshark's: %s" % (base, a))
        last = max(mine, key=lambda s: s["first"])
        if last["helo"] and "helo" in a and a["helo"] != last["helo"]:
            fail("%s: alert helo %r, tshark %r" % (base, a["helo"], last["helo"]))
        if last["from_domain"] and a.get("from_domain") not in (None, last["from_domain"]):
            fail("%s: alert from_domain %r, tshark %r" % (base, a.get("from_domain"), last["from_domain"]))
    bad = [a for a in alerts if a.get("alert") not in ("smtp_direct",)]
    if bad:
        fail("%s: unexpected alerts %s" % (base, bad))


def main():
    if not os.path.isdir(CORPUS):
        print("no corpus at %s" % CORPUS)
        return 77
    caps = sorted(p for p in glob.glob(os.path.join(CORPUS, "*"))
                  if "smtp" in os.path.basename(p).lower())
    if not caps:
        print("no SMTP capture in %s" % CORPUS)
        return 77
    for tool in ("tshark", "rrdtool"):
        if shutil.which(tool) is None:
            print("%s not installed" % tool)
            return 77
    work = tempfile.mkdtemp(prefix="sw-smtp-")
    try:
        for cap in caps:
            print("capture", cap)
            check_capture(work, cap)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all SMTP counters agree with tshark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
