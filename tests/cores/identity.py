#!/usr/bin/python3
"""identity.py -- issue 17: [capture] threads = N changes no figure and no
alert. Every packet of a subscriber goes to one worker, so its windows,
baselines and caches are whole, and N threads give what one gives.

Two generated captures (spanwatch-gen), each replayed from the file with
threads = 1, 2 and 4:
  * "day": 60 subscribers for 15 minutes, two spam bots, an exempt MTA,
    BitTorrent (plain, encrypted, DHT, allowlisted torrents), eDonkey;
  * "surge": 8 quiet subscribers for 40 hours, hourly and nightly routine
    senders and two switchers whose burst of direct sessions is an
    smtp_surge (issue 15.3's capture).
Checked:
  * every RRD file (each subscriber's and sensor.rrd), every data source
    in every step, is the same for N = 2 and 4 as for N = 1;
  * the alerts are the same (kind, subscriber, every field, packet time);
  * N = 1 equals the generator's truth: bytes_in, bytes_out,
    smtp_direct and smtp_rcpt of every subscriber in every step; every bot has smtp_direct, every switcher smtp_surge,
    and nobody else an SMTP alert;
  * SIGHUP storm: "day" with threads = 2 while the subscriber file is
    rewritten with its lines in another order (other ids, same names) and
    SIGHUP sent every 0.04 s: still the same figures and alerts as N = 1
    (no packet lost at a switch, no subscriber counted on two workers);
  * live over a veth pair in two network namespaces (root only), with
    threads = 1 and 2: tcpreplay sends a smaller capture at 3000 packets/s
    (paced so that nothing drops: each run must report drops=0); per
    subscriber, the RRD totals of both runs equal the truth and each
    other, and so do the alerts (kind, subscriber, fields; packet time is
    the replay's and differs).
Under ASan (SW_VARIANT=san) only "day" runs, at N = 1 and 2, with the
storm: the threaded path's memory is what that build checks.
Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402

STEP = 60
DAY = ["--seed", "5", "--subscribers", "60", "--duration", "900", "--rate", "300", "--bots", "2",
       "--exempt", "1", "--bt-share", "0.3", "--p2p-share", "0.05", "--mail-interval", "300"]
SURGE = ["--seed", "7", "--subscribers", "8", "--bots", "0", "--exempt", "0", "--routine", "4",
         "--switchers", "2", "--rate", "0.05", "--duration", str(40 * 3600)]
LIVE = ["--seed", "9", "--subscribers", "40", "--duration", "200", "--rate", "120", "--bots", "1",
        "--bt-share", "0.3", "--v6-share", "0.3", "--mail-interval", "200"]
LIVE_PPS = 3000
THREADS = (2, 4)
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)
    return ok


def gen(work, name, args):
    d = os.path.join(work, name)
    os.makedirs(d)
    pcap = os.path.join(d, "cap.pcap")
    subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth",
                    os.path.join(d, "truth.tsv"), "--conf-dir", d] + args, check=True, timeout=300)
    return d, pcap


def conf_with(d, n, extra=""):
    path = os.path.join(d, "t%d.conf" % n)
    with open(os.path.join(d, "spanwatch.conf")) as fp:
        text = fp.read()
    with open(path, "w") as fp:
        fp.write(text + "\n[capture]\nthreads = %d\n%s" % (n, extra))
    return path


def replay(d, pcap, n, tag, during=None):
    """spanwatch -r with threads = n into d/rrd-TAG; returns (rrd, alerts)."""
    rrd = os.path.join(d, "rrd-" + tag)
    js = os.path.join(d, "alerts-%s.json" % tag)
    shutil.rmtree(rrd, ignore_errors=True)
    if os.path.exists(js):
        os.unlink(js)
    cmd = [os.path.join(SW_BIN, "spanwatch"), "-c", conf_with(d, n), "-r", pcap, "-o", rrd,
           "--alerts-json", js, "--no-syslog", "-v"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    if during:
        during(proc)
    err = proc.communicate(timeout=600)[1]
    for line in err.splitlines():
        if line.startswith("summary") or "warning" in line:
            print("   ", line)
    check(proc.returncode == 0, "%s: spanwatch exit %d" % (tag, proc.returncode))
    if proc.returncode != 0:
        print(err[-3000:])
    return rrd, js, err


def rrd_steps(rrd):
    """{file: {step_end: {ds: amount}}} of every RRD file of a folder."""
    res = {"sensor.rrd": rrdsum.steps(os.path.join(rrd, "sensor.rrd"))}
    sd = os.path.join(rrd, "subscribers")
    for f in sorted(os.listdir(sd)) if os.path.isdir(sd) else []:
        res[f] = rrdsum.steps(os.path.join(sd, f))
    return res


def alerts(js, with_time=True):
    out = []
    if os.path.exists(js):
        with open(js) as fp:
            for line in fp:
                if line.strip():
                    a = json.loads(line)
                    if not with_time:
                        a.pop("ts", None)
                    out.append(json.dumps(a, sort_keys=True))
    return sorted(out)


def same_rrds(a, b, what):
    diffs = []
    for f in sorted(set(a) | set(b)):
        sa, sb = a.get(f), b.get(f)
        if sa is None or sb is None:
            diffs.append("%s only with %s" % (f, "N=1" if sb is None else "the other"))
            continue
        for ts in sorted(set(sa) | set(sb)):
            ra, rb = sa.get(ts, {}), sb.get(ts, {})
            for ds in sorted(set(ra) | set(rb)):
                if abs(ra.get(ds, 0.0) - rb.get(ds, 0.0)) > 1e-3:
                    diffs.append("%s %d %s: %s vs %s" % (f, ts, ds, ra.get(ds), rb.get(ds)))
    check(not diffs, "%s: every RRD file, step and data source equal (%d files)%s"
          % (what, len(a), "" if not diffs else ": %d differ, e.g. %s" % (len(diffs), "; ".join(diffs[:6]))))


def same_alerts(a, b, what):
    only_a = [x for x in a if x not in b]
    only_b = [x for x in b if x not in a]
    check(a == b, "%s: the same %d alerts%s" % (what, len(a), "" if a == b else
                                               ": only N=1 %s; only the other %s" % (only_a[:3], only_b[:3])))


def read_truth(d):
    """(meta, rows) of the run's truth (tests/lib/gentruth.py)."""
    comments, rows = gentruth.read(os.path.join(d, "truth.tsv"))
    return gentruth.meta(comments), rows


