#!/usr/bin/python3
"""Issue 7's live-capture tests, in network namespaces made here.

Two namespaces joined by a veth pair (198.18.0.1/30 and .2): tcpreplay sends
a generated capture from one end at a modest rate, spanwatch captures on the
other end with -i, started as root with -u nobody. Checked:
  * every subscriber's RRD totals equal the generator's truth (times the
    number of replays that counted it), minus nothing: it reports 0 drops;
  * /proc/PID/status shows an unprivileged uid/gid, no groups, no
    capabilities, NoNewPrivs, while it keeps capturing;
  * SIGHUP with a subscriber added: its traffic counts from then on, the
    others continue without a gap or reset; a broken file keeps the old map
    and logs file:line;
  * SIGTERM: the partial step is in the RRDs (the totals above include the
    last step, cut short).
All of it twice: with one capture thread (the default) and with
[capture] threads = 2 (an AF_PACKET fanout group in flow-hash mode), where
each thread must have captured a share and the merged RRD totals must be
the same exact sums.
Needs root (namespaces); prints SKIP otherwise.
"""
import os
import pwd
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
import swsummary  # noqa: E402

TAG = "sw%d" % (os.getpid() % 100000)
NS_GEN, NS_SW = TAG + "g", TAG + "s"
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def setup():
    sh("ip", "netns", "add", NS_GEN)
    sh("ip", "netns", "add", NS_SW)
    sh("ip", "link", "add", TAG + "a", "netns", NS_GEN, "type", "veth", "peer", "name", TAG + "b", "netns", NS_SW)
    for ns, dev, addr in ((NS_GEN, TAG + "a", "198.18.0.1/30"), (NS_SW, TAG + "b", "198.18.0.2/30")):
        # No IPv6 on the test link: the kernel's own ND/MLD chatter stays out.
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def teardown():
    for ns in (NS_GEN, NS_SW):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def truth_totals(path):
    return gentruth.sums(gentruth.read(path)[1])


def replay(pcap):
    sh("ip", "netns", "exec", NS_GEN, "tcpreplay", "-q", "-i", TAG + "a", "--pps", "4000", pcap)
    time.sleep(0.5)


def status(pid):
    with open("/proc/%d/status" % pid) as fp:
        return dict(l.rstrip("\n").split(":\t", 1) for l in fp if ":\t" in l)


def rrd_totals(d, subs):
    res = {}
    for s in subs:
        p = os.path.join(d, "subscribers", s + ".rrd")
        t = rrdsum.totals(p, end=int(time.time()) + 120) if os.path.exists(p) else {}
        res[s] = (t.get("bytes_in", 0.0), t.get("bytes_out", 0.0))
    return res


def with_threads(conf, n):
    """A copy of conf with [capture] threads = n."""
    out, done = [], False
    with open(conf) as fp:
        for line in fp:
            out.append(line)
            if line.strip() == "[capture]" and not done:
                out.append("threads = %d\n" % n)
                done = True
    if not done:
        out.append("\n[capture]\nthreads = %d\n" % n)
    path = "%s.t%d" % (conf, n)
    with open(path, "w") as fp:
        fp.writelines(out)
    return path


