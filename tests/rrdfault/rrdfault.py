#!/usr/bin/python3
"""The RRD writer under faults (issues 13.4, 13.5, 13.8, 13.10, 14.1, 14.2,
14.5, 14.6, 14.7): it must fail loudly and never hang.

Each case replays a spanwatch-gen capture (its truth is the oracle for
which subscribers have files) and checks the exit status, the bound on
the run's time, and the lines an operator reads:

  refuse    a real rrdcached -b BASE -B, the RRD folder outside BASE:
            exit 1, "N step updates of F files not written" with F = the
            truth's subscribers + sensor.rrd
  stall     a daemon that answers PING and then nothing: exit 1 within
            EXIT_BOUND s of the end of the file, all files named as lost;
            and the same with SIGTERM in the middle of a read from a pipe
  longline  a daemon that answers every command with a 20000-byte line,
  garbage   ... or with words: bounded time, a handful of warnings and of
            reconnections (not a storm), exit 1
  fifo      subscribers/NAME.rrd a FIFO for a subscriber with traffic and
            one for none: skipped with a warning naming them, no hang,
            exit 1 with 1 file lost, sensor.rrd equal to the summary
  symlink   subscribers/NAME.rrd a link to an RRD outside the folder
            (direct and through a local rrdcached), and an unknown
            link.rrd: the files outside are byte for byte unchanged
  fulldisk  a 2 MB tmpfs (root only): "No space left on device" named,
            no error without a reason, exit 1, the files lost counted;
            then two files read-only: "Read-only file system", exit 1,
            those 2 files named as lost
  skipped   the same capture replayed twice into one folder: the second
            run says, at normal verbosity, that the steps of all F files
            were not written because the files hold later steps; exit 0
  step59    [rrd] step = 59 (the config's range is 20 s..1 h): files are
            created and every subscriber's per-step bytes equal the truth
  nowait    a tiny replay is not held by a sleep of the writer at exit:
            with RRDs it takes less than 0.25 s longer than without

    rrdfault.py [CASE...]       (default: all)
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
HERE = os.path.join(TOP, "tests", "rrdfault")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402
import swsummary  # noqa: E402

EXIT_BOUND = 30      # seconds from the end of input (or SIGTERM) to exit
HANG = int(os.environ.get("RRDFAULT_HANG", "90"))  # a run going on longer hangs
LOST = re.compile(r"rrd: (\d+) step updates of (\d+) files not written \(([^)]*)\)")
SKIPPED = re.compile(r"rrd: (\d+) steps of (\d+) files not written: the files already hold later steps")

failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def start(args, stdin=None):
    return subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog"] + args,
                            stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(p):
    """Waits for spanwatch; returns (exit status, or None if it hung, and its stderr)."""
    try:
        _, err = p.communicate(timeout=HANG)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        rc = None
    return rc, err.decode(errors="replace")


def spanwatch(args):
    """Runs spanwatch; returns (exit status or None if it hung, stderr, seconds)."""
    t0 = time.monotonic()
    rc, err = finish(start(args))
    return rc, err, time.monotonic() - t0


def read_truth(path, step):
    """{subscriber: {step end: (bytes_in, bytes_out)}} of spanwatch-gen's truth."""
    return gentruth.steps(gentruth.read(path)[1], step)


def truth_subscribers(path):
    """Subscribers the truth saw traffic of."""
    return {s for s, per in read_truth(path, 60).items() if any(a + b > 0 for a, b in per.values())}


def lost_line(err):
    m = LOST.search(err)
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def sha(path):
    with open(path, "rb") as fp:
        return hashlib.sha256(fp.read()).hexdigest()


class Work:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sw-rrdfault-")
        self.gen = os.path.join(SW_BIN, "spanwatch-gen")
        self.pcap = self.capture("g", [])
        self.conf = os.path.join(self.dir, "g-conf", "spanwatch.conf")
        self.subs = truth_subscribers(os.path.join(self.dir, "g.tsv"))
        self.nfiles = len(self.subs) + 1
        print("capture: %d subscribers with traffic, %d files" % (len(self.subs), self.nfiles))

    def capture(self, name, extra):
        pcap = os.path.join(self.dir, name + ".pcap")
        subprocess.run([self.gen, "-q", "-w", pcap, "--truth", os.path.join(self.dir, name + ".tsv"),
                        "--conf-dir", os.path.join(self.dir, name + "-conf"), "--seed", "5",
                        "--subscribers", "20", "--duration", "1200", "--rate", "5",
                        "--packets", "20000"] + extra, check=True)
        return pcap

    def path(self, *p):
        return os.path.join(self.dir, *p)


def start_fake(w, mode):
    sock = w.path("fake-%s.sock" % mode)
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "fakerrdcached.py"), mode, sock],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p, sock