# (bt_allow_* and the other BitTorrent columns are counted when a flow is
# labelled, which can be a step after the truth's: tests/p2p compares them
# over the run.)
TRUTH_DS = ("bytes_in", "bytes_out", "smtp_direct", "smtp_rcpt")


def truth_steps(rows):
    res = {}
    for r in rows:
        v = {k: int(r[k]) for k in ("bytes_in", "bytes_out", "smtp_rcpt")}
        v["smtp_direct"] = int(r["smtp_direct_auth"]) + int(r["smtp_direct_unauth"]) + int(r["smtp_direct_tls"])
        res[(r["subscriber"], int(r["step"]) + STEP)] = v
    return res


def against_truth(d, steps, what):
    meta, rows = read_truth(d)
    want = truth_steps(rows)
    got = {}
    for f, series in steps.items():
        if f == "sensor.rrd":
            continue
        for ts, row in series.items():
            got[(f[:-4], ts)] = {k: int(round(row.get(k, 0.0))) for k in TRUTH_DS}
    # The RRDs keep single steps for a day: the truth of older steps is
    # beyond what a fetch at one step returns.
    first = min((min(series) for series in steps.values() if series), default=0)
    want = {k: v for k, v in want.items() if k[1] >= first}
    zero = dict.fromkeys(TRUTH_DS, 0)
    bad = [(k, got.get(k, zero), want.get(k, zero)) for k in sorted(set(got) | set(want))
           if got.get(k, zero) != want.get(k, zero)]
    check(not bad, "%s: %s of every subscriber in every step equal the truth (%d steps)%s"
          % (what, ", ".join(TRUTH_DS), len(want), "" if not bad else ": %d differ, e.g. %s" % (len(bad), bad[:3])))
    return meta


