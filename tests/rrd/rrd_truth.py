#!/usr/bin/python3
"""Issue 4's end-to-end checks of the RRD files, against independent oracles.

1. Per subscriber and per step, bytes_in and bytes_out in its RRD file equal
   the generator's ground truth (exactly, up to float rounding).
2. sensor.rrd's packets and bytes over the run equal tshark's count.
3. The same run written through a real rrdcached (started here, on a unix
   socket in a temporary folder) gives identical RRD contents.
4. SIGTERM while spanwatch reads a capture from a pipe: what it had read
   (its summary) is in sensor.rrd, to the byte.
"""
import os
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

failures = []


def check(ok, msg):
    if not ok:
        failures.append(msg)
        print("FAIL " + msg)


def close(a, b):
    return abs(a - b) <= max(0.5, 1e-9 * abs(b))


def read_truth(path):
    return gentruth.steps(gentruth.read(path)[1])


def spanwatch(args, **kw):
    return subprocess.run([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-q", "-v"] + args,
                          capture_output=True, text=True, **kw)


def tshark_totals(pcap):
    out = subprocess.run(["sh", os.path.join(TOP, "tests", "corpus", "tshark-totals.sh"),
                          os.path.dirname(pcap)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith(os.path.basename(pcap) + "\t"):
            f = line.split("\t")
            return int(f[1]), int(f[2])
    raise RuntimeError("tshark gave nothing")


def fetch_all(d):
    """Every file's full `rrdtool fetch` output, for byte-for-byte comparison."""
    res = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            step, last = rrdsum.info(p)
            for cf, res_ in (("AVERAGE", step), ("MAX", step * 5), ("AVERAGE", 3600)):
                out = subprocess.run(["rrdtool", "fetch", p, cf, "-r", str(res_), "-s", str(last - 86400),
                                      "-e", str(last)], capture_output=True, text=True, check=True).stdout
                res[(os.path.relpath(p, d), cf, res_)] = out
    return res


def main():
    work = tempfile.mkdtemp(prefix="sw-rrd-")
    try:
        os.makedirs(os.path.join(work, "cap"))
        pcap = os.path.join(work, "cap", "g.pcap")
        subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth",
                        os.path.join(work, "truth.tsv"), "--conf-dir", os.path.join(work, "conf"),
                        "--seed", "5", "--subscribers", "80", "--duration", "900", "--rate", "80",
                        "--vlan"], check=True)
        conf = os.path.join(work, "conf", "spanwatch.conf")
        truth = read_truth(os.path.join(work, "truth.tsv"))

        # 1. direct librrd
        d1 = os.path.join(work, "direct")
        p = spanwatch(["-c", conf, "-r", pcap, "-o", d1])
        check(p.returncode == 0, "spanwatch exit %d: %s" % (p.returncode, p.stderr[-500:]))
        compared = 0
        for sub, per_step in truth.items():
            path = os.path.join(d1, "subscribers", sub + ".rrd")
            if not os.path.exists(path):
                check(all(v == (0, 0) for v in per_step.values()), "%s: no RRD file" % sub)
                continue
            got = rrdsum.steps(path)
            for end, (bin_, bout) in per_step.items():
                row = got.get(end, {})
                gi, go = row.get("bytes_in", 0.0), row.get("bytes_out", 0.0)
                compared += 1
                check(close(gi, bin_) and close(go, bout),
                      "%s step %d: RRD in %.1f out %.1f, truth in %d out %d" % (sub, end, gi, go, bin_, bout))
        print("per-step subscriber byte counts compared: %d" % compared)
        check(compared > 300, "too few steps compared (%d)" % compared)

        # 2. sensor.rrd against tshark
        tp, tb = tshark_totals(pcap)
        st = rrdsum.totals(os.path.join(d1, "sensor.rrd"))
        print("sensor.rrd packets %.1f bytes %.1f; tshark %d %d" % (st.get("packets", 0), st.get("bytes", 0), tp, tb))
        check(close(st.get("packets", 0), tp) and close(st.get("bytes", 0), tb), "sensor.rrd differs from tshark")

        # 3. through a real rrdcached
        rc_dir = os.path.join(work, "rrdcached")
        os.makedirs(rc_dir)
        sock = os.path.join(rc_dir, "sock")
        daemon = subprocess.Popen(["rrdcached", "-g", "-l", "unix:" + sock, "-b", rc_dir, "-B", "-R",
                                   "-p", os.path.join(rc_dir, "pid"), "-w", "3600", "-f", "7200"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
            d2 = os.path.join(rc_dir, "cached")
            p = spanwatch(["-c", conf, "-r", pcap, "-o", d2, "--rrdcached", "unix:" + sock])
            check(p.returncode == 0, "spanwatch via rrdcached exit %d: %s" % (p.returncode, p.stderr[-500:]))
            a, b = fetch_all(d1), fetch_all(d2)
            check(a.keys() == b.keys(), "rrdcached run wrote other files: %s" % sorted(set(a) ^ set(b))[:5])
            diff = [k for k in a if k in b and a[k] != b[k]]
            check(not diff, "rrdcached run differs in %d fetches, e.g. %s" % (len(diff), diff[:3]))
            print("rrdcached: %d fetches identical to the direct run" % (len(a) - len(diff)))
        finally:
            daemon.terminate()
            daemon.wait(10)

        # 4. SIGTERM in the middle of a read
        d3 = os.path.join(work, "sigterm")
        proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-q", "-v", "-c", conf,
                                 "-r", "-", "-o", d3], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
        with open(pcap, "rb") as fp:
            data = fp.read()
        proc.stdin.write(data[: len(data) // 2])
        proc.stdin.flush()
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait(60)
        check(rc == 0, "SIGTERM run exit %d: %s" % (rc, err[-500:]))
        s = swsummary.of(err)
        st = rrdsum.totals(os.path.join(d3, "sensor.rrd"))
        print("SIGTERM: read %s packets %s bytes; sensor.rrd %.1f %.1f" % (s["ip_packets"], s["ip_bytes"],
              st.get("packets", 0), st.get("bytes", 0)))
        check(int(s["ip_packets"]) > 0 and close(st.get("packets", 0), int(s["ip_packets"]))
              and close(st.get("bytes", 0), int(s["ip_bytes"])), "SIGTERM: RRDs miss what was read")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("rrd truth: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
