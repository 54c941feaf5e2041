#!/usr/bin/python3
"""Issue 9: restarts of spanwatch and faults of rrdcached, against the
generator's per-step truth. Run by t_restart.sh.

One spanwatch-gen capture of 20 minutes (50 subscribers) and its truth;
each case cuts it in two at a packet time and feeds the parts to two runs
of spanwatch writing into one RRD folder. The two parts of one run keep
the subscribers and the configuration identical (spanwatch-gen's address
plan depends on the seed, so two seeds would name other addresses), and
flows cross the restart as they would live.

1. Normal stop at a step boundary (T+600): every subscriber's bytes_in and
   bytes_out equal the truth at every step of both runs (so no step of run
   2 holds run 1 amounts, none is negative or unknown), totals equal
   truth1 + truth2, sensor.rrd packets equal the capture's per step.
2. Normal stop in the middle of a step (T+630): run 1 writes the partial
   step; run 2's part of that step is carried to the next (rrdw.c): the
   two steps together equal the truth, the first never exceeds it, every
   other step equals it, totals equal.
3. kill -9 while reading a capture paced from a pipe, then a restart on
   the rest: no step exceeds the truth (none counted twice), steps after
   the kill equal it, and what is missing is confined to the steps
   between the last write and the kill.
4. Through a real rrdcached (-j journal, unix socket): the capture is fed
   at 60x packet time (about 20 s) while rrdcached is killed with
   SIGKILL five times and restarted on the same socket and journal.
   spanwatch exits 0 (no SIGPIPE), logs each outage and reconnect, keeps
   its descriptor count, and every subscriber's total equals the truth.
5. No rrdcached behind the socket (no file; a stale socket file): exit 1
   and one clear error naming the address and the cause.
"""
import os
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
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402

T = 1767225600
STEP = 60
DURATION = 1200
# rrdw.c: a silent file gets its zeros written every half heartbeat
# (heartbeat max(10 steps, 900 s)), rounded down to steps.
KA = 420
failures = []


def check(ok, msg):
    if not ok:
        failures.append(msg)
        print("FAIL " + msg)
    return ok


def close(a, b):
    return abs(a - b) <= max(0.5, 1e-9 * abs(b))


# ---------------------------------------------------------------- pcap