def smtp_alerts_right(meta, js, what):
    bots = set(meta.get("bots", "").split(",")) - {""}
    switchers = {s.split("@")[0] for s in meta.get("switchers", "").split(",") if s}
    got = [json.loads(a) for a in alerts(js)]
    direct = {a["subscriber"] for a in got if a["alert"] == "smtp_direct"}
    surge = {a["subscriber"] for a in got if a["alert"] == "smtp_surge"}
    # A switcher's burst of 40 direct sessions passes max_sessions too.
    check(bots <= direct <= bots | switchers, "%s: smtp_direct for every bot %s, nobody else but a switcher "
          "%s (got %s)" % (what, sorted(bots), sorted(switchers), sorted(direct)))
    check(surge == switchers, "%s: smtp_surge for exactly the switchers %s (got %s)"
          % (what, sorted(switchers), sorted(surge)))


def files_case(work, name, args, storm=False):
    t0 = time.time()
    d, pcap = gen(work, name, args)
    base_rrd, base_js, _ = replay(d, pcap, 1, "n1")
    base = rrd_steps(base_rrd)
    base_al = alerts(base_js)
    meta = against_truth(d, base, "%s N=1" % name)
    smtp_alerts_right(meta, base_js, "%s N=1" % name)
    print("    %d alerts: %s" % (len(base_al), sorted({json.loads(a)["alert"] for a in base_al})))
    for n in THREADS:
        rrd, js, _ = replay(d, pcap, n, "n%d" % n)
        same_rrds(base, rrd_steps(rrd), "%s N=%d vs N=1" % (name, n))
        same_alerts(base_al, alerts(js), "%s N=%d vs N=1" % (name, n))
        shutil.rmtree(rrd, ignore_errors=True)
    if storm:
        subs = os.path.join(d, "subscribers.txt")
        with open(subs) as fp:
            lines = fp.readlines()
        shuffled = list(lines)
        random.Random(3).shuffle(shuffled)
        sent = [0]

        def catches_hup(pid):
            try:
                with open("/proc/%d/status" % pid) as fp:
                    cgt = [l for l in fp if l.startswith("SigCgt:")][0].split()[1]
                return int(cgt, 16) & (1 << (signal.SIGHUP - 1)) != 0
            except (OSError, IndexError):
                return False

        def hups(proc):
            # Not before the sensor has its handler (a slow start under
            # ASan): SIGHUP's default action ends a process.
            deadline = time.time() + 30
            while proc.poll() is None and not catches_hup(proc.pid) and time.time() < deadline:
                time.sleep(0.01)
            # Until the replay ends: the map alternates between two line
            # orders (every subscriber gets another id), a reload each.
            while proc.poll() is None and sent[0] < 100:
                time.sleep(0.04)
                with open(subs + ".new", "w") as fp:
                    fp.writelines(shuffled if sent[0] % 2 == 0 else lines)
                os.rename(subs + ".new", subs)
                try:
                    proc.send_signal(signal.SIGHUP)
                    sent[0] += 1
                except ProcessLookupError:
                    break

        rrd, js, err = replay(d, pcap, 2, "hup", during=hups)
        reloads = err.count("reloaded:")
        check(reloads >= 3, "%s SIGHUP storm: %d reloads taken during the replay (%d sent)"
              % (name, reloads, sent[0]))
        # The map in force at the end names the same subscribers.
        same_rrds(base, rrd_steps(rrd), "%s N=2 with %d reloads vs N=1" % (name, reloads))
        same_alerts(base_al, alerts(js), "%s N=2 with %d reloads vs N=1" % (name, reloads))
        with open(subs, "w") as fp:
            fp.writelines(lines)
    print("    (%s: %.1f s)" % (name, time.time() - t0))
    os.unlink(pcap)


# ---- live ------------------------------------------------------------------

