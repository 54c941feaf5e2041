#!/usr/bin/python3
"""Highest loss-free live rate, 1 and 2 capture threads (issue 7).

The namespaces and veth pair of tests/live/live.py; tcpreplay sends one
generated capture at each rate (--mbps steps, then --topspeed) into
spanwatch -i; a rate passes when spanwatch reports 0 drops and every
subscriber's RRD totals equal the generator's truth. Prints one line per
(threads, rate). Needs root. Usage:
  TOP=. SW_BIN=bin python3 tests/bench/live_rate.py [MBPS,MBPS,...|top]
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import live  # noqa: E402
import swsummary  # noqa: E402


def one(work, pcap, truth, threads, rate):
    rrd = tempfile.mkdtemp(prefix="rrd", dir=work)
    nobody = pwd.getpwnam("nobody")
    os.chown(rrd, nobody.pw_uid, nobody.pw_gid)
    conf = live.with_threads(os.path.join(work, "conf", "spanwatch.conf"), threads)
    err = open(os.path.join(rrd, "err"), "w+")
    proc = subprocess.Popen(["ip", "netns", "exec", live.NS_SW, os.path.join(live.SW_BIN, "spanwatch"),
                             "--no-syslog", "-c", conf, "-i", live.TAG + "b", "-o", rrd, "-u", "nobody"],
                            stderr=err)
    time.sleep(1.5)
    speed = ["--topspeed"] if rate == "top" else ["--mbps", str(rate)]
    t0 = time.time()
    out = live.sh("ip", "netns", "exec", live.NS_GEN, "tcpreplay", "-i", live.TAG + "a", *speed, pcap).stdout
    secs = time.time() - t0
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    err.seek(0)
    drops = int(swsummary.of(err.read()).get("drops", -1))
    got = live.rrd_totals(rrd, truth)
    wrong = sum(1 for s, (ti, to) in truth.items()
                if abs(got[s][0] - ti) > 1 or abs(got[s][1] - to) > 1)
    rated = next((l.strip() for l in out.splitlines() if "Rated:" in l), "")
    ok = drops == 0 and wrong == 0
    print("threads=%d rate=%s %s drops=%d wrong_subscribers=%d replay_s=%.1f %s" %
          (threads, rate, "PASS" if ok else "LOSS", drops, wrong, secs, rated), flush=True)
    return ok


def main():
    rates = (sys.argv[1] if len(sys.argv) > 1 else "200,400,800,1600,top").split(",")
    work = tempfile.mkdtemp(prefix="sw-rate-")
    os.chmod(work, 0o755)
    try:
        live.setup()
        pcap = os.path.join(work, "g.pcap")
        live.sh(os.path.join(live.SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth",
                os.path.join(work, "truth.tsv"), "--conf-dir", os.path.join(work, "conf"), "--seed", "9",
                "--subscribers", "200", "--packets", "400000")
        truth = live.truth_totals(os.path.join(work, "truth.tsv"))
        for threads in (1, 2):
            for r in rates:
                if not one(work, pcap, truth, threads, r if r == "top" else int(r)):
                    break
    finally:
        live.teardown()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