class Pcap:
    """A classic pcap held in memory: header and (ts_us, start, end) per
    record, so that parts can be written or paced into a pipe."""

    def __init__(self, path):
        with open(path, "rb") as fp:
            self.data = fp.read()
        magic = struct.unpack_from("<I", self.data)[0]
        assert magic == 0xa1b2c3d4, "want a little-endian microsecond pcap"
        self.header = self.data[:24]
        self.recs = []
        off = 24
        while off + 16 <= len(self.data):
            sec, usec, incl, _ = struct.unpack_from("<IIII", self.data, off)
            self.recs.append((sec * 1000000 + usec, off, off + 16 + incl))
            off += 16 + incl

    def index_at(self, ts_us):
        """Index of the first record at or after ts_us."""
        lo, hi = 0, len(self.recs)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.recs[mid][0] < ts_us:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def part(self, a, b):
        if a >= b:
            return b""
        return self.data[self.recs[a][1]:self.recs[b - 1][2]]

    def write(self, path, a, b):
        with open(path, "wb") as fp:
            fp.write(self.header)
            fp.write(self.part(a, b))

    def packets_per_step(self, a, b):
        n = {}
        for ts, _, _ in self.recs[a:b]:
            e = (ts // 1000000 // STEP + 1) * STEP
            n[e] = n.get(e, 0) + 1
        return n


def feed_paced(stream, pc, a, b, speed, stop_at=None, started=None):
    """Writes pc's header and records a..b-1 to stream, packet time running
    speed times faster than wall time. Returns the index of the first
    record not written (stop_at: stop before the first record at or after
    that packet time)."""
    stream.write(pc.header)
    t0 = time.monotonic()
    base = pc.recs[a][0]
    i = a
    if started is not None:
        started.set()
    while i < b:
        now_pt = base + (time.monotonic() - t0) * speed * 1e6
        j = i
        while j < b and pc.recs[j][0] <= now_pt:
            if stop_at is not None and pc.recs[j][0] >= stop_at:
                break
            j += 1
        if j > i:
            stream.write(pc.part(i, j))
            stream.flush()
            i = j
        if stop_at is not None and i < b and pc.recs[i][0] >= stop_at:
            return i
        time.sleep(0.01)
    return i


# ---------------------------------------------------------------- truth

def read_truth(path):
    return gentruth.steps(gentruth.read(path)[1], STEP)


def rrd_steps(d, sub):
    path = os.path.join(d, "subscribers", sub + ".rrd")
    if not os.path.exists(path):
        return None
    return rrdsum.steps(path, T - STEP, T + DURATION + 2 * STEP)


def spanwatch(args, **kw):
    return subprocess.run([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v"] + args,
                          capture_output=True, text=True, **kw)


def compare(name, d, truth, lenient=lambda e: False, gap_ok=lambda e: False, carry=None):
    """Per-step comparison of every subscriber's RRD with the truth, over
    every step from its first traffic to the end of the capture (the
    sensor ran throughout, so silence must read 0): every step must equal
    the truth, except that
      lenient(e): the step may fall short of it (never exceed it);
      gap_ok(e): a silent step may read unknown (its zero was never
        written: the process died before the file's next write);
      carry: a restart inside that step; its shortfall must reappear
        whole in one later step.
    Unknown silent steps elsewhere are reported per subscriber as one
    span. Returns (steps compared, {e: bytes missing at e}, (rrd total,
    truth total), {subscriber: (from, to, bytes)} for the carries)."""
    compared, short, moved = 0, {}, {}
    rt = tt = 0.0
    for sub, per in sorted(truth.items()):
        got = rrd_steps(d, sub)
        if got is None:
            check(all(v == (0, 0) for v in per.values()), "%s: %s has no RRD file" % (name, sub))
            continue
        owed, paid, silent_unknown = None, [], []
        for e in sorted(set(per) | set(got) | set(range(min(per), T + DURATION + 1, STEP))):
            row = got.get(e)
            v = row or {}
            g = (v.get("bytes_in", 0.0), v.get("bytes_out", 0.0))
            if e < min(per) or e > T + DURATION:
                # Before its first traffic or after the capture: nothing.
                check(g == (0, 0), "%s: %s step %d outside the traffic holds %s" % (name, sub, e, g))
                continue
            t = per.get(e, (0, 0))
            compared += 1
            if row is None and t == (0, 0) and not gap_ok(e):
                silent_unknown.append(e)
                continue
            if row is None and not lenient(e) and not gap_ok(e):
                check(False, "%s: %s step %d unknown (truth in %d out %d)" % (name, sub, e, t[0], t[1]))
                continue
            if close(g[0], t[0]) and close(g[1], t[1]):
                continue
            below = g[0] <= t[0] + 0.5 and g[1] <= t[1] + 0.5
            if below and (lenient(e) or e == carry):
                short[e] = short.get(e, 0) + (t[0] - g[0]) + (t[1] - g[1])
                if e == carry:
                    owed = (t[0] - g[0], t[1] - g[1])
                continue
            if carry is not None and owed is not None and e > carry and not paid and \
                    close(g[0] - t[0], owed[0]) and close(g[1] - t[1], owed[1]):
                paid.append(e)
                moved[sub] = (carry, e, sum(owed))
                continue
            check(False, "%s: %s step %d: in %.1f out %.1f, truth %d %d" % (name, sub, e, g[0], g[1], t[0], t[1]))
        if owed is not None and not paid:
            check(False, "%s: %s: %d bytes of step %d never written" % (name, sub, sum(owed), carry))
        check(not silent_unknown, "%s: %s silent but reads unknown at %d steps T+%d..T+%d while spanwatch ran "
              "(README: a subscriber silent while the sensor runs reads 0)" % (
                  name, sub, len(silent_unknown), min(silent_unknown or [T]) - T, max(silent_unknown or [T]) - T))
        rt += sum(r.get("bytes_in", 0) + r.get("bytes_out", 0) for e, r in got.items() if T < e <= T + DURATION)
        tt += sum(a + b for a, b in per.values())
    return compared, short, (rt, tt), moved


# ---------------------------------------------------------------- cases

def case_aligned(work, pc, conf, truth):
    d = os.path.join(work, "aligned")
    cut = pc.index_at((T + 600) * 1000000)
    c1, c2 = os.path.join(work, "c1.pcap"), os.path.join(work, "c2.pcap")
    pc.write(c1, 0, cut)
    pc.write(c2, cut, len(pc.recs))
    for i, c in enumerate((c1, c2)):
        p = spanwatch(["-c", conf, "-r", c, "-o", d])
        check(p.returncode == 0, "aligned: run %d exit %d: %s" % (i + 1, p.returncode, p.stderr[-400:]))
    n, short, (rt, tt), _ = compare("aligned", d, truth)
    print("1. restart at T+600 (step boundary): %d subscriber-steps compared, all equal the truth: %s; "
          "total %.0f bytes, truth %.0f" % (n, "yes" if not short and not failures else "NO", rt, tt))
    check(close(rt, tt), "aligned: total %.1f, truth %.1f" % (rt, tt))
    want = pc.packets_per_step(0, len(pc.recs))
    got = rrdsum.steps(os.path.join(d, "sensor.rrd"), T - STEP, T + DURATION + STEP)
    bad = [(e, got.get(e, {}).get("packets"), k) for e, k in sorted(want.items())
           if not close(got.get(e, {}).get("packets", -1), k)]
    check(not bad, "aligned: sensor.rrd packets differ at %s" % bad[:4])
    for e in sorted(want):
        if e in (T + 600, T + 660):
            print("   sensor.rrd packets at %d: %.1f (capture %d)" % (e, got.get(e, {}).get("packets", -1), want[e]))
    os.unlink(c1)
    os.unlink(c2)


def case_midstep(work, pc, conf, truth):
    d = os.path.join(work, "midstep")
    cut = pc.index_at((T + 630) * 1000000)
    c1, c2 = os.path.join(work, "c1.pcap"), os.path.join(work, "c2.pcap")
    pc.write(c1, 0, cut)
    pc.write(c2, cut, len(pc.recs))
    logs = []
    for i, c in enumerate((c1, c2)):
        p = spanwatch(["-c", conf, "-r", c, "-o", d])
        logs.append(p.stderr)
        check(p.returncode == 0, "midstep: run %d exit %d: %s" % (i + 1, p.returncode, p.stderr[-400:]))
    n, short, (rt, tt), moved = compare("midstep", d, truth, carry=T + 660)
    carried = [l for l in logs[1].splitlines() if "carried to the next step" in l]
    later = {s: v for s, v in moved.items() if v[1] != T + 720}
    print("2. restart at T+630 (mid-step): %d subscriber-steps compared, all equal the truth but the restart "
          "step; run 2's part of step T+660 moved whole to a later step for %d subscribers (%d bytes), to "
          "T+720 for %d, to a later one for %d: %s; total %.0f bytes, truth %.0f; run 2 logged: %s" % (
              n, len(moved), sum(v[2] for v in moved.values()), len(moved) - len(later), len(later),
              ", ".join("%s %d B to T+%d" % (s, v[2], v[1] - T) for s, v in sorted(later.items())),
              rt, tt, carried[0] if carried else "-"))
    check(close(rt, tt), "midstep: total %.1f, truth %.1f" % (rt, tt))
    os.unlink(c1)
    os.unlink(c2)


def case_kill9(work, pc, conf, truth):
    d = os.path.join(work, "kill9")
    kill_at = (T + 647) * 1000000 + 250000
    proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v", "-c", conf, "-r", "-",
                             "-o", d], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = []
    t_err = threading.Thread(target=lambda: err.append(proc.stderr.read()))
    t_err.start()
    stop = feed_paced(proc.stdin, pc, 0, len(pc.recs), 100.0, stop_at=kill_at)
    proc.kill()
    rc = proc.wait(30)
    t_err.join()
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    check(rc == -signal.SIGKILL, "kill9: run 1 ended with %s, not SIGKILL" % rc)
    rest = os.path.join(work, "rest.pcap")
    pc.write(rest, stop, len(pc.recs))
    p = spanwatch(["-c", conf, "-r", rest, "-o", d])
    check(p.returncode == 0, "kill9: run 2 exit %d: %s" % (p.returncode, p.stderr[-400:]))
    e_k = (pc.recs[stop][0] // 1000000 // STEP + 1) * STEP	# the step the kill fell in
    n, short, (rt, tt), _ = compare("kill9", d, truth, lenient=lambda e: e_k - 2 * STEP <= e <= e_k,
                                    gap_ok=lambda e: e_k - KA <= e <= e_k)
    lost_steps = sorted(short)
    print("3. kill -9 at packet time T+%.2f (fed %d of %d records at 100x from a pipe), restart on the rest: "
          "%d subscriber-steps compared; short steps %s (missing %s bytes), total %.0f of %.0f bytes "
          "(%.0f missing); no step above the truth" % (
              (pc.recs[stop][0] - T * 1000000) / 1e6, stop, len(pc.recs), n,
              ["T+%d" % (e - T) for e in lost_steps], [round(short[e]) for e in lost_steps], rt, tt, tt - rt))
    check(tt - rt <= sum(short.values()) + 1, "kill9: %.0f bytes missing outside the allowed steps" % (tt - rt))
    os.unlink(rest)


def start_rrdcached(rc_dir, sock, log):
    p = subprocess.Popen(["rrdcached", "-g", "-l", "unix:" + sock, "-b", rc_dir, "-B", "-R",
                          "-j", os.path.join(rc_dir, "journal"), "-p", os.path.join(rc_dir, "pid"),
                          "-w", "3600", "-f", "7200"], stdout=log, stderr=log)
    for _ in range(200):
        if p.poll() is not None:
            raise RuntimeError("rrdcached exited %d" % p.returncode)
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            s.close()
            return p
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("rrdcached did not listen")


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def case_rrdcached_kills(work, pc, conf, truth):
    rc_dir = os.path.join(work, "rrdcached")
    os.makedirs(os.path.join(rc_dir, "journal"))
    sock = os.path.join(rc_dir, "sock")
    d = os.path.join(rc_dir, "rrd")
    log = open(os.path.join(work, "rrdcached.log"), "wb")
    daemon = start_rrdcached(rc_dir, sock, log)
    proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v", "-c", conf, "-r", "-",
                             "-o", d, "--rrdcached", "unix:" + sock], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err, stamped = [], []
    t_start = time.monotonic()

    def read_err():
        # Each line with its arrival time, to set outages beside kills.
        for raw in proc.stderr:
            line = raw.decode(errors="replace")
            err.append(line)
            if "rrdcached" in line:
                stamped.append((time.monotonic() - t_start, line.strip()))
    t_err = threading.Thread(target=read_err)
    t_err.start()
    started = threading.Event()
    fed = []
    t_feed = threading.Thread(target=lambda: fed.append(
        feed_paced(proc.stdin, pc, 0, len(pc.recs), 60.0, started=started)))
    t_feed.start()
    started.wait()
    t0 = t_start = time.monotonic()
    fds = []
    kills = []
    for k, at in enumerate((2.5, 6.0, 9.5, 13.0, 16.5)):
        while time.monotonic() - t0 < at:
            time.sleep(0.05)
        fds.append(nfds(proc.pid))
        daemon.kill()
        daemon.wait()
        kills.append(round(time.monotonic() - t0, 1))
        time.sleep(0.3 + 0.2 * k)	# down 0.3 .. 1.1 s
        daemon = start_rrdcached(rc_dir, sock, log)
    t_feed.join()
    time.sleep(1.0)
    fds.append(nfds(proc.pid))
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    rc = proc.wait(120)
    t_err.join()
    wall = time.monotonic() - t0
    daemon.terminate()	# SIGTERM: rrdcached writes what it holds
    daemon.wait(30)
    log.close()
    text = "".join(err)
    with open(os.path.join(work, "rrdcached-kills.stderr"), "w") as fp:
        fp.write(text)
    outages = [l for l in text.splitlines() if "retrying, updates wait" in l]
    recon = [l for l in text.splitlines() if "reconnected after" in l]
    check(rc == 0, "rrdcached kills: spanwatch exit %s (%s): %s" % (
        rc, "signal %d" % -rc if rc < 0 else "status", text[-600:]))
    check(len(outages) >= 1 and len(recon) == len(outages),
          "rrdcached kills: %d outages logged, %d reconnects" % (len(outages), len(recon)))
    for t, line in stamped:
        if "retrying" in line or "reconnected" in line:
            print("   %5.1f s %s" % (t, line.split(": ", 2)[-1][:90]))
    check(len(set(fds)) == 1, "rrdcached kills: spanwatch's descriptors changed: %s" % fds)
    n = 0
    rt = tt = 0.0
    for sub, per in sorted(truth.items()):
        ti = sum(v[0] for v in per.values())
        to = sum(v[1] for v in per.values())
        path = os.path.join(d, "subscribers", sub + ".rrd")
        if not os.path.exists(path):
            check(ti == to == 0, "rrdcached kills: %s has no RRD file" % sub)
            continue
        t = rrdsum.totals(path, T - STEP, T + DURATION + 2 * STEP)
        n += 1
        rt += t.get("bytes_in", 0) + t.get("bytes_out", 0)
        tt += ti + to
        if not check(close(t.get("bytes_in", 0), ti) and close(t.get("bytes_out", 0), to),
                     "rrdcached kills: %s total in %.1f out %.1f, truth %d %d" % (
                         sub, t.get("bytes_in", 0), t.get("bytes_out", 0), ti, to)):
            got = rrd_steps(d, sub)
            lost = ["T+%d (%d B)" % (e - T, a + b) for e, (a, b) in sorted(per.items())
                    if e not in got and a + b > 0]
            print("   %s: first traffic at T+%d; unknown steps that had traffic: %s" % (
                sub, min(per) - T, ", ".join(lost) or "none"))
    st = rrdsum.totals(os.path.join(d, "sensor.rrd"), T - STEP, T + DURATION + 2 * STEP)
    check(close(st.get("packets", 0), len(pc.recs)), "rrdcached kills: sensor.rrd packets %.1f, capture %d" % (
        st.get("packets", 0), len(pc.recs)))
    print("4. rrdcached killed (SIGKILL) at %s s of a %.1f s paced replay, restarted with its journal: "
          "spanwatch exit %s, %d outages logged, %d reconnects (%s), descriptors %s; %d subscribers' totals "
          "%.0f bytes, truth %.0f; sensor.rrd packets %.0f of %d" % (
              kills, wall, rc, len(outages), len(recon),
              ", ".join(l.split("reconnected after ")[1] for l in recon), fds, n, rt, tt,
              st.get("packets", 0), len(pc.recs)))


def case_no_rrdcached(work, pc, conf):
    small = os.path.join(work, "small.pcap")
    pc.write(small, 0, min(200, len(pc.recs)))
    stale = os.path.join(work, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()		# a socket file with no listener: ECONNREFUSED
    for path, why in ((os.path.join(work, "nothing", "rrdcached.sock"), "No such file or directory"),
                      (stale, "Connection refused")):
        p = spanwatch(["-c", conf, "-r", small, "-o", os.path.join(work, "norc"), "--rrdcached", "unix:" + path])
        want = "rrdcached unix:%s: %s" % (path, why)
        lines = [l for l in p.stderr.splitlines() if "rrdcached" in l]
        print("5. --rrdcached unix:%s (%s): exit %d, %s" % (path, "absent" if "nothing" in path else "stale socket",
                                                            p.returncode, lines))
        check(p.returncode == 1, "no rrdcached: exit %d, want 1" % p.returncode)
        check(any(want in l for l in lines) and "summary " not in p.stderr,
              "no rrdcached: want '%s' in %s" % (want, p.stderr[-400:]))
    os.unlink(small)


def main():
    work = tempfile.mkdtemp(prefix="sw-restart-")
    try:
        pcap = os.path.join(work, "g.pcap")
        subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth",
                        os.path.join(work, "truth.tsv"), "--conf-dir", os.path.join(work, "conf"),
                        "--seed", "31", "--subscribers", "50", "--duration", str(DURATION), "--rate", "50"],
                       check=True)
        conf = os.path.join(work, "conf", "spanwatch.conf")
        truth = read_truth(os.path.join(work, "truth.tsv"))
        pc = Pcap(pcap)
        os.unlink(pcap)
        print("capture: %d packets over %d s, %d subscribers with traffic" % (len(pc.recs), DURATION, len(truth)))
        only = os.environ.get("RESTART_CASES", "12345")
        if "1" in only:
            case_aligned(work, pc, conf, truth)
        if "2" in only:
            case_midstep(work, pc, conf, truth)
        if "3" in only:
            case_kill9(work, pc, conf, truth)
        if "4" in only:
            case_rrdcached_kills(work, pc, conf, truth)
        if "5" in only:
            case_no_rrdcached(work, pc, conf)
    finally:
        if os.environ.get("RESTART_KEEP"):
            print("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("restart: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