def main():
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root")
        return 77
    for tool in ("tcpreplay", "rrdtool", "ip"):
        if shutil.which(tool) is None:
            print("SKIP: %s is not installed" % tool)
            return 77
    work = tempfile.mkdtemp(prefix="sw-live-")
    os.chmod(work, 0o755)
    try:
        setup()
        pcap = os.path.join(work, "g.pcap")
        sh(os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth", os.path.join(work, "truth.tsv"),
           "--conf-dir", os.path.join(work, "conf"), "--seed", "9", "--subscribers", "30",
           "--duration", "300", "--rate", "25", "--v6-share", "0.3")
        truth = truth_totals(os.path.join(work, "truth.tsv"))
        for n in [int(x) for x in os.environ.get("LIVE_THREADS", "1,2").split(",")]:
            print("# threads = %d" % n)
            run_case(work, pcap, truth, n)
    finally:
        teardown()
        shutil.rmtree(work, ignore_errors=True)
    print("live: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


def run_case(work, pcap, truth, nthreads):
    proc = None
    subs_file = os.path.join(work, "conf", "subscribers.txt")
    try:
        with open(subs_file) as fp:
            lines = fp.readlines()
        # One subscriber left out of the map until the reload.
        late = max(truth, key=lambda s: truth[s][0] + truth[s][1])
        kept = [l for l in lines if not l.split() or l.split()[-1] != late]
        with open(subs_file, "w") as fp:
            fp.writelines(kept)
        rrd = os.path.join(work, "rrd%d" % nthreads)
        os.makedirs(rrd)
        nobody = pwd.getpwnam("nobody")
        os.chown(rrd, nobody.pw_uid, nobody.pw_gid)
        errlog = open(os.path.join(work, "spanwatch%d.err" % nthreads), "w+")
        conf = with_threads(os.path.join(work, "conf", "spanwatch.conf"), nthreads)
        proc = subprocess.Popen(["ip", "netns", "exec", NS_SW, os.path.join(SW_BIN, "spanwatch"), "-v",
                                 "--no-syslog", "-c", conf,
                                 "-i", TAG + "b", "-o", rrd, "-u", "nobody"], stderr=errlog)
        time.sleep(1.5)
        pids = sh("ip", "netns", "pids", NS_SW).stdout.split()
        if not pids:
            errlog.seek(0)
            check(False, "spanwatch is running (exit %s): %s" % (proc.wait(), errlog.read()[-3000:]))
            proc = None
            return
        pid = int(pids[0])
        st = status(pid)
        uid = st["Uid"].split()
        gid = st["Gid"].split()
        check(all(int(u) == nobody.pw_uid for u in uid), "uid is nobody's: %s" % st["Uid"])
        check(all(int(g) == nobody.pw_gid for g in gid), "gid is nobody's: %s" % st["Gid"])
        check(st.get("Groups", "").strip() == "", "no supplementary groups: '%s'" % st.get("Groups"))
        check(int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, "no capabilities: %s" % st["CapEff"])
        check(int(st["CapBnd"], 16) == 0, "empty bounding set: %s" % st["CapBnd"])
        check(st.get("NoNewPrivs", "0").strip() == "1", "NoNewPrivs set")

        replay(pcap)                                  # 1: without `late`
        with open(subs_file, "w") as fp:
            fp.writelines(lines)
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        replay(pcap)                                  # 2: with `late`
        with open(subs_file, "w") as fp:
            fp.writelines(lines + ["300.1.2.3/33 broken\n"])
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        replay(pcap)                                  # 3: the old map stays
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            rc = -1
            print("spanwatch did not stop on SIGTERM; its stack:")
            print(subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                                 capture_output=True, text=True).stdout[-3000:])
        proc = None if rc != -1 else proc
        errlog.seek(0)
        err = errlog.read()
        check(rc == 0, "exit 0 after SIGTERM (got %d)" % rc)
        bad_line = "%s:%d:" % (subs_file, len(lines) + 1)
        check(bad_line in err, "broken reload logged as %s" % bad_line)
        check("keeping the running configuration" in err, "broken reload kept the old map")
        summ = swsummary.of(err)
        drops = int(summ.get("drops", -1))
        check(drops == 0, "no drops reported (%d)" % drops)
        per = [l for l in err.splitlines() if l.startswith("summary thread=")]
        for l in per:
            print("     " + l)
        if nthreads > 1:
            pk = [int(t["packets"]) for t in swsummary.threads(err)]
            check(len(pk) == nthreads and all(p > 0 for p in pk),
                  "each of %d capture threads captured packets (%s)" % (nthreads, ", ".join(map(str, pk))))
            total = int(summ.get("packets", -1))
            check(total == sum(pk), "summary packets = sum over threads (%d)" % total)
        # sensor.rrd: packets merged over the threads exactly, drops once.
        sensor = rrdsum.totals(os.path.join(rrd, "sensor.rrd"), end=int(time.time()) + 120)
        ip_packets = int(summ.get("ip_packets", -1))
        check(abs(sensor.get("packets", 0) - ip_packets) <= 1 and sensor.get("drops", 0) == 0,
              "sensor.rrd packets = summary ip_packets (%.0f, %d), drops 0" % (sensor.get("packets", 0), ip_packets))
        san = [l for l in err.splitlines() if "Sanitizer" in l or "runtime error" in l]
        check(not san, "no sanitizer report (%s)" % (san[0] if san else ""))

        got = rrd_totals(rrd, truth)
        bad = []
        for s, (ti, to) in truth.items():
            n = 2 if s == late else 3
            gi, go = got[s]
            if abs(gi - n * ti) > 1 or abs(go - n * to) > 1:
                bad.append("%s: in %.0f out %.0f, expected %d x (%d, %d)" % (s, gi, go, n, ti, to))
        for b in bad[:10]:
            print("     " + b)
        check(not bad, "every subscriber's RRD totals equal truth x replays (%d subscribers, %d wrong)"
              % (len(truth), len(bad)))
    finally:
        if proc:
            proc.kill()
            proc.wait()
        with open(subs_file, "w") as fp:
            fp.writelines(lines)


if __name__ == "__main__":
    sys.exit(main())
