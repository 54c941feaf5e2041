"""Bad configuration, subscriber and allowlist files (issue 9), run by
t_badconfig.sh.

Every case is a file with mistakes on known lines. spanwatch, started to
replay a good capture into a fresh RRD folder with a flow log, must
  - name every mistake as FILE:LINE: on stderr (SPEC "Configuration":
    exit 2, file:line: message), each on its own line;
  - exit 2 (bad configuration), not start: nothing written, neither the
    RRD folder nor the flow log;
and `spanwatch -n` must print the same FILE:LINE: messages (plainly, at
the start of the line, as compilers do) and exit 2, while a good
configuration prints "configuration OK" and exits 0.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SW = os.path.join(os.environ.get("SW_BIN") or os.path.join(TOP, "bin"), "spanwatch")

HASH = "ea4c364796553b8514452a085697f892a7a366c2"

# (name, {file: text}, the option that names the first file, {file: [lines]})
# The first file of each case is the one given on the command line; the
# lines are those that must be reported, and no others.
CASES = [
    ("unknown keys and sections", {"unknown.conf": (
        "[sensor]\n"
        "nmae = pop-1\n"            # 2
        "max_flows = 100000\n"
        "[capture]\n"
        "interfcae = eth1\n"        # 5
        "[bogus]\n"                 # 6
        "key = value\n"             # (in a bad section: reported at its header)
        "[rrd]\n"
        "step = 60\n"
        "stpe = 60\n"               # 10
        "orphan\n"                  # 11: no '='
        "[rrd\n")},                 # 12: no ']'
     "-c", {"unknown.conf": [2, 5, 6, 10, 11, 12]}),
    ("out-of-range and bad values", {"range.conf": (
        "# every value here is wrong\n"
        "[capture]\n"
        "snaplen = 10\n"            # 3
        "buffer_mb = 0\n"           # 4
        "threads = 17\n"            # 5
        "promisc = perhaps\n"       # 6
        "[rrd]\n"
        "step = 5\n"                # 8
        "rrdcached = unix:relative.sock\n"  # 9
        "[smtp]\n"
        "relays = 192.0.2.25, 192.0.2.300\n"  # 11
        "ports = 25, 0\n"           # 12
        "window = 5x\n"             # 13
        "max_sessions = -1\n"       # 14
        "max_rcpt = 1000001\n"      # 15
        "surge_factor = 0.5\n"      # 16
        "spf = maybe\n"             # 17
        "resolver = 192.0.2.53:99999\n"  # 18
        "[p2p]\n"
        "window = 30\n"             # 20
        "max_bt_bytes = 1.5\n"      # 21
        "[alerts]\n"
        "syslog = ftp://collector\n"  # 23
        "facility = local9\n"       # 24
        "holddown = 30d\n"          # 25
        "[sensor]\n"
        "max_flows = 10\n"          # 27
        "idle_timeout = 18446744073709551616\n")},  # 28
     "-c", {"range.conf": [3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 24, 25, 27, 28]}),
    ("names that would leave the RRD folder", {"names.conf": (
        "[sensor]\n"
        "name = ../x\n"             # 2
        "[alerts]\n"
        "ident = /etc/y\n"          # 4
        "[smtp]\n"
        "exempt = cust-1, ../x\n"   # 6
        "         /etc/y\n"         # 7: a continuation line
        "[sensor]\n"
        "name = .hidden\n")},       # 9
     "-c", {"names.conf": [2, 4, 6, 7, 9]}),
    ("subscriber map: bad CIDRs, duplicates, escaping names", {"subscribers.txt": (
        "# CIDR NAME\n"
        "10.0.0.0/8 cust-a\n"
        "10.0.0.0/8 cust-b\n"       # 3: duplicate
        "10.0.0.1/8 cust-c\n"       # 4: host bits
        "10.0.0.0/33 cust-d\n"      # 5
        "300.0.0.0/8 cust-e\n"      # 6
        "10.1.0.0/16 ../x\n"        # 7
        "10.2.0.0/16 /etc/y\n"      # 8
        "10.3.0.0/16 ok extra\n"    # 9
        "2001:db8::/32 cust-v6\n"
        "2001:0db8:0::/32 cust-v6b\n"  # 11: the same prefix, spelt otherwise
        "2001:db8::/129 cust-f\n"   # 12
        "10.4.0.0/16\n"             # 13
        "10.5.0.0/-1 cust-g\n"      # 14
        "fe80::/10 .hidden\n"       # 15
        "192.0.2.0/24 -dash\n"      # 16
        "198.51.100.0/24 " + "n" * 65 + "\n")},  # 17: name too long
     "-S", {"subscribers.txt": [3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17]}),
    ("subscriber map named by the configuration", {
        "map.conf": "[subscribers]\nfile = map.txt\n",
        "map.txt": "10.0.0.0/8 a\n10.0.0.0/8 b\n"},
     "-c", {"map.txt": [2]}),
    ("allowlist named by the configuration", {
        "allow.conf": "[p2p]\nallowlist = allow.txt\n",
        "allow.txt": ("# torrents\n" + HASH + " debian\n" + HASH.upper() + " again\n"
                      "zz" + HASH[2:] + " bad\n" + HASH[:39] + "\n")},
     "-c", {"allow.txt": [3, 4, 5]}),
]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("  FAIL: " + what)
    return cond


def capture(path):
    """A good capture: two UDP packets."""
    recs = b""
    for i in range(2):
        udp = struct.pack(">HHHH", 40000 + i, 53, 8, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28, i, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                         bytes([192, 0, 2, 1])) + udp
        f = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip
        recs += struct.pack("<IIII", 1767225600 + i, 0, len(f), len(f)) + f
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) + recs)


def reported(stderr, d, want, plain):
    """Checks that stderr names exactly the wanted FILE:LINE pairs."""
    got = {}
    for ln in stderr.splitlines():
        m = re.search(r"(/\S*?):(\d+): ", ln)
        if m:
            got.setdefault(os.path.basename(m.group(1)), set()).add(int(m.group(2)))
            if plain:
                check(ln.startswith(m.group(1) + ":"),
                      "-n: message does not start with FILE:LINE: %r" % ln)
    for f, lines in want.items():
        path = os.path.join(d, f)
        check(all(re.search(re.escape(path) + ":%d: " % n, stderr) for n in lines),
              "%s: want lines %s reported, got %s" % (f, lines, sorted(got.get(f, ()))))
        extra = got.get(f, set()) - set(lines)
        check(not extra, "%s: lines %s reported but not wrong" % (f, sorted(extra)))


def run_case(tmp, k, name, files, opt, want):
    d = os.path.join(tmp, "case%d" % k)
    os.mkdir(d)
    for f, text in files.items():
        with open(os.path.join(d, f), "w") as fp:
            fp.write(text)
    first = os.path.join(d, next(iter(files)))
    pcap, rrd, flog = (os.path.join(d, n) for n in ("good.pcap", "rrd", "flows.tsv"))
    capture(pcap)
    # -c always, so that no /etc/spanwatch/spanwatch.conf of the machine joins in.
    base = [opt, first] if opt == "-c" else ["-c", os.devnull, opt, first]
    print("%s:" % name)
    p = subprocess.run([SW] + base + ["-r", pcap, "-o", rrd, "--flow-log", flog, "--no-syslog"],
                       capture_output=True, text=True, errors="replace")
    print("  run: exit %d, %d lines on stderr" % (p.returncode, len(p.stderr.splitlines())))
    check(p.returncode == 2, "%s: exit %d, want 2" % (name, p.returncode))
    reported(p.stderr, d, want, False)
    check(not os.path.exists(rrd), "%s: the RRD folder was created: %s" % (name, os.listdir(rrd)
                                                                           if os.path.isdir(rrd) else rrd))
    check(not os.path.exists(flog), "%s: the flow log was written" % name)
    check("summary " not in p.stderr, "%s: it ran (printed a summary)" % name)
    check(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", p.stderr),
          "%s: sanitizer report" % name)

    rrd = os.path.join(d, "rrd-n")
    n = subprocess.run([SW, "-n"] + base + ["-o", rrd], capture_output=True, text=True, errors="replace")
    print("  -n:  exit %d, %d lines on stderr" % (n.returncode, len(n.stderr.splitlines())))
    check(n.returncode == 2, "%s: -n exit %d, want 2" % (name, n.returncode))
    check("configuration OK" not in n.stdout, "%s: -n says configuration OK" % name)
    reported(n.stderr, d, want, True)
    check(not os.path.exists(rrd), "%s: -n created the RRD folder" % name)


def good(tmp):
    """spanwatch -n on good configurations: the shipped example, and a
    generated network's (with its subscriber map and allowlist)."""
    confs = [("conf/spanwatch.conf", ["-c", os.path.join(TOP, "conf/spanwatch.conf")])]
    gen = os.path.join(os.path.dirname(SW), "spanwatch-gen")
    if not os.access(gen, os.X_OK):
        gen = os.path.join(TOP, "bin/spanwatch-gen")
    d = os.path.join(tmp, "gen")
    if os.access(gen, os.X_OK) and subprocess.run(
            [gen, "-w", os.path.join(tmp, "gen.pcap"), "--packets", "10", "--conf-dir", d],
            capture_output=True).returncode == 0:
        confs.append(("spanwatch-gen --conf-dir", ["-c", os.path.join(d, "spanwatch.conf")]))
        confs.append(("-S subscribers.txt", ["-c", os.devnull, "-S", os.path.join(d, "subscribers.txt")]))
    else:
        print("(no spanwatch-gen: only the shipped example is checked)")
    for name, args in confs:
        rrd = os.path.join(tmp, "rrd-good")
        n = subprocess.run([SW, "-n"] + args + ["-o", rrd], capture_output=True, text=True, errors="replace")
        print("good %s: -n exit %d: %s" % (name, n.returncode,
                                           (n.stdout + n.stderr).strip().splitlines()[:1]))
        check(n.returncode == 0, "good %s: -n exit %d, want 0 (%s)" % (name, n.returncode, n.stderr.strip()[:200]))
        check(n.stdout.strip() == "configuration OK", "good %s: -n printed %r" % (name, n.stdout))
        check(not os.path.exists(rrd), "good %s: -n created the RRD folder" % name)


def main():
    if not os.access(SW, os.X_OK):
        print("no %s (make first)" % SW)
        return 1
    tmp = tempfile.mkdtemp(prefix="badconfig.")
    try:
        for k, c in enumerate(CASES):
            run_case(tmp, k, *c)
        good(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("every mistake reported as file:line, exit 2, nothing written")
    return 0


sys.exit(main())
