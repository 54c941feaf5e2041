"""Hostile capture files (issues 14.1, 14.3, 14.4, 14.9, 13.8, 13.9), run by
t_hostile.sh. Every capture is written here with struct, so the script's
own sums are the oracle: the IP bytes each record carries, the time each
record was written with.

  time-2038     one record at 2^31 + x s among 2026 records: counted, named
                in a warning, the clock unmoved (sensor.rrd last_update,
                flow log times stay in 2026)
  time-first    the same record first in the file
  time-future   one record 70 years on (still a valid uint32 time), likewise
  time-2e40     a pcapng record at 2^40 s, likewise
  time-2e40-first  the same record first in the file
  time-2040     a whole capture in 2040 (every ts_sec >= 2^31): read with its
                own times (flow log first_ts = the written time)
  len-v4        74-byte frames (caplen = wire length = 74) whose IPv4 total
                length says 65535: billed what the wire carried (60 bytes),
                counted malformed; beside them padded 60-byte frames (IP
                length smaller than the frame: billed the IP length) and
                snapped frames (caplen < wire length: billed the IP length)
  len-v6        a 148-byte frame whose IPv6 payload length says 65535
  linktypes     a pcapng whose two interfaces have different link types:
                exit 1 and an error that says so
  order         -r new.pcap,old.pcap: a warning names old.pcap, the bytes
                of both are counted
  quiet         -q with a file that ends in an incomplete record: the
                warning is still on stderr
  sighup        a capture fed slowly through a pipe to -r - under a SIGHUP
                storm: every packet counted, exit 0; the subscriber map
                changed mid-replay is reloaded ("reloaded: 3 subscribers")
  sigterm       SIGTERM while -r - waits on an idle pipe: exit 0 at once,
                what came through counted
"""
import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(TOP, "tests/lib"))
import rrdsum  # noqa: E402

SW = os.path.join(os.environ.get("SW_BIN") or os.path.join(TOP, "bin"), "spanwatch")
T0 = 1767225600          # 2026-01-01T00:00:00Z
T2040 = 2208988800       # 2040-01-01T00:00:00Z, above 2^31
MAC = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("  FAIL: " + what)
    return cond


# ---- frames ----------------------------------------------------------------
def udp4(i, payload_len=20, tot=None):
    """IPv4/UDP datagram i (a flow of its own); tot overrides the total length."""
    payload = bytes((i + k) & 0xff for k in range(payload_len))
    udp = struct.pack(">HHHH", 10000 + i, 53, 8 + len(payload), 0) + payload
    real = 20 + len(udp)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, real if tot is None else tot, i & 0xffff, 0, 64, 17,
                       0, bytes([100, 64, (i >> 8) & 0xff, i & 0xff]), bytes([192, 0, 2, 1])) + udp


def udp6(i, payload_len=20, plen=None):
    payload = bytes((i + k) & 0xff for k in range(payload_len))
    udp = struct.pack(">HHHH", 10000 + i, 53, 8 + len(payload), 0) + payload
    src = bytes.fromhex("20010db8000000000000000000000000")[:14] + struct.pack(">H", i)
    dst = bytes.fromhex("20010db8ffff00000000000000000001")
    return struct.pack(">IHBB", 0x60000000, len(udp) if plen is None else plen, 17, 64) + src + dst + udp


def eth(ip, v6=False):
    return MAC + (b"\x86\xdd" if v6 else b"\x08\x00") + ip


def pcap_file(records, snaplen=65535):
    """records: (ts_sec, ts_usec, frame[, wire_len]); caplen = len(frame)."""
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, 1)
    for r in records:
        sec, usec, f = r[:3]
        wire = r[3] if len(r) > 3 else len(f)
        out += struct.pack("<IIII", sec, usec, len(f), wire) + f
    return out


def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


SHB = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype=1):
    return block(1, struct.pack("<HHI", linktype, 0, 65535))  # microseconds


def epb(ts_us, f, ifc=0):
    return block(6, struct.pack("<IIIII", ifc, ts_us >> 32, ts_us & 0xffffffff, len(f), len(f)) + f)


