"""Classic pcap files read through the mapping (sensor/capture/pcapmap.c)
against the same files read by libpcap, run by t_mapped.sh.

spanwatch maps a regular classic-pcap file and walks its records itself;
from stdin ('-r -') libpcap reads the same bytes. libpcap is the oracle:
for every file, both ways must give the same summary line, the same flow
log (every flow's times, packets, bytes, label) and the same messages
(the file's name aside), and the same exit status. The files:
  * every classic pcap of the shared corpus (real captures: many link
    types, VLAN, PPPoE, both byte orders, nanosecond files);
  * made here from one of them: each of the four magics (micro/nano, both
    byte orders), cut at a dozen places (inside a record header, inside
    a frame), a caplen above the snapshot length (cut to it), above
    libpcap's maximum (damage), a snaplen of 0, a BPF filter, and a file
    that is two files' records in a row (-r A,B).
Under ASan (SW_VARIANT=san) a sample of the corpus runs.
Exit 0 pass, 1 fail, 77 skip.
"""
import os
import struct
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SW = os.path.join(os.environ.get("SW_BIN") or os.path.join(TOP, "bin"), "spanwatch")
SHARED = os.environ.get("SHARED") or os.path.join(TOP, "..", "shared")
CORPUS = os.path.join(SHARED, "pcap", "ndpi")
SAN = os.environ.get("SW_VARIANT") == "san"
MAGICS = {0xa1b2c3d4: ("<", False), 0xd4c3b2a1: (">", False),
          0xa1b23c4d: ("<", True), 0x4d3cb2a1: (">", True)}
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL " + what)


def run(args, stdin_path=None, tmp="."):
    """spanwatch with args; returns (rc, messages, summary, flow log)."""
    log = os.path.join(tmp, "flows.tsv")
    if os.path.exists(log):
        os.unlink(log)
    with open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb") as fin:
        p = subprocess.run([SW, "--no-syslog", "--watchdog", "0", "--flow-log", log] + args,
                           stdin=fin, capture_output=True, text=True, errors="replace",
                           timeout=300)
    lines = p.stderr.splitlines()
    summary = [ln for ln in lines if ln.startswith("summary ")]
    msgs = [ln for ln in lines if not ln.startswith("summary ")]
    flows = open(log).read() if os.path.exists(log) else ""
    return p.returncode, msgs, summary, flows


def same(path, what, tmp, extra=()):
    """path read mapped and from stdin: everything alike (the flow log in
    tmp, never beside a corpus file)."""
    a = run(["-r", path] + list(extra), tmp=tmp)
    b = run(["-r", "-"] + list(extra), stdin_path=path, tmp=tmp)
    shown = path
    amsgs = [m.replace(shown, "-") for m in a[1]]
    check(a[0] == b[0], "%s: exit %d mapped, %d from libpcap" % (what, a[0], b[0]))
    check(amsgs == b[1], "%s: messages differ:\n  mapped %r\n  libpcap %r" % (what, amsgs, b[1]))
    check(a[2] == b[2], "%s: summaries differ:\n  mapped %r\n  libpcap %r" % (what, a[2], b[2]))
    check(a[3] == b[3], "%s: flow logs differ (%d and %d bytes)" % (what, len(a[3]), len(b[3])))
    return a


