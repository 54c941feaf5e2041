#!/usr/bin/python3
"""A small hand-made capture for what spanwatch-gen does not make, and its
check: peer exchange (BEP 11) in a plaintext peer-wire stream, a UDP
tracker (BEP 15), an HTTP tracker reply split after its header, an
allowlisted torrent over uTP (BEP 29), and MSE-shaped flows whose peer
was named by each of those, or by nobody.

usage: crafted.py write DIR          writes DIR/cap.pcap, DIR/subscribers.txt,
                                     DIR/allow.txt, DIR/spanwatch.conf
       crafted.py check DIR          checks DIR/flows.tsv, DIR/rrd, DIR/alerts.json

Subscribers: cust-a runs a plain BitTorrent client (peer wire with PEX,
an HTTP tracker, one encrypted flow to a peer nobody named: recent
activity vouches for it); cust-f has no plain BitTorrent flow but
encrypted ones to peers named by cust-a's PEX, by its own UDP tracker
(an allowlisted torrent: the encrypted flow is bt_allow_*) and by
cust-a's tracker, and two to peers nobody named (one with a leecher's
message lengths: BitTorrent.encrypted.framing; one without: Unknown); cust-c only seeds an allowlisted torrent
over uTP (bt_allow_*, never alerted). The peer lists come in the first
minute (step), the encrypted flows in the second, but for one of cust-a
and one of cust-f in the first: a subscriber sees the peers its own flows
named at once, another's from the next step on. cust-a and cust-f are on
different workers at 2 and 4 threads (dispatch.h: by their names' hash),
which t_p2p_crafted.sh runs too.
"""
import collections
import json
import os
import random
import struct
import subprocess
import sys
import urllib.parse

T0 = 1767225600.0
H_PLAIN = bytes(range(1, 21))
H_ALLOW = bytes.fromhex("d22c484f963d5c4796792c9549d3f1d64072801e")
rng = random.Random(6)


def rbytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return (~s) & 0xffff


def ip4(s):
    return bytes(int(x) for x in s.split("."))


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        self.t = T0

    def ip(self, src, dst, proto, l4, dt=0.002):
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0,
                        ip4(src), ip4(dst))
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        self.t += dt
        sec = int(self.t)
        d = h + l4
        self.f.write(struct.pack("<IIII", sec, int((self.t - sec) * 1e6), len(d), len(d)) + d)

    def udp(self, src, sp, dst, dp, payload):
        self.ip(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload)


class Tcp:
    def __init__(self, w, c, cp, s, sp):
        self.w, self.c, self.cp, self.s, self.sp = w, c, cp, s, sp
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]

    def seg(self, d, data, flags=0x18):
        src, sp, dst, dp = (self.c, self.cp, self.s, self.sp) if d == 0 else (self.s, self.sp, self.c, self.cp)
        l4 = struct.pack("!HHIIBBHHH", sp, dp, self.seq[d] & 0xffffffff,
                         self.seq[1 - d] & 0xffffffff, 5 << 4, flags, 65535, 0, 0) + data
        self.w.ip(src, dst, 6, l4)
        self.seq[d] += len(data) + (1 if flags & 0x03 else 0)

    def open(self):
        self.seg(0, b"", 0x02)
        self.seg(1, b"", 0x12)
        self.seg(0, b"", 0x10)

    def close(self):
        self.seg(0, b"", 0x11)
        self.seg(1, b"", 0x11)
        self.seg(0, b"", 0x10)


def handshake(h):
    return b"\x13BitTorrent protocol" + b"\0\0\0\0\0\x10\0\x05" + h + b"-TR3000-" + rbytes(12)


def bstr(b):
    return b"%d:" % len(b) + b


def mse(w, c, cp, s, sp, blocks=6, req=68):
    t = Tcp(w, c, cp, s, sp)
    t.open()
    t.seg(0, rbytes(96 + rng.randrange(513)))
    t.seg(1, rbytes(96 + rng.randrange(513)))
    t.seg(0, rbytes(40 + 8 + 4 + 2 + rng.randrange(100) + 2 + 68))
    t.seg(1, rbytes(8 + 4 + 2 + 68 + 10))
    for _ in range(blocks):
        t.seg(0, rbytes(req))
        for _ in range(3):
            t.seg(1, rbytes(1400))
    t.close()


