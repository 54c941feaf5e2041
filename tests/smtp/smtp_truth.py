"""smtp_truth.py -- spanwatch's SMTP counters and alerts on a generated
capture against the generator's ground truth (tests/gen: spanwatch-gen
writes, per subscriber and step, SMTP sessions by class and recipients,
and names its spam bots).

  - per subscriber, over the run: smtp_direct = auth + unauth + tls
    sessions, smtp_unauth, smtp_tls, smtp_rcpt equal the truth exactly;
  - per subscriber and step: smtp_direct and smtp_rcpt equal the truth in
    every step (both are counted when they happen: a session's first
    packet, each RCPT);
  - sensor.rrd smtp_sess = every session to an SMTP port, relay or not;
  - every bot gets an smtp_direct alert; nobody else gets any SMTP alert
    (no smtp_direct, no smtp_surge), the exempt MTA included.

Usage: smtp_truth.py [WORKDIR]; env SW_BIN, TOP. Exit 0, 77 skip, 1 fail.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SW_BIN = os.environ.get("SW_BIN", os.path.join(TOP, "bin"))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402

STEP = 60
# Long enough for a bot to pass the default maxima several times over,
# small enough for a test (a few hundred MB, under a second to write).
GEN_ARGS = ["--subscribers", "100", "--duration", "900", "--rate", "300",
            "--mail-interval", "300", "--bots", "2", "--exempt", "1"]
# (seed, extra options): a plain Ethernet capture and a PPPoE one.
SEEDS = [(11, []), (12, ["--pppoe"])]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def read_truth(path):
    comments, rows = gentruth.read(path)
    return gentruth.meta(comments), rows


def fetch(path, start, end):
    """{step_end: {ds: amount}} of one file."""
    out = subprocess.run(["rrdtool", "fetch", path, "AVERAGE", "-r", str(STEP),
                          "-s", str(start), "-e", str(end)],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    names = out[0].split()
    res = {}
    for line in out[1:]:
        if ":" not in line:
            continue
        ts, vals = line.split(":", 1)
        d = {}
        for n, v in zip(names, vals.split()):
            d[n] = 0 if v.lower() in ("nan", "-nan") else int(round(float(v) * STEP))
        res[int(ts)] = d
    return res


def check_seed(work, seed, extra):
    cap = os.path.join(work, "cap.pcap")
    truth = os.path.join(work, "truth.tsv")
    conf = os.path.join(work, "conf")
    subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", cap, "--truth", truth,
                    "--conf-dir", conf, "--seed", str(seed)] + GEN_ARGS + extra, check=True)
    meta, rows = read_truth(truth)
    bots = set(meta.get("bots", "").split(",")) - {""}
    exempt = set(meta.get("exempt", "").split(",")) - {""}
    rrd = os.path.join(work, "rrd")
    alerts_path = os.path.join(work, "alerts.json")
    shutil.rmtree(rrd, ignore_errors=True)
    if os.path.exists(alerts_path):
        os.unlink(alerts_path)
    r = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-c", os.path.join(conf, "spanwatch.conf"),
                        "-r", cap, "-o", rrd, "--alerts-json", alerts_path, "--no-syslog", "-v"],
                       capture_output=True, text=True)
    for line in r.stderr.splitlines():
        if "smtp" in line or "summary" in line:
            print("   ", line)
    if r.returncode != 0:
        fail("seed %d: spanwatch exit %d: %s" % (seed, r.returncode, r.stderr[-2000:]))
        return
    os.unlink(cap)

    # Truth by subscriber, and by (subscriber, step end).
    tot, per_step, sess = {}, {}, {}
    for row in rows:
        sub, t = row["subscriber"], int(row["step"])
        v = {"smtp_direct": int(row["smtp_direct_auth"]) + int(row["smtp_direct_unauth"]) +
             int(row["smtp_direct_tls"]),
             "smtp_unauth": int(row["smtp_direct_unauth"]),
             "smtp_tls": int(row["smtp_direct_tls"]),
             "smtp_rcpt": int(row["smtp_rcpt"])}
        a = tot.setdefault(sub, dict.fromkeys(v, 0))
        for k in v:
            a[k] += v[k]
        per_step[(sub, t + STEP)] = v
        sess[t + STEP] = sess.get(t + STEP, 0) + v["smtp_direct"] + int(row["smtp_relay"])
    start = int(meta["start"]) - 2 * STEP
    end = int(meta["start"]) + 900 + 20 * STEP

    # Sessions the truth calls tls that cannot have reached STARTTLS (a
    # banner refusal is 2-3 client packets after the handshake): only to
    # explain a mismatch, never to excuse one.
    refused_tls = {}
    for row in gentruth.read(os.path.join(work, "truth.flows.tsv"))[1]:
        if row.get("class") == "tls" and int(row.get("c2s_pkts", 99)) <= 6:
            refused_tls[row["subscriber"]] = refused_tls.get(row["subscriber"], 0) + 1

    subs_dir = os.path.join(rrd, "subscribers")
    names = sorted(set(tot) | {f[:-4] for f in os.listdir(subs_dir)})
    bad = 0
    for sub in names:
        want = tot.get(sub, {"smtp_direct": 0, "smtp_unauth": 0, "smtp_tls": 0, "smtp_rcpt": 0})
        path = os.path.join(subs_dir, sub + ".rrd")
        series = fetch(path, start, end) if os.path.exists(path) else {}
        got = {k: sum(d.get(k, 0) for d in series.values()) for k in want}
        if got != want:
            bad += 1
            fail("seed %d %s: spanwatch %s, truth %s" % (seed, sub, got, want))
            short = refused_tls.get(sub, 0)
            if short and got["smtp_unauth"] - want["smtp_unauth"] == short == want["smtp_tls"] - got["smtp_tls"]:
                print("    (the difference is the %d sessions the truth calls tls whose server refused "
                      "at the banner (554) before any STARTTLS: per SPEC they are unauth; "
                      "see tests/gen/pl_smtp.c smtp_bot_spawn)" % short)
        for ts, d in series.items():
            w = per_step.get((sub, ts), {"smtp_direct": 0, "smtp_rcpt": 0})
            for k in ("smtp_direct", "smtp_rcpt"):
                if d[k] != w[k]:
                    bad += 1
                    fail("seed %d %s step %d: %s %d, truth %d" % (seed, sub, ts, k, d[k], w[k]))
    total = {k: sum(t[k] for t in tot.values()) for k in ("smtp_direct", "smtp_unauth", "smtp_tls", "smtp_rcpt")}
    print("  seed %d: %d subscribers with SMTP, totals %s, %d mismatches"
          % (seed, sum(1 for t in tot.values() if any(t.values())), total, bad))
    sensor = fetch(os.path.join(rrd, "sensor.rrd"), start, end)
    got_sess = sum(d["smtp_sess"] for d in sensor.values())
    if got_sess != sum(sess.values()):
        fail("seed %d: smtp_sess %d, truth %d" % (seed, got_sess, sum(sess.values())))

    alerts = []
    if os.path.exists(alerts_path):
        with open(alerts_path) as f:
            alerts = [json.loads(line) for line in f if line.strip()]
    smtp_alerts = [a for a in alerts if str(a.get("alert", "")).startswith("smtp_")]
    alerted = {a["subscriber"] for a in smtp_alerts if a["alert"] == "smtp_direct"}
    for b in sorted(bots):
        if b not in alerted:
            fail("seed %d: bot %s got no smtp_direct alert" % (seed, b))
    for a in smtp_alerts:
        if a["alert"] != "smtp_direct" or a["subscriber"] not in bots:
            fail("seed %d: alert for a non-bot: %s" % (seed, json.dumps(a, sort_keys=True)))
    for a in smtp_alerts[:4]:
        print("    alert", json.dumps(a, sort_keys=True))
    if exempt & alerted:
        fail("seed %d: exempt %s alerted" % (seed, exempt & alerted))
    shutil.rmtree(rrd, ignore_errors=True)


def main():
    for prog in ("spanwatch", "spanwatch-gen"):
        if not os.access(os.path.join(SW_BIN, prog), os.X_OK):
            print("%s not built in %s" % (prog, SW_BIN))
            return 77
    if shutil.which("rrdtool") is None:
        print("rrdtool not installed")
        return 77
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="sw-smtp-truth-")
    try:
        for seed, extra in SEEDS:
            check_seed(work, seed, extra)
    finally:
        if len(sys.argv) <= 1:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("SMTP counters equal the truth; every bot alerted, nobody else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
