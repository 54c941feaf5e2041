#!/usr/bin/python3
"""smtp_surge.py -- issue 15.3 end to end: smtp_surge never accuses a
subscriber's own routine and catches a change of behaviour within a
window. spanwatch-gen writes 40 hours of a small, mostly quiet network
(8 subscribers, no bots, no exempt MTA) with

  --routine 4    two senders of 12 unauthenticated sessions to the same 6
                 MX hosts every hour (+-1 min), two of the same burst
                 every night at a fixed hour +-20 min (crossing the hour)
  --switchers 2  subscribers who submit an AUTH'd mail to the relay every
                 6 hours and then, at a time the truth records
                 ("# switchers=NAME@UNIX_TIME"), 40 direct sessions

The switches come 30 h and 32 h after the start, after the sensor's
warm-up (a day from its first step). The sensor replays the capture with
the configuration the generator wrote ([smtp] window 5 min, surge_factor
5, the defaults). Checked against the generator's truth:

  - no smtp_surge for anyone but the switchers (the routine senders above
    all: a mean per step would call each hourly burst a surge);
  - each switcher gets smtp_surge, ts - switch time in [0, window];
  - the routine senders did send (the truth holds a burst of 12 an hour,
    or one a night), and the sensor counted it: over the last day the
    RRD keeps at one step (from a quarter to the hour, when no burst
    runs), their smtp_direct equals the truth's direct sessions (so the
    quiet is not for lack of traffic).

Exit 0 pass, 1 fail, 77 skip (no rrdtool).
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402

WINDOW = 300
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def ts_of(iso):
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def main():
    if shutil.which("rrdtool") is None:
        print("SKIP: rrdtool is not installed")
        return 77
    work = tempfile.mkdtemp(prefix="sw-smtp-surge-")
    pcap, truth = os.path.join(work, "s.pcap"), os.path.join(work, "t.tsv")
    subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth", truth,
                    "--conf-dir", work, "--seed", "7", "--subscribers", "8", "--bots", "0",
                    "--exempt", "0", "--routine", "4", "--switchers", "2", "--rate", "0.05",
                    "--duration", str(40 * 3600)], check=True, timeout=120)
    comments = gentruth.read(truth)[0]
    routine = dict(item.split(":") for item in gentruth.names(comments, "routine"))
    switch = {name: int(at) for name, at in (item.split("@") for item in gentruth.names(comments, "switchers"))}
    check(len(routine) == 4 and len(switch) == 2, "truth names 4 routine senders and 2 switchers "
          "(%s, %s)" % (routine, switch))
    direct = {}     # subscriber -> start times of its direct sessions
    for r in gentruth.read(os.path.join(work, "t.flows.tsv"))[1]:
        if r["class"] in ("auth", "unauth", "tls"):
            direct.setdefault(r["subscriber"], []).append((float(r["first_ts"]), r["class"]))

    rrd, js = os.path.join(work, "rrd"), os.path.join(work, "alerts.json")
    p = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-c", os.path.join(work, "spanwatch.conf"),
                        "-r", pcap, "-o", rrd, "--alerts-json", js, "--no-syslog"],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "spanwatch exit 0 (got %d)%s"
          % (p.returncode, p.returncode and ": " + p.stderr[-500:] or ""))
    bad = [l for l in p.stderr.splitlines() if "Sanitizer" in l or "runtime error" in l]
    check(not bad, "no sanitizer report" + (": " + bad[0] if bad else ""))
    surges = []
    if os.path.exists(js):
        with open(js) as fp:
            surges = [a for a in (json.loads(l) for l in fp if l.strip())
                      if a.get("alert") == "smtp_surge"]

    wrong = [a for a in surges if a.get("subscriber") not in switch]
    check(not wrong, "smtp_surge for switchers only (%d others: %s)" % (len(wrong), wrong[:3]))
    for name, at in sorted(switch.items()):
        mine = [ts_of(a["ts"]) - at for a in surges if a.get("subscriber") == name]
        check(any(0 <= d <= WINDOW for d in mine),
              "%s: smtp_surge within %d s of its switch at %d (got %s s after)"
              % (name, WINDOW, at, [round(d) for d in mine]))
    for name, how in sorted(routine.items()):
        sent = direct.get(name, [])
        # hourly: a burst of 12 each of the 40 hours; nightly: two nights
        least = 12 * (40 if how == "hourly" else 2)
        bursts = sum(1 for _, c in sent if c == "unauth")
        check(bursts == least, "%s (%s): the truth holds %d unauth direct sessions (got %d)"
              % (name, how, least, bursts))
        path = os.path.join(rrd, "subscribers", name + ".rrd")
        if not os.path.exists(path):
            check(False, "%s: no RRD" % name)
            continue
        step, last = rrdsum.info(path)
        start = (last - 86400) // 3600 * 3600 + 3600 + 45 * 60
        got = round(rrdsum.totals(path, start=start, end=last).get("smtp_direct", -1))
        want = sum(1 for t, _ in sent if start < int(t) // step * step + step <= last)
        check(got == want and want >= (12 * 20 if how == "hourly" else 12),
              "%s (%s): smtp_direct over the last day %d = truth %d" % (name, how, got, want))
    if failures:
        print("%d failed; files in %s" % (len(failures), work))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