def write(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "subscribers.txt"), "w") as f:
        f.write("100.64.0.0/24 cust-a\n100.64.1.0/24 cust-f\n100.64.2.0/24 cust-c\n")
    with open(os.path.join(d, "allow.txt"), "w") as f:
        f.write("# test\n%s debian.iso\n" % H_ALLOW.hex())
    with open(os.path.join(d, "spanwatch.conf"), "w") as f:
        f.write("[subscribers]\nfile = subscribers.txt\n[rrd]\nstep = 60\n"
                "[p2p]\nallowlist = allow.txt\nwindow = 1m\nmax_bt_bytes = 20k\n")
    w = Pcap(os.path.join(d, "cap.pcap"))
    a, b, c = "100.64.0.2", "100.64.1.2", "100.64.2.2"

    # 1. cust-a: plain peer wire; the peer sends a bitfield, a piece cut
    # across segments, then ut_pex naming 198.18.9.1:7001 and an IPv6
    # peer, cut so that the length prefix ends a segment.
    t = Tcp(w, a, 40001, "198.18.5.1", 6881)
    t.open()
    t.seg(0, handshake(H_PLAIN))
    t.seg(1, handshake(H_PLAIN) + b"\0\0\0\x05\x05\xff\xff\xff\xf0")
    piece = struct.pack("!IBII", 9 + 3000, 7, 0, 0) + rbytes(3000)
    pex = (b"d5:added6:" + ip4("198.18.9.1") + struct.pack("!H", 7001) + b"7:added.f1:\x00" +
           b"6:added618:" + bytes.fromhex("20010db8000900000000000000000001") + struct.pack("!H", 7002) +
           b"7:dropped0:e")
    msg = piece + struct.pack("!IBB", 2 + len(pex), 20, 1) + pex
    cut1, cut2 = 1400, len(piece) + 4
    t.seg(1, msg[:cut1])
    t.seg(1, msg[cut1:cut1 + 1400])
    t.seg(1, msg[cut1 + 1400:cut2])
    t.seg(1, msg[cut2:])
    t.seg(0, struct.pack("!IBIII", 13, 6, 0, 16384, 16384))
    t.close()

    # 2. cust-a: HTTP tracker; the reply's body in its own segment.
    t = Tcp(w, a, 40002, "198.18.7.8", 80)
    t.open()
    t.seg(0, b"GET /announce?info_hash=" + urllib.parse.quote_from_bytes(H_PLAIN).encode() +
          b"&peer_id=-TR3000-abcdefabcdef&port=51413&compact=1 HTTP/1.1\r\nHost: tr\r\n\r\n")
    body = b"d8:intervali1800e5:peers6:" + ip4("198.18.9.3") + struct.pack("!H", 7004) + b"e"
    t.seg(1, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
    t.seg(1, body)
    t.close()

    # 3. cust-f: UDP tracker for the allowlisted torrent, naming 198.18.9.2:7003.
    tr = "198.18.7.7"
    w.udp(b, 40003, tr, 1337, struct.pack("!QII", 0x41727101980, 0, 77))
    w.udp(tr, 1337, b, 40003, struct.pack("!IIQ", 0, 77, 0x1234))
    w.udp(b, 40003, tr, 1337, struct.pack("!QII", 0x1234, 1, 78) + H_ALLOW + b"-TR3000-abcdefabcdef" +
          struct.pack("!QQQIIIiH", 0, 1000, 0, 2, 0, 5, -1, 51413))
    w.udp(tr, 1337, b, 40003, struct.pack("!IIIII", 1, 78, 1800, 3, 4) + ip4("198.18.9.2") +
          struct.pack("!H", 7003))

    # 4. cust-c: uTP (BEP 29) seeding the allowlisted torrent.
    peer = "198.18.6.1"
    def utp(src, sp, dst, dp, typ, seq, data=b""):
        w.udp(src, sp, dst, dp, struct.pack("!BBHIIIHH", (typ << 4) | 1, 0, 7, 0, 0, 65535, seq, 0) + data)
    utp(peer, 6881, c, 50001, 4, 1)
    utp(c, 50001, peer, 6881, 2, 1)
    utp(peer, 6881, c, 50001, 0, 2, handshake(H_ALLOW))
    utp(c, 50001, peer, 6881, 0, 2, handshake(H_ALLOW))
    for i in range(20):
        utp(peer, 6881, c, 50001, 0, 3 + i, struct.pack("!IB", 13, 6) + rbytes(12))
        utp(c, 50001, peer, 6881, 0, 3 + i, rbytes(1200))

    # 5. In the same step (the first minute), MSE-shaped flows to the
    # peer cust-a's HTTP tracker named: cust-a's own is labelled by it at
    # once; cust-f's is not, as another subscriber's evidence counts from
    # the next step on, for any number of threads (peershare.h). Segment
    # lengths no peer-wire message makes, so that framing does not label
    # them either.
    mse(w, a, 41008, "198.18.9.3", 7004, blocks=20, req=61)
    mse(w, b, 41007, "198.18.9.3", 7004, blocks=20, req=61)
    # A packet of each half a minute on: the two flows' linger ends in
    # the first step, where they are labelled.
    w.t = T0 + 30
    w.udp(a, 40100, "198.18.0.53", 53, rbytes(30))
    w.udp(b, 40100, "198.18.0.53", 53, rbytes(30))

    # 6. Encrypted flows in the next step.
    w.t = T0 + 61
    mse(w, b, 41001, "198.18.9.1", 7001)	# named by PEX
    mse(w, b, 41002, "198.18.9.2", 7003)	# named by the UDP tracker
    mse(w, b, 41003, "198.18.9.3", 7004)	# named by the HTTP tracker
    # named by nobody, segments of lengths no peer-wire message makes:
    # the MSE shape alone accuses nobody (Unknown)
    mse(w, b, 41004, "198.18.9.9", 7009, blocks=20, req=61)
    # named by nobody, a leecher's requests (4 of 17 bytes a segment):
    # BitTorrent by its own framing
    mse(w, b, 41006, "198.18.9.7", 7007, blocks=8)
    mse(w, a, 41005, "198.18.9.8", 7008)	# nobody, but cust-a is active
    w.f.close()


EXPECT = {	# client port -> label
    # nDPI 4.2 has no UDP tracker dissector: the flow stays Unknown (and
    # uncounted), but its peers still reach the cache.
    40001: "BitTorrent", 40002: "BitTorrent", 40003: "Unknown", 6881: "BitTorrent",
    # The suffix is the level of the evidence (collectors/p2p.c).
    41001: "BitTorrent.encrypted.peer", 41002: "BitTorrent.encrypted.peer",
    41003: "BitTorrent.encrypted.peer", 41004: "Unknown", 41005: "BitTorrent.encrypted.swarm",
    41006: "BitTorrent.encrypted.framing",
    41007: "Unknown", 41008: "BitTorrent.encrypted.peer",
}


def fetch(path):
    out = subprocess.run(["rrdtool", "fetch", path, "AVERAGE", "-s", str(int(T0) - 120), "-e",
                          str(int(T0) + 600), "-r", "60"], check=True, stdout=subprocess.PIPE,
                         text=True).stdout.splitlines()
    names, tot = out[0].split(), collections.Counter()
    for l in out[1:]:
        if ":" in l:
            for n, v in zip(names, l.split(":", 1)[1].split()):
                if "nan" not in v.lower():
                    tot[n] += float(v) * 60
    return tot


def check(d):
    fails = []
    want = collections.defaultdict(collections.Counter)
    seen = set()
    with open(os.path.join(d, "flows.tsv")) as fp:
        head = fp.readline().rstrip("\n").split("\t")
        for line in fp:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            port = int(r["sport"])
            seen.add(port)
            if EXPECT.get(port, r["app"]) != r["app"]:
                fails.append("flow from port %d: %s, want %s" % (port, r["app"], EXPECT[port]))
            if "BitTorrent" not in r["app"]:
                continue
            sub, c2s, s2c = r["subscriber"], int(r["c2s_bytes"]), int(r["s2c_bytes"])
            din, dout = (s2c, c2s) if r["direction"] == "out" else (c2s, s2c)
            # 41002's peer was named by the UDP tracker's reply to an
            # announce of the allowlisted torrent: allowlisted though
            # encrypted.
            kind = "bt_allow_" if port in (40003, 6881, 41002) else "bt_"
            want[sub][kind + "in"] += din
            want[sub][kind + "out"] += dout
    for port in EXPECT:
        if port not in seen:
            fails.append("no flow from port %d" % port)
    total = 0
    for sub in ("cust-a", "cust-f", "cust-c"):
        got = fetch(os.path.join(d, "rrd", "subscribers", sub + ".rrd"))
        for ds in ("bt_in", "bt_out", "bt_allow_in", "bt_allow_out"):
            total += got[ds]
            if abs(got[ds] - want[sub][ds]) > 1:
                fails.append("%s %s: rrd %.0f, flow log %d" % (sub, ds, got[ds], want[sub][ds]))
    bt = fetch(os.path.join(d, "rrd", "sensor.rrd"))["bt_bytes"]
    if abs(bt - total) > 1:
        fails.append("sensor.rrd bt_bytes %.0f, subscribers %.0f" % (bt, total))
    alerted = set()
    if os.path.exists(os.path.join(d, "alerts.json")):
        with open(os.path.join(d, "alerts.json")) as fp:
            for line in fp:
                a = json.loads(line)
                if a["alert"] == "bt_volume":
                    alerted.add(a["subscriber"])
                    if int(a["bytes"]) <= 20000 or a["window"] != 60 or \
                            not a["ip"].startswith("100.64."):
                        fails.append("bad alert %s" % line.strip())
    if alerted != {"cust-a", "cust-f"}:
        fails.append("bt_volume for %s, want cust-a and cust-f (cust-c seeds only an allowlisted"
                     " torrent)" % sorted(alerted))
    for f in fails:
        print("FAIL " + f)
    print("crafted: %s (%d flows, %d BitTorrent bytes)" % ("pass" if not fails else "FAIL",
                                                            len(seen), total))
    return 1 if fails else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