def normal(n, start=T0, first=0):
    """n records one second apart, each its own flow; returns (records, ip_bytes)."""
    recs, total = [], 0
    for i in range(first, first + n):
        ip = udp4(i)
        recs.append((start + i - first, 0, eth(ip)))
        total += len(ip)
    return recs, total


# ---- running ---------------------------------------------------------------
def write(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def field(stderr, name):
    m = re.search(r"^summary .*\b%s=(\d+)" % name, stderr, re.M)
    return int(m.group(1)) if m else None


def run(name, args, stdin=None):
    p = subprocess.run([SW] + args, capture_output=True, text=True, errors="replace", stdin=stdin)
    first = [ln for ln in p.stderr.splitlines() if not ln.startswith("summary")][:1]
    print("%s: exit %d, %s" % (name, p.returncode, (first or ["(no message)"])[0][:160]))
    check(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", p.stderr),
          "%s: sanitizer report on stderr" % name)
    return p


def flow_times(path):
    """(first_ts, last_ts) of every flow log line, as floats."""
    out = []
    with open(path) as f:
        for ln in f:
            cols = ln.rstrip("\n").split("\t")
            if cols[0] == "first_ts" or len(cols) < 2:
                continue
            out.append((float(cols[0]), float(cols[1])))
    return out


def check_counted(name, p, rrd, want_bytes, want_packets, lo, hi, flog=None):
    """Summary and sensor.rrd hold want_bytes; every time stays in [lo, hi]."""
    check(p.returncode == 0, "%s: exit %d, want 0" % (name, p.returncode))
    check(field(p.stderr, "ip_bytes") == want_bytes,
          "%s: summary ip_bytes=%s, want %d" % (name, field(p.stderr, "ip_bytes"), want_bytes))
    check(field(p.stderr, "packets") == want_packets,
          "%s: summary packets=%s, want %d" % (name, field(p.stderr, "packets"), want_packets))
    srrd = os.path.join(rrd, "sensor.rrd")
    if check(os.path.exists(srrd), "%s: no sensor.rrd" % name):
        _, last = rrdsum.info(srrd)
        check(lo <= last <= hi, "%s: sensor.rrd last_update %d, want within [%d, %d]" % (name, last, lo, hi))
        t = rrdsum.totals(srrd, start=lo - 3600, end=hi)
        check(round(t.get("bytes", 0)) == want_bytes,
              "%s: sensor.rrd bytes %.3f, want %d" % (name, t.get("bytes", 0), want_bytes))
    if flog:
        times = flow_times(flog)
        bad = [t for t in times if not (lo <= t[0] <= hi and lo <= t[1] <= hi)]
        check(times and not bad, "%s: flow log times outside [%d, %d]: %s" % (name, lo, hi, bad[:3]))


def warned(name, stderr, path, what):
    lines = [ln for ln in stderr.splitlines() if "warning:" in ln and path in ln]
    check(any(re.search(what, ln) for ln in lines),
          "%s: no warning naming %s and /%s/ (got %r)" % (name, path, what, lines[:3]))


def case_time(tmp, name, odd_sec, odd_usec=0, pcapng=False, odd_us=None, at=10):
    """20 records of 2026 with one odd time at record at + 1."""
    recs, total = normal(20)
    odd_ip = udp4(500)
    recs.insert(at, (odd_sec, odd_usec, eth(odd_ip)))
    total += len(odd_ip)
    if pcapng:
        data = SHB + idb() + b"".join(epb(odd_us if i == at else r[0] * 1000000 + r[1], r[2])
                                      for i, r in enumerate(recs))
    else:
        data = pcap_file(recs)
    path = write(tmp, name + (".pcapng" if pcapng else ".pcap"), data)
    rrd, flog = os.path.join(tmp, "rrd-" + name), os.path.join(tmp, name + ".flows")
    p = run(name, ["-r", path, "-o", rrd, "--flow-log", flog])
    check_counted(name, p, rrd, total, 21, T0, T0 + 3600, flog)
    warned(name, p.stderr, path, r"record %d\b" % (at + 1))
    # A normal run after it into the same folder still writes its steps.
    later, lb = normal(5, start=T0 + 7200)
    path2 = write(tmp, name + "-later.pcap", pcap_file(later))
    p2 = run(name + " then a later file", ["-r", path2, "-o", rrd])
    check(p2.returncode == 0, "%s: the later run exits %d" % (name, p2.returncode))
    srrd = os.path.join(rrd, "sensor.rrd")
    _, last = rrdsum.info(srrd)
    check(T0 + 7200 <= last <= T0 + 7200 + 3600,
          "%s: after a later run sensor.rrd last_update is %d, want the later steps" % (name, last))


def case_2040(tmp):
    name = "time-2040"
    recs, total = normal(30, start=T2040 + 5)
    recs = [(s, 250000 * (i % 4), f) for i, (s, _, f) in enumerate(recs)]
    path = write(tmp, name + ".pcap", pcap_file(recs))
    rrd, flog = os.path.join(tmp, "rrd-" + name), os.path.join(tmp, name + ".flows")
    p = run(name, ["-r", path, "-o", rrd, "--flow-log", flog])
    check_counted(name, p, rrd, total, 30, T2040, T2040 + 3600, flog)
    written = sorted(s + u / 1e6 for s, u, _ in recs)
    got = sorted(t[0] for t in flow_times(flog))
    check(len(got) == len(written) and all(abs(a - b) < 1e-6 for a, b in zip(got, written)),
          "%s: flow log first_ts %s..., want the written %s..." % (name, got[:3], written[:3]))
    check("warning:" not in p.stderr, "%s: a warning for a good capture" % name)


def case_lengths(tmp):
    # IPv4: 1000 lying frames, 10 padded ones, 10 snapped ones.
    name = "len-v4"
    recs, want = [], 0
    for i in range(1000):
        f = eth(udp4(i, payload_len=32, tot=65535))      # 14 + 20 + 8 + 32 = 74 bytes
        assert len(f) == 74
        recs.append((T0 + i // 100, (i % 100) * 1000, f))
        want += 74 - 14
    for i in range(1000, 1010):
        ip = udp4(i, payload_len=0)                      # 28 bytes of IP in a 60-byte frame
        recs.append((T0 + 10, i, eth(ip) + b"\0" * (60 - 14 - len(ip))))
        want += len(ip)
    for i in range(1010, 1020):
        ip = udp4(i, payload_len=1472)                   # 1500 bytes of IP, 96 captured
        recs.append((T0 + 11, i, eth(ip)[:96], 14 + len(ip)))
        want += len(ip)
    path = write(tmp, name + ".pcap", pcap_file(recs, snaplen=65535))
    rrd = os.path.join(tmp, "rrd-" + name)
    p = run(name, ["-r", path, "-o", rrd])
    check_counted(name, p, rrd, want, 1020, T0, T0 + 3600)
    check(field(p.stderr, "malformed") == 1000,
          "%s: summary malformed=%s, want 1000" % (name, field(p.stderr, "malformed")))
    check(field(p.stderr, "ip_packets") == 1020,
          "%s: summary ip_packets=%s, want 1020" % (name, field(p.stderr, "ip_packets")))

    name = "len-v6"
    f = eth(udp6(1, payload_len=148 - 14 - 40 - 8, plen=65535), v6=True)
    assert len(f) == 148
    good = udp6(2, payload_len=100)
    recs = [(T0, 0, f), (T0 + 1, 0, eth(good, v6=True))]
    path = write(tmp, name + ".pcap", pcap_file(recs))
    rrd = os.path.join(tmp, "rrd-" + name)
    p = run(name, ["-r", path, "-o", rrd])
    check_counted(name, p, rrd, (148 - 14) + len(good), 2, T0, T0 + 3600)
    check(field(p.stderr, "malformed") == 1,
          "%s: summary malformed=%s, want 1" % (name, field(p.stderr, "malformed")))


def case_linktypes(tmp):
    name = "linktypes"
    ip = udp4(1)
    data = (SHB + idb(1) + epb(T0 * 1000000, eth(ip)) + idb(101) +
            epb((T0 + 1) * 1000000, ip, ifc=1))
    path = write(tmp, name + ".pcapng", data)
    p = run(name, ["-r", path])
    check(p.returncode == 1, "%s: exit %d, want 1" % (name, p.returncode))
    lines = [ln for ln in p.stderr.splitlines() if "error:" in ln and path in ln]
    check(any("different link types" in ln for ln in lines),
          "%s: no error naming %s and its different link types (got %r)" % (name, path, lines[:2]))
    check(not any("damaged" in ln for ln in lines), "%s: still called damaged: %r" % (name, lines[:2]))
    check(field(p.stderr, "ip_bytes") == len(ip),
          "%s: summary ip_bytes=%s, want %d (the packet before the second interface)"
          % (name, field(p.stderr, "ip_bytes"), len(ip)))


def case_order(tmp):
    name = "order"
    new, nb = normal(10, start=T0 + 600, first=0)
    old, ob = normal(10, start=T0, first=100)
    pnew = write(tmp, "new.pcap", pcap_file(new))
    pold = write(tmp, "old.pcap", pcap_file(old))
    rrd = os.path.join(tmp, "rrd-" + name)
    p = run(name, ["-r", pnew + "," + pold, "-o", rrd])
    check_counted(name, p, rrd, nb + ob, 20, T0, T0 + 3600)
    warned(name, p.stderr, pold, r"before")
    check(not any("warning:" in ln and pnew in ln and pold not in ln for ln in p.stderr.splitlines()),
          "%s: a warning names new.pcap alone" % name)
    # In order: no warning.
    p = run(name + " in order", ["-r", pold + "," + pnew])
    check("warning:" not in p.stderr, "%s: a warning for files in order" % name)


def case_quiet(tmp):
    name = "quiet"
    recs, total = normal(5)
    data = pcap_file(recs)
    path = write(tmp, name + ".pcap", data + struct.pack("<IIII", T0 + 9, 0, 60, 60) + b"\0" * 20)
    p = run(name, ["-q", "-r", path])
    check(p.returncode == 0, "%s: exit %d, want 0" % (name, p.returncode))
    warned(name, p.stderr, path, "incomplete record")
    check(field(p.stderr, "packets") is None, "%s: -q printed the summary" % name)


def wait_handlers(pid, timeout=30):
    """Until the process catches SIGHUP and SIGTERM (its handlers are set:
    before that, a SIGHUP would kill it)."""
    want = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGTERM - 1))
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open("/proc/%d/status" % pid) as f:
                cgt = next(int(ln.split()[1], 16) for ln in f if ln.startswith("SigCgt:"))
            if cgt & want == want:
                return True
        except (OSError, StopIteration):
            return False
        time.sleep(0.02)
    return False


def pipe_unread(fp):
    """Bytes written to the pipe that the reader has not read yet."""
    buf = bytearray(4)
    fcntl.ioctl(fp.fileno(), termios.FIONREAD, buf)
    return struct.unpack("i", buf)[0]


def case_sighup(tmp):
    name = "sighup"
    n = 600
    recs, total = normal(n)
    data = pcap_file(recs)
    subs = os.path.join(tmp, "subs.txt")
    with open(subs, "w") as f:
        f.write("100.64.0.0/24 cust-a\n")
    sw = subprocess.Popen([SW, "-v", "-r", "-", "-S", subs], stdin=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    stop = threading.Event()
    sent = [0]

    def storm():
        while not stop.is_set():
            try:
                sw.send_signal(signal.SIGHUP)
            except ProcessLookupError:
                return
            sent[0] += 1
            time.sleep(0.002)

    err = []
    reader = threading.Thread(target=lambda: err.append(sw.stderr.read()))
    reader.start()
    check(wait_handlers(sw.pid), "%s: spanwatch never set its signal handlers" % name)
    t = threading.Thread(target=storm)
    t.start()
    chunk = 997  # not a record boundary
    half = len(data) // 2
    for off in range(0, len(data), chunk):
        if off <= half < off + chunk:
            with open(subs, "w") as f:
                f.write("100.64.0.0/26 cust-a\n100.64.0.64/26 cust-b\n100.64.1.0/24 cust-c\n")
            time.sleep(0.2)  # the storm's next SIGHUP reloads the new map
        try:
            sw.stdin.write(data[off:off + chunk])
            sw.stdin.flush()
        except BrokenPipeError:  # spanwatch gave up reading
            break
        time.sleep(0.005)
    try:
        sw.stdin.close()
    except BrokenPipeError:
        pass
    rc = sw.wait(timeout=60)
    stop.set()
    t.join()
    reader.join()
    stderr = (err[0] if err else b"").decode(errors="replace")
    print("%s: exit %d after %d SIGHUPs, %s" % (name, rc, sent[0],
          ([ln for ln in stderr.splitlines() if "error" in ln] or ["no error"])[0][:160]))
    check(sent[0] > 100, "%s: only %d SIGHUPs sent" % (name, sent[0]))
    check(rc == 0, "%s: exit %d, want 0" % (name, rc))
    check(field(stderr, "packets") == n, "%s: summary packets=%s, want %d" % (name, field(stderr, "packets"), n))
    check(field(stderr, "ip_bytes") == total,
          "%s: summary ip_bytes=%s, want %d" % (name, field(stderr, "ip_bytes"), total))
    check("reloaded: 3 subscribers" in stderr,
          "%s: the subscriber map changed mid-replay was not reloaded" % name)
    check(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", stderr),
          "%s: sanitizer report on stderr" % name)


def case_sigterm(tmp):
    """SIGTERM while -r - waits on an idle pipe: it stops, counts what came."""
    name = "sigterm"
    recs, total = normal(300)
    sw = subprocess.Popen([SW, "-r", "-"], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdout=subprocess.DEVNULL)
    check(wait_handlers(sw.pid), "%s: spanwatch never set its signal handlers" % name)
    sw.stdin.write(pcap_file(recs))
    sw.stdin.flush()
    end = time.time() + 30
    while pipe_unread(sw.stdin) and time.time() < end:
        time.sleep(0.05)
    time.sleep(1.0)  # read, counted, and waiting for more
    sw.send_signal(signal.SIGTERM)
    try:
        rc = sw.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sw.kill()
        rc = None
    stderr = sw.stderr.read().decode(errors="replace")
    sw.stdin.close()
    print("%s: exit %s" % (name, rc))
    check(rc == 0, "%s: exit %s after SIGTERM on an idle pipe, want 0 within 10 s" % (name, rc))
    check(field(stderr, "packets") == 300, "%s: summary packets=%s, want 300" % (name, field(stderr, "packets")))
    check(field(stderr, "ip_bytes") == total,
          "%s: summary ip_bytes=%s, want %d" % (name, field(stderr, "ip_bytes"), total))


def main():
    if not os.access(SW, os.X_OK):
        print("no %s (make first)" % SW)
        return 1
    only = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="hostile.")
    cases = {
        "time-2038": lambda: case_time(tmp, "time-2038", (1 << 31) + 12345),
        "time-first": lambda: case_time(tmp, "time-first", (1 << 31) + 12345, at=0),
        "time-future": lambda: case_time(tmp, "time-future", T0 + 70 * 365 * 86400),
        "time-2e40": lambda: case_time(tmp, "time-2e40", 0, pcapng=True, odd_us=(1 << 40) * 1000000),
        "time-2e40-first": lambda: case_time(tmp, "time-2e40-first", 0, pcapng=True,
                                             odd_us=(1 << 40) * 1000000, at=0),
        "time-2040": lambda: case_2040(tmp),
        "lengths": lambda: case_lengths(tmp),
        "linktypes": lambda: case_linktypes(tmp),
        "order": lambda: case_order(tmp),
        "quiet": lambda: case_quiet(tmp),
        "sighup": lambda: case_sighup(tmp),
        "sigterm": lambda: case_sigterm(tmp),
    }
    try:
        for k, fn in cases.items():
            if not only or k in only:
                fn()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("all hostile captures handled")
    return 0


sys.exit(main())
