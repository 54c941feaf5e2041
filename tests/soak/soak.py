#!/usr/bin/python3
"""Issue 9's soak: spanwatch reads one endless capture from its standard
input for DURATION seconds, and its resident memory and open descriptors
must stay flat. Run through soak.sh DURATION_SECONDS (t_soak.sh: 300 s
under the sanitizer build, so LeakSanitizer checks the exit).

The feeder replays one spanwatch-gen capture (200 subscribers, 5 minutes)
in a loop into one pcap stream: one file header, then the records with
their timestamps moved on by 300 s per pass, so packet time runs on and
every pass brings the same subscribers, flows, nDPI work, SMTP sessions,
BitTorrent and RRD updates again. It is paced at SOAK_PPS packets per
second of wall time (default 15000: packet time runs at about 32x; the
san build then takes about half a core, the opt build a fifth).

Every SOAK_EVERY seconds (default 5) the sampler writes one line to
build/test-artifacts/soak.tsv (or SOAK_TSV): seconds, packets fed,
packet time reached, VmRSS and VmHWM (KiB), open descriptors
(/proc/PID/fd) other than RRD files, RRD files open (the writer thread
holds one while librrd updates it), threads. At the end spanwatch gets
SIGTERM and must exit 0 with no sanitizer report (LeakSanitizer runs at
exit in the san build).

Pass: over the second half of the samples, max - min of VmRSS is under
5% of its median + 4 MiB, the count of descriptors other than RRD files
is constant, and at most 2 RRD files are ever seen open at once.

Expected shape: RSS rises for the first packet-hours and then stays flat.
Besides start-up, the rise is the RRD writer's queue (rrdw.c: a ring of
65,536 snapshots of 144 bytes, 9 MiB allocated once), whose pages become
resident as the ring goes round the first time: about 20 KiB a step with
200 subscribers, so it is all resident after about 8 hours of packet time
(measured: flat at 49 MiB from 8.5 h on, opt build, 100,000 packets/s).
"""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
T = 1767225600
PASS_S = 300


def status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as fp:
            for line in fp:
                k, _, v = line.partition(":")
                out[k] = v.split()[0] if v.split() else ""
    except OSError:
        pass
    return out


def nfds(pid, rrd_dir):
    """(descriptors, of which RRD files): the writer thread holds one RRD
    file open while librrd updates it, so those come and go; the others
    must not."""
    n = rrd = 0
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return -1, -1
    for fd in names:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue		# closed meanwhile
        n += 1
        rrd += target.startswith(rrd_dir + "/")
    return n - rrd, rrd