def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def live_case(work):
    tag = "swc%d" % (os.getpid() % 100000)
    ns_gen, ns_sw = tag + "g", tag + "s"
    t0 = time.time()
    d, pcap = gen(work, "live", LIVE)
    meta, rows = read_truth(d)
    truth = gentruth.sums(rows)
    results = {}
    try:
        sh("ip", "netns", "add", ns_gen)
        sh("ip", "netns", "add", ns_sw)
        sh("ip", "link", "add", tag + "a", "netns", ns_gen, "type", "veth", "peer", "name", tag + "b",
           "netns", ns_sw)
        for ns, dev, addr in ((ns_gen, tag + "a", "198.18.0.1/30"), (ns_sw, tag + "b", "198.18.0.2/30")):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for n in (1, 2):
            rrd = os.path.join(d, "rrd-live%d" % n)
            js = os.path.join(d, "alerts-live%d.json" % n)
            errp = os.path.join(d, "live%d.err" % n)
            with open(errp, "w") as errf:
                proc = subprocess.Popen(["ip", "netns", "exec", ns_sw, os.path.join(SW_BIN, "spanwatch"),
                                         "-c", conf_with(d, n), "-i", tag + "b", "-o", rrd,
                                         "--alerts-json", js, "--no-syslog", "-v"], stderr=errf)
                deadline = time.time() + 20
                while time.time() < deadline:
                    out = subprocess.run(["ip", "netns", "exec", ns_sw, "ss", "-0", "-n", "-p"],
                                         capture_output=True, text=True).stdout
                    if "pid=" in out:
                        break
                    time.sleep(0.1)
                time.sleep(0.5)
                sh("ip", "netns", "exec", ns_gen, "tcpreplay", "-q", "-i", tag + "a", "--pps", str(LIVE_PPS), pcap)
                time.sleep(1.0)
                proc.send_signal(signal.SIGTERM)
                rc = proc.wait(60)
            with open(errp) as fp:
                err = fp.read()
            summ = [l for l in err.splitlines() if l.startswith("summary packets")]
            print("   ", summ[0] if summ else err[-2000:])
            check(rc == 0, "live N=%d: spanwatch exit %d" % (n, rc))
            check(bool(summ) and " drops=0" in summ[0], "live N=%d: no drops (paced at %d packets/s)" % (n, LIVE_PPS))
            tot = {}
            for f, series in rrd_steps(rrd).items():
                if f != "sensor.rrd":
                    tot[f[:-4]] = [int(round(sum(r.get(k, 0.0) for r in series.values())))
                                   for k in ("bytes_in", "bytes_out")]
            want = {s: v for s, v in truth.items() if v != [0, 0]}
            bad = [(s, tot.get(s), want.get(s)) for s in sorted(set(tot) | set(want)) if tot.get(s) != want.get(s)]
            check(not bad, "live N=%d: every subscriber's bytes_in/out totals equal the truth (%d)%s"
                  % (n, len(want), "" if not bad else ": %s" % bad[:4]))
            results[n] = (tot, alerts(js, with_time=False))
        check(results[1][0] == results[2][0], "live: N=2 totals equal N=1's")
        same_alerts(results[1][1], results[2][1], "live N=2 vs N=1 (without packet time)")
        bots = set(meta.get("bots", "").split(",")) - {""}
        got = {json.loads(a)["subscriber"] for a in results[2][1] if json.loads(a)["alert"] == "smtp_direct"}
        check(got == bots, "live N=2: smtp_direct for exactly the bots %s (got %s)" % (sorted(bots), sorted(got)))
    finally:
        for ns in (ns_gen, ns_sw):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    print("    (live: %.1f s)" % (time.time() - t0))


def main():
    for prog in ("spanwatch", "spanwatch-gen"):
        if not os.access(os.path.join(SW_BIN, prog), os.X_OK):
            print("SKIP: %s not built in %s" % (prog, SW_BIN))
            return 77
    if shutil.which("rrdtool") is None:
        print("SKIP: rrdtool not installed")
        return 77
    # RRD files are written in full at creation: on tmpfs where there is
    # one, a replay takes seconds, not tens of them.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="sw-identity-", dir=shm)
    os.chmod(work, 0o755)
    # Under ASan (about 4x slower) the threaded path's memory is what is
    # checked: the busy day at N = 2 and the SIGHUP storm; the opt build
    # runs everything (both within about 3 minutes).
    san = os.environ.get("SW_VARIANT") == "san"
    parts = os.environ.get("IDENTITY_PARTS", "day" if san else "day,surge,live").split(",")
    global THREADS
    THREADS = (2,) if san else (2, 4)
    try:
        if "day" in parts:
            files_case(work, "day", DAY, storm=True)
        if "surge" in parts:
            files_case(work, "surge", SURGE)
        if "live" in parts:
            if os.geteuid() != 0:
                print("live part skipped: network namespaces need root")
            elif shutil.which("tcpreplay") is None:
                print("live part skipped: tcpreplay is not installed")
            else:
                live_case(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("identity: FAIL (%d)" % len(failures))
        return 1
    print("identity: pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