def classic(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24:
        return False
    m = struct.unpack("<I", head[:4])[0]
    return m in MAGICS and struct.unpack(MAGICS[m][0] + "HH", head[4:8]) == (2, 4)


def records(data):
    """[(offset, length)] of every record of a classic pcap."""
    order = MAGICS[struct.unpack("<I", data[:4])[0]][0]
    out, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack(order + "I", data[off + 8:off + 12])[0]
        if off + 16 + caplen > len(data):
            break
        out.append((off, 16 + caplen))
        off += 16 + caplen
    return out


def reorder(data, order, nano):
    """data (a little-endian microsecond pcap) in another byte order and
    time unit."""
    lt = struct.unpack("<IHHiIII", data[:24])
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = [struct.pack(order + "IHHiIII", magic, *lt[1:])]
    for off, n in records(data):
        sec, usec, cl, wl = struct.unpack("<IIII", data[off:off + 16])
        out.append(struct.pack(order + "IIII", sec, usec * 1000 + 7 if nano else usec, cl, wl))
        out.append(data[off + 16:off + n])
    return b"".join(out)


def made_cases(tmp, base):
    data = open(base, "rb").read()
    if struct.unpack("<I", data[:4])[0] != 0xa1b2c3d4:
        return
    recs = records(data)
    for order in "<>":
        for nano in (False, True):
            p = os.path.join(tmp, "order%s-nano%d.pcap" % ("le" if order == "<" else "be", nano))
            open(p, "wb").write(reorder(data, order, nano))
            same(p, os.path.basename(p), tmp)
    # Cut inside a record header and inside a frame, early and late.
    picks = [recs[i] for i in sorted({1, 2, len(recs) // 2, len(recs) - 1}) if i < len(recs)]
    for off, n in picks:
        for cut in (off + 3, off + 15, off + 16, off + 17, off + n - 1):
            p = os.path.join(tmp, "cut-%d.pcap" % cut)
            open(p, "wb").write(data[:cut])
            same(p, "cut at byte %d" % cut, tmp)
            os.unlink(p)
    # One record's caplen above the snapshot length (cut to it), then
    # above libpcap's largest (damage); a snaplen of 0 (the maximum).
    off, n = recs[len(recs) // 2]
    hdr = bytearray(data[:24])
    struct.pack_into("<I", hdr, 16, 64)
    p = os.path.join(tmp, "snap64.pcap")
    open(p, "wb").write(bytes(hdr) + data[24:])
    same(p, "snaplen 64", tmp)
    struct.pack_into("<I", hdr, 16, 0)
    p = os.path.join(tmp, "snap0.pcap")
    open(p, "wb").write(bytes(hdr) + data[24:])
    same(p, "snaplen 0", tmp)
    bad = bytearray(data)
    struct.pack_into("<I", bad, off + 8, 300000)
    p = os.path.join(tmp, "caplen-300000.pcap")
    open(p, "wb").write(bytes(bad))
    same(p, "caplen 300000", tmp)
    # A BPF filter, applied by libpcap either way.
    same(base, "filter 'tcp'", tmp, extra=["-f", "tcp"])
    # Two files in a row: mapped with a list, from stdin as one stream of
    # the same records.
    p1, p2 = os.path.join(tmp, "first.pcap"), os.path.join(tmp, "second.pcap")
    half = recs[len(recs) // 2][0]
    open(p1, "wb").write(data[:half])
    open(p2, "wb").write(data[:24] + data[half:])
    a = run(["-r", p1 + "," + p2], tmp=tmp)
    b = run(["-r", "-"], stdin_path=base, tmp=tmp)
    check(a[0] == b[0] and a[2] == b[2] and a[3] == b[3],
          "a file split in two and read as a list: %r against %r" % (a[2], b[2]))


def main():
    if not os.path.isdir(CORPUS):
        print("SKIP: %s not found (the shared corpus)" % CORPUS)
        return 77
    files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS)
                   if os.path.isfile(os.path.join(CORPUS, f)))
    pcaps = [f for f in files if classic(f)]
    check(len(pcaps) > 100, "only %d classic pcap files in the corpus" % len(pcaps))
    if SAN:
        pcaps = pcaps[::15]
    with tempfile.TemporaryDirectory() as tmp:
        for f in pcaps:
            # The corpus is read-only: the flow log goes to tmp.
            link = os.path.join(tmp, "corpus.pcap")
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(f, link)
            same(link, os.path.basename(f), tmp)
        base = max((f for f in pcaps if os.path.getsize(f) < 2 << 20
                    and struct.unpack("<I", open(f, "rb").read(4))[0] == 0xa1b2c3d4),
                   key=os.path.getsize)
        made_cases(tmp, base)
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("mapped reading equals libpcap's on %d corpus files and the made cases" % len(pcaps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