class Feeder(threading.Thread):
    def __init__(self, pcap, stream, pps):
        super().__init__(daemon=True)
        with open(pcap, "rb") as fp:
            self.data = fp.read()
        assert struct.unpack_from("<I", self.data)[0] == 0xa1b2c3d4
        self.recs = []
        off = 24
        while off + 16 <= len(self.data):
            sec, usec, incl, _ = struct.unpack_from("<IIII", self.data, off)
            self.recs.append((sec, usec, off, off + 16 + incl))
            off += 16 + incl
        self.stream, self.pps = stream, pps
        self.fed = 0
        self.ptime = T
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            self.stream.write(self.data[:24])
            t0 = time.monotonic()
            batch = max(1, self.pps // 20)
            k = 0
            while not self.stop.is_set():
                shift = k * PASS_S
                for i in range(0, len(self.recs), batch):
                    if self.stop.is_set():
                        return
                    buf = bytearray()
                    for sec, usec, a, b in self.recs[i:i + batch]:
                        buf += struct.pack("<II", sec + shift, usec)
                        buf += self.data[a + 8:b]
                    self.stream.write(buf)
                    self.stream.flush()
                    self.fed += len(self.recs[i:i + batch])
                    self.ptime = self.recs[min(i + batch, len(self.recs)) - 1][0] + shift
                    ahead = t0 + self.fed / self.pps - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                k += 1
        except (BrokenPipeError, OSError) as e:
            self.error = e


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    pps = int(os.environ.get("SOAK_PPS", "15000"))
    every = float(os.environ.get("SOAK_EVERY", "5"))
    art = os.path.join(TOP, "build", "test-artifacts")
    os.makedirs(art, exist_ok=True)
    tsv = os.environ.get("SOAK_TSV") or os.path.join(art, "soak.tsv")
    work = tempfile.mkdtemp(prefix="sw-soak-")
    failures = []
    try:
        pcap = os.path.join(work, "g.pcap")
        subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--conf-dir",
                        os.path.join(work, "conf"), "--seed", "41", "--subscribers", "200", "--duration",
                        str(PASS_S), "--rate", "300"], check=True)
        rrd_dir = os.path.join(work, "rrd")
        errf = open(os.path.join(work, "stderr"), "wb")
        proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-c",
                                 os.path.join(work, "conf", "spanwatch.conf"), "-r", "-",
                                 "-o", rrd_dir, "--alerts-json", os.path.join(work, "alerts.json")],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errf)
        feeder = Feeder(pcap, proc.stdin, pps)
        os.unlink(pcap)
        print("soak: %s, %d packets per pass of %d s, fed at %d packets/s for %.0f s; samples every %.0f s to %s" % (
            os.path.join(SW_BIN, "spanwatch"), len(feeder.recs), PASS_S, pps, duration, every, tsv))
        feeder.start()
        t0 = time.monotonic()
        rows = []
        with open(tsv, "w") as out:
            out.write("t_s\tpackets\tpacket_time\trss_kib\thwm_kib\tfds\trrd_fds\tthreads\n")
            while True:
                now = time.monotonic() - t0
                if proc.poll() is not None:
                    failures.append("spanwatch exited early (%d) at %.0f s" % (proc.returncode, now))
                    break
                st = status(proc.pid)
                row = (round(now, 1), feeder.fed, feeder.ptime, int(st.get("VmRSS", 0)), int(st.get("VmHWM", 0))) + \
                    nfds(proc.pid, rrd_dir) + (int(st.get("Threads", 0)),)
                rows.append(row)
                out.write("\t".join(str(x) for x in row) + "\n")
                out.flush()
                if now >= duration:
                    break
                time.sleep(max(0.0, every - (time.monotonic() - t0 - now)))
        feeder.stop.set()
        feeder.join(30)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
        try:
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = proc.wait(300)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            failures.append("spanwatch did not exit within 300 s of SIGTERM")
        errf.close()
        with open(os.path.join(work, "stderr"), errors="replace") as fp:
            err = fp.read()
        if feeder.error:
            failures.append("feeder: %s" % feeder.error)
        if rc != 0:
            failures.append("spanwatch exit %d after SIGTERM" % rc)
        for marker in ("LeakSanitizer", "AddressSanitizer", "runtime error:"):
            if marker in err:
                i = err.index(marker)
                failures.append("sanitizer report: %s" % err[max(0, i - 200):i + 1500])
        summ = [l for l in err.splitlines() if l.startswith("summary ")]
        print(summ[-1] if summ else "no summary line")

        if len(rows) >= 6:
            half = rows[len(rows) // 2:]
            rss = sorted(r[3] for r in half)
            med = rss[len(rss) // 2]
            spread = rss[-1] - rss[0]
            allowed = 0.05 * med + 4096
            fds = set(r[5] for r in half)
            thr = set(r[7] for r in half)
            rrd_open = max(r[6] for r in rows)
            first = rows[1] if len(rows) > 1 else rows[0]
            print("soak: %d samples; packet time %.1f h over %.0f s; RSS KiB first %d, at half %d, last %d, "
                  "peak %d; last half: min %d max %d spread %d (allowed %.0f); fds %s (whole run %s) plus at most %d RRD "
                  "file open; threads %s" % (
                      len(rows), (rows[-1][2] - T) / 3600.0, rows[-1][0], first[3], rows[len(rows) // 2][3],
                      rows[-1][3], rows[-1][4], rss[0], rss[-1], spread, allowed, sorted(fds),
                      sorted(set(r[5] for r in rows)), rrd_open, sorted(thr)))
            if spread >= allowed:
                failures.append("RSS not flat over the last half: %d KiB spread, allowed %.0f" % (spread, allowed))
            if len(fds) != 1:
                failures.append("descriptors changed over the last half: %s" % sorted(fds))
            if rrd_open > 2:
                failures.append("%d RRD files open at once" % rrd_open)
            if len(thr) != 1:
                failures.append("threads changed over the last half: %s" % sorted(thr))
        else:
            failures.append("too few samples (%d)" % len(rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    print("soak: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
