"""Damaged and odd capture files (issue 9), run by t_badfiles.sh.

Each case is a file written here with struct: some good packets, then the
damage. spanwatch -r FILE -o DIR must
  - exit as sensor/capture/capture.c documents: 0 when the file only ends in an
    incomplete record (a killed tcpdump or dumpcap: a warning), 1 for any
    other damage or a file that is no capture (an error);
  - say so on stderr, naming the file (its path as given);
  - count what came before the damage: the summary's ip_packets and
    ip_bytes are those of the good packets, and so are sensor.rrd's
    packets and bytes (read back with rrdtool, tests/lib/rrdsum.py);
  - print no sanitizer report (the san variant runs this too).
Oddities that libpcap reads as the formats allow (an unknown pcapng block,
a snaplen of 0 or 2^32-1, a caplen above the snaplen) read every packet,
exit 0 and print no error.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(TOP, "tests/lib"))
import rrdsum  # noqa: E402

SW = os.path.join(os.environ.get("SW_BIN") or os.path.join(TOP, "bin"), "spanwatch")
T0 = 1767225600


# ---- frames ----------------------------------------------------------------
def frame(i, payload_len=20):
    """Ethernet, IPv4, UDP: a flow of its own per i. Returns (frame, ip_len)."""
    payload = bytes((i + k) & 0xff for k in range(payload_len))
    udp = struct.pack(">HHHH", 40000 + i, 53, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                     bytes([100, 64, 0, 1 + i % 200]), bytes([192, 0, 2, 1])) + udp
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip, len(ip)


def pcap_header(snaplen=65535, linktype=1):
    return struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(i, data, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    return struct.pack("<IIII", T0 + i, 0, caplen, len(data) if wirelen is None else wirelen) + data


def good_pcap(n, start=0, payload_len=20):
    """n good records; returns (bytes, ip_bytes)."""
    recs, total = b"", 0
    for i in range(start, start + n):
        f, iplen = frame(i, payload_len)
        recs += pcap_record(i, f)
        total += iplen
    return recs, total


def block(btype, body):
    """A pcapng block (pcapng draft, section 3.1), body padded to 32 bits."""
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


SHB = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
IDB = block(1, struct.pack("<HHI", 1, 0, 65535))  # Ethernet, snaplen 65535, microseconds


def epb(i):
    f, iplen = frame(i)
    ts = (T0 + i) * 1000000
    return block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(f), len(f)) + f), iplen


def good_pcapng(n, start=0):
    blocks, total = b"", 0
    for i in range(start, start + n):
        b, iplen = epb(i)
        blocks += b
        total += iplen
    return blocks, total


# ---- the cases -------------------------------------------------------------
# (name, bytes, exit status, good IP packets, their IP bytes, message)
# message: "warning" or "error" (stderr names the file at that level), or
# None (no error or warning at all).
def cases():
    out = []
    g5, b5 = good_pcap(5)
    f5, _ = frame(5)
    out.append(("truncated-record.pcap", pcap_header() + g5 + pcap_record(5, f5)[:16 + 30],
                0, 5, b5, "warning"))
    out.append(("truncated-header.pcap", pcap_header() + g5 + pcap_record(5, f5)[:10],
                0, 5, b5, "warning"))
    n3, nb3 = good_pcapng(3)
    e3, _ = epb(3)
    out.append(("truncated-block.pcapng", SHB + IDB + n3 + e3[:40], 0, 3, nb3, "warning"))
    out.append(("truncated-blockheader.pcapng", SHB + IDB + n3 + e3[:6], 0, 3, nb3, "warning"))
    out.append(("empty.pcap", b"", 1, 0, 0, "error"))
    out.append(("short-fileheader.pcap", pcap_header()[:10], 1, 0, 0, "error"))
    out.append(("text.pcap", b"# subscribers\n10.0.0.0/8 cust-1\nthis is not a capture file\n",
                1, 0, 0, "error"))
    a, ab = good_pcapng(2)
    b, bb = good_pcapng(2, 2)
    out.append(("unknown-block.pcapng",
                SHB + IDB + a + block(0x0BAD0BAD, b"spanwatch skips what it does not know") + b,
                0, 4, ab + bb, None))
    out.append(("unknown-block-badlength.pcapng",
                SHB + IDB + a + struct.pack("<II", 0x0BAD0BAD, 7) + b"\0" * 16 + b,
                1, 2, ab, "error"))
    g6, b6 = good_pcap(2, 6)
    out.append(("caplen-2e31.pcap", pcap_header() + g5 + pcap_record(5, f5, caplen=1 << 31) + f5 + g6,
                1, 5, b5, "error"))
    out.append(("caplen-over-max.pcap", pcap_header() + g5 + pcap_record(5, f5, caplen=300000) + f5 + g6,
                1, 5, b5, "error"))
    # caplen above the file's snaplen (but within libpcap's maximum): the
    # record is read and cut to the snaplen; its IP bytes still count in
    # full, from the IPv4 header, never the captured length.
    big, bigb = good_pcap(5, 0, payload_len=400)
    out.append(("caplen-over-snaplen.pcap", pcap_header(snaplen=96) + big, 0, 5, bigb, None))
    out.append(("snaplen-0.pcap", pcap_header(snaplen=0) + g5, 0, 5, b5, None))
    out.append(("snaplen-2e32.pcap", pcap_header(snaplen=0xffffffff) + g5, 0, 5, b5, None))
    out.append(("snaplen-2e31.pcap", pcap_header(snaplen=0x80000000) + g5, 0, 5, b5, None))
    return out


# ---- running ---------------------------------------------------------------
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("  FAIL: " + what)
    return cond


def field(stderr, name):
    m = re.search(r"^summary .*\b%s=(\d+)" % name, stderr, re.M)
    return int(m.group(1)) if m else None


def clean_stderr(name, stderr):
    check(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", stderr),
          "%s: sanitizer report on stderr" % name)


def run_case(tmp, name, data, want_rc, good, good_bytes, message, files=None):
    path = os.path.join(tmp, name)
    if data is not None:
        with open(path, "wb") as f:
            f.write(data)
    rrd = os.path.join(tmp, "rrd-" + name)
    arg = ",".join(files) if files else path
    p = subprocess.run([SW, "-r", arg, "-o", rrd], capture_output=True, text=True, errors="replace")
    err = p.stderr
    print("%s: exit %d, %s" % (name, p.returncode,
                               (err.strip().splitlines() or ["(no output)"])[0][:150]))
    clean_stderr(name, err)
    check(p.returncode == want_rc, "%s: exit %d, want %d" % (name, p.returncode, want_rc))
    lines = [ln for ln in err.splitlines() if not ln.startswith("summary ")]
    if message:
        named = [ln for ln in lines if path in ln]
        check(named, "%s: no message names %s" % (name, path))
        check(any(("%s:" % message) in ln for ln in named),
              "%s: the message naming the file is not a%s %s" % (name, "n" if message == "error" else "",
                                                                 message))
    else:
        check(not any(re.search(r"\b(error|warning):", ln) for ln in lines),
              "%s: unexpected message %r" % (name, lines[:2]))
    check(field(err, "ip_packets") == good,
          "%s: summary ip_packets=%s, want %d" % (name, field(err, "ip_packets"), good))
    check(field(err, "ip_bytes") == good_bytes,
          "%s: summary ip_bytes=%s, want %d" % (name, field(err, "ip_bytes"), good_bytes))
    srrd = os.path.join(rrd, "sensor.rrd")
    if good:
        if check(os.path.exists(srrd), "%s: no %s" % (name, srrd)):
            t = rrdsum.totals(srrd)
            check(round(t.get("packets", 0)) == good,
                  "%s: sensor.rrd packets %.3f, want %d" % (name, t.get("packets", 0), good))
            check(round(t.get("bytes", 0)) == good_bytes,
                  "%s: sensor.rrd bytes %.3f, want %d" % (name, t.get("bytes", 0), good_bytes))
    elif os.path.exists(srrd):
        t = rrdsum.totals(srrd)
        check(round(t.get("packets", 0)) == 0, "%s: sensor.rrd counts %.3f packets of nothing"
              % (name, t.get("packets", 0)))


def unreadable(tmp):
    """chmod 000, read by an unprivileged user (root reads anything)."""
    name = "unreadable.pcap"
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("%s: skipped (needs root and setpriv to run as nobody)" % name)
        return
    path = os.path.join(tmp, name)
    g, _ = good_pcap(3)
    with open(path, "wb") as f:
        f.write(pcap_header() + g)
    os.chmod(path, 0)
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        SW, "-r", path], capture_output=True, text=True, errors="replace")
    print("%s: exit %d, %s" % (name, p.returncode, (p.stderr.strip().splitlines() or [""])[0][:150]))
    clean_stderr(name, p.stderr)
    check(p.returncode == 1, "%s: exit %d, want 1" % (name, p.returncode))
    check(any(path in ln and "error:" in ln and "Permission denied" in ln
              for ln in p.stderr.splitlines()),
          "%s: no error naming the file and 'Permission denied'" % name)
    check(field(p.stderr, "ip_packets") == 0, "%s: packets counted from a file not read" % name)


def main():
    if not os.access(SW, os.X_OK):
        print("no %s (make first)" % SW)
        return 1
    tmp = tempfile.mkdtemp(prefix="badfiles.")
    os.chmod(tmp, 0o755)  # the unreadable case runs as nobody
    try:
        for c in cases():
            run_case(tmp, *c)
        # Several files: the damaged one is named, the others still count.
        g, gb = good_pcap(4)
        g2, gb2 = good_pcap(3, 10)
        first, second, bad = (os.path.join(tmp, n) for n in ("first.pcap", "second.pcap", "middle.txt"))
        for p_, d in ((first, pcap_header() + g), (second, pcap_header() + g2), (bad, b"not a capture\n")):
            with open(p_, "wb") as f:
                f.write(d)
        run_case(tmp, "middle.txt", None, 1, 7, gb + gb2, "error", files=[first, bad, second])
        unreadable(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("all bad capture files handled")
    return 0


sys.exit(main())