def start_rrdcached(w, name, base, extra):
    sock = w.path(name + ".sock")
    pid = w.path(name + ".pid")
    subprocess.run(["rrdcached", "-l", "unix:" + sock, "-b", base, "-p", pid, "-w", "3600",
                    "-f", "7200"] + extra, check=True)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return sock, pid


def stop_rrdcached(pid):
    try:
        with open(pid) as fp:
            os.kill(int(fp.read()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


# ------------------------------------------------------------------ cases

def case_refuse(w):
    base = w.path("rc-base")
    os.makedirs(base)
    sock, pid = start_rrdcached(w, "rc-refuse", base, ["-B"])
    try:
        out = w.path("outside-base", "rrd")
        rc, err, secs = spanwatch(["-q", "-c", w.conf, "-r", w.pcap, "-o", out,
                                   "--rrdcached", "unix:" + sock])
    finally:
        stop_rrdcached(pid)
    check(rc == 1, "refuse: exit %s (want 1)" % rc)
    check("Permission denied" in err, "refuse: the daemon's reason is named")
    lost = lost_line(err)
    check(lost is not None and lost[1] == w.nfiles,
          "refuse: lost line %s names %d files (want %d)" % (lost, lost[1] if lost else -1, w.nfiles))


def fake_run(w, mode, sigterm=False):
    fake, sock = start_fake(w, mode)
    try:
        if not sigterm:
            # not -q: the warnings are counted
            rc, err, secs = spanwatch(["-c", w.conf, "-r", w.pcap, "-o", w.path("fake-" + mode),
                                       "--rrdcached", "unix:" + sock])
            return rc, err, secs, fake, sock
        p = start(["-c", w.conf, "-r", "-", "-o", w.path("fake-term"), "--rrdcached", "unix:" + sock],
                  stdin=subprocess.PIPE)
        with open(w.pcap, "rb") as fp:
            data = fp.read()
        p.stdin.write(data[: len(data) // 2])
        p.stdin.flush()
        time.sleep(2.0)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        rc, err = finish(p)
        return rc, err, time.monotonic() - t0, fake, sock
    finally:
        fake.terminate()
        fake.wait(10)


def case_stall(w):
    rc, err, secs, _, _ = fake_run(w, "stall")
    check(rc is not None and secs < EXIT_BOUND,
          "stall: replay exits after %.1fs (bound %ds)" % (secs, EXIT_BOUND))
    check(rc == 1, "stall: exit %s (want 1)" % rc)
    lost = lost_line(err)
    check(lost is not None and lost[1] == w.nfiles and lost[0] >= w.nfiles,
          "stall: lost line %s (want all %d files)" % (lost, w.nfiles))
    rc, err, secs, _, _ = fake_run(w, "stall", sigterm=True)
    check(rc is not None and secs < EXIT_BOUND,
          "stall: SIGTERM mid-read, exit after %.1fs (bound %ds)" % (secs, EXIT_BOUND))
    check(rc == 1, "stall: SIGTERM run exit %s (want 1)" % rc)
    check(lost_line(err) is not None, "stall: SIGTERM run names what was lost")


def case_badreply(w, mode):
    rc, err, secs, _, sock = fake_run(w, mode)
    warns = [l for l in err.splitlines() if "rrdcached" in l]
    with open(sock + ".count") as fp:
        conns = len(fp.read().split())
    check(rc is not None and secs < EXIT_BOUND,
          "%s: replay exits after %.1fs (bound %ds)" % (mode, secs, EXIT_BOUND))
    check(rc == 1, "%s: exit %s (want 1)" % (mode, rc))
    # backoff from 0.1 s doubling: about ten attempts in the bound
    check(conns <= 20, "%s: %d connections (a backoff, not a storm)" % (mode, conns))
    check(len(warns) <= 6, "%s: %d rrdcached lines on stderr (at most 6)" % (mode, len(warns)))
    check(lost_line(err) is not None, "%s: names what was lost" % mode)


def case_longline(w):
    case_badreply(w, "longline")


def case_garbage(w):
    case_badreply(w, "garbage")


def case_fifo(w):
    d = w.path("fifo")
    victim = sorted(w.subs)[0]
    os.makedirs(os.path.join(d, "subscribers"))
    os.mkfifo(os.path.join(d, "subscribers", victim + ".rrd"))
    os.mkfifo(os.path.join(d, "subscribers", "zz-nobody.rrd"))
    rc, err, secs = spanwatch(["-c", w.conf, "-r", w.pcap, "-o", d])
    check(rc is not None and secs < EXIT_BOUND, "fifo: exits after %.1fs" % secs)
    check(rc == 1, "fifo: exit %s (want 1: %s's data had nowhere to go)" % (rc, victim))
    check(re.search(r"%s\.rrd: not a regular file \(a FIFO\)" % re.escape(victim), err) is not None,
          "fifo: the FIFO of %s is named" % victim)
    check(re.search(r"zz-nobody\.rrd: not a regular file \(a FIFO\); skipped", err) is not None,
          "fifo: the unknown FIFO is skipped with a warning")
    lost = lost_line(err)
    check(lost is not None and lost[1] == 1 and victim in lost[2], "fifo: lost line %s" % (lost,))
    if rc is not None:
        s = swsummary.of(err)
        st = rrdsum.totals(os.path.join(d, "sensor.rrd"))
        check(abs(st.get("bytes", 0) - int(s.get("ip_bytes", -1))) < 1,
              "fifo: sensor.rrd holds %.0f bytes, the summary %s" % (st.get("bytes", 0), s.get("ip_bytes")))


def case_symlink(w):
    # Valid spanwatch RRDs from an earlier capture: what a followed link
    # would write into.
    early = w.capture("early", ["--start", "1767139200"])
    src = w.path("early-rrd")
    rc, err, _ = spanwatch(["-q", "-c", os.path.join(w.dir, "early-conf", "spanwatch.conf"),
                            "-r", early, "-o", src])
    assert rc == 0, err
    outside = w.path("outside")
    os.makedirs(outside)
    subs = sorted(w.subs)
    victims = {}
    for i, name in enumerate(("direct-a", "direct-b", "cached-a")):
        p = os.path.join(outside, name + ".rrd")
        shutil.copy(os.path.join(src, "subscribers", subs[i] + ".rrd"), p)
        victims[name] = (p, sha(p))
    d = w.path("symlink")
    os.makedirs(os.path.join(d, "subscribers"))
    os.symlink(victims["direct-a"][0], os.path.join(d, "subscribers", subs[0] + ".rrd"))
    os.symlink(victims["direct-b"][0], os.path.join(d, "subscribers", "link.rrd"))
    rc, err, _ = spanwatch(["-c", w.conf, "-r", w.pcap, "-o", d])
    check(rc == 1, "symlink: exit %s (want 1: %s's data had nowhere to go)" % (rc, subs[0]))
    check("symbolic link out of the RRD folder" in err, "symlink: the link out is named")
    check(re.search(r"link\.rrd: not a regular file \(a symbolic link\); skipped", err) is not None,
          "symlink: the unknown link is skipped with a warning")
    for name in ("direct-a", "direct-b"):
        check(sha(victims[name][0]) == victims[name][1], "symlink: %s outside unchanged" % name)
    if shutil.which("rrdcached"):
        base = w.path("symlink-rc")
        os.makedirs(os.path.join(base, "subscribers"))
        os.symlink(victims["cached-a"][0], os.path.join(base, "subscribers", subs[0] + ".rrd"))
        sock, pid = start_rrdcached(w, "rc-symlink", base, [])
        try:
            rc, err, _ = spanwatch(["-q", "-c", w.conf, "-r", w.pcap, "-o", base,
                                    "--rrdcached", "unix:" + sock])
        finally:
            stop_rrdcached(pid)
            time.sleep(0.5)
        check(rc == 1, "symlink: through rrdcached exit %s (want 1)" % rc)
        check(sha(victims["cached-a"][0]) == victims["cached-a"][1],
              "symlink: through rrdcached the file outside is unchanged")


def case_fulldisk(w):
    if os.geteuid() != 0:
        print("fulldisk: SKIP (needs root for a tmpfs)")
        return
    mnt = w.path("tmpfs")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]).returncode != 0:
        print("fulldisk: SKIP (mount tmpfs failed)")
        return
    try:
        rc, err, _ = spanwatch(["-q", "-c", w.conf, "-r", w.pcap, "-o", os.path.join(mnt, "rrd")])
        check(rc == 1, "fulldisk: exit %s (want 1)" % rc)
        check("No space left on device" in err, "fulldisk: the cause is named")
        bare = [l for l in err.splitlines() if re.search(r"rrd: \S+: *$", l)]
        check(not bare, "fulldisk: no error without a reason (%s)" % bare[:2])
        written = len(os.listdir(os.path.join(mnt, "rrd", "subscribers")))
        lost = lost_line(err)
        check(lost is not None and lost[1] >= w.nfiles - written - 1,
              "fulldisk: lost line %s, %d subscriber files fit" % (lost, written))
        # Read-only files (root ignores file modes: a read-only bind
        # mount of the file itself), written by a later capture.
        later = w.capture("later", ["--start", str(1767225600 + 3600)])
        shutil.rmtree(os.path.join(mnt, "rrd"))
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        d = os.path.join(mnt, "rrd2")
        rc, err, _ = spanwatch(["-q", "-c", w.conf, "-r", w.pcap, "-o", d])
        assert rc == 0, err
        ro = [os.path.join(d, "sensor.rrd"), os.path.join(d, "subscribers", sorted(w.subs)[0] + ".rrd")]
        for f in ro:
            subprocess.run(["mount", "--bind", f, f], check=True)
            subprocess.run(["mount", "-o", "remount,bind,ro", f], check=True)
        try:
            rc, err, _ = spanwatch(["-q", "-c", os.path.join(w.dir, "later-conf", "spanwatch.conf"),
                                    "-r", later, "-o", d])
        finally:
            for f in ro:
                subprocess.run(["umount", f])
        check(rc == 1, "read-only: exit %s (want 1)" % rc)
        check("Read-only file system" in err, "read-only: the cause is named")
        lost = lost_line(err)
        check(lost is not None and lost[1] == 2, "read-only: lost line %s (want the 2 files)" % (lost,))
    finally:
        subprocess.run(["umount", "-l", mnt])


def case_skipped(w):
    d = w.path("skipped")
    rc, err, _ = spanwatch(["-q", "-c", w.conf, "-r", w.pcap, "-o", d])
    assert rc == 0, err
    rc, err, _ = spanwatch(["-c", w.conf, "-r", w.pcap, "-o", d])
    m = SKIPPED.search(err)
    check(rc == 0, "skipped: second run exit %s (want 0: nothing failed)" % rc)
    check(m is not None and int(m.group(2)) == w.nfiles and int(m.group(1)) >= w.nfiles,
          "skipped: said at normal verbosity: %s (want %d files)" % (m.group(0) if m else None, w.nfiles))
    check(len([l for l in err.splitlines() if "already hold later steps" in l]) == 1,
          "skipped: said in one line")


def case_step59(w):
    pcap = w.capture("s59", ["--step", "59"])
    conf = os.path.join(w.dir, "s59-conf", "spanwatch.conf")
    with open(conf) as fp:
        text = fp.read()
    text = re.sub(r"(?m)^step = 60$", "step = 59", text)
    with open(conf, "w") as fp:
        fp.write(text)
    d = w.path("s59-rrd")
    rc, err, _ = spanwatch(["-q", "-c", conf, "-r", pcap, "-o", d])
    check(rc == 0, "step59: exit %s: %s" % (rc, err[-300:]))
    truth = read_truth(os.path.join(w.dir, "s59.tsv"), 59)
    compared = bad = 0
    for sub, per_step in truth.items():
        path = os.path.join(d, "subscribers", sub + ".rrd")
        if not os.path.exists(path):
            bad += any(v != (0, 0) for v in per_step.values())
            continue
        got = rrdsum.steps(path)
        for end, (bi, bo) in per_step.items():
            row = got.get(end, {})
            compared += 1
            if abs(row.get("bytes_in", 0.0) - bi) > 0.5 or abs(row.get("bytes_out", 0.0) - bo) > 0.5:
                bad += 1
                if bad <= 3:
                    print("  %s step %d: RRD %s, truth %d %d" % (sub, end, row, bi, bo))
    check(compared > 50 and bad == 0, "step59: %d per-step byte counts compared, %d differ" % (compared, bad))
    if os.path.exists(os.path.join(d, "sensor.rrd")):
        check(rrdsum.info(os.path.join(d, "sensor.rrd"))[0] == 59, "step59: sensor.rrd has step 59")


def case_nowait(w):
    """The writer's share of a tiny replay's wall time: with -o minus without."""
    tiny = w.path("tiny.pcap")
    subprocess.run([w.gen, "-q", "-w", tiny, "--seed", "3", "--subscribers", "2", "--packets", "20"], check=True)
    times = {}
    for with_rrd in (False, True):
        best = None
        for i in range(3):
            rc, err, secs = spanwatch(["-q", "-r", tiny] + (["-o", w.path("tiny-%d" % i)] if with_rrd else []))
            assert rc == 0, err
            best = secs if best is None else min(best, secs)
        times[with_rrd] = best
    check(times[True] - times[False] < 0.25,
          "nowait: a 20-packet replay takes %.2fs with RRDs, %.2fs without" % (times[True], times[False]))


CASES = ["refuse", "stall", "longline", "garbage", "fifo", "symlink", "fulldisk", "skipped", "step59", "nowait"]


def main():
    want = sys.argv[1:] or CASES
    w = Work()
    try:
        for c in want:
            if c in ("refuse",) and not shutil.which("rrdcached"):
                print("%s: SKIP (no rrdcached)" % c)
                continue
            t0 = time.monotonic()
            globals()["case_" + c](w)
            print("  (%s: %.1fs)" % (c, time.monotonic() - t0))
    finally:
        if not os.environ.get("RRDFAULT_KEEP"):
            shutil.rmtree(w.dir, ignore_errors=True)
    print("rrdfault: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
