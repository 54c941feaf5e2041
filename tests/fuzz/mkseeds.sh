#!/bin/sh
# Seeds for the libFuzzer targets, written into OUT/NAME/ (default
# build/fuzz/corpus), each in its target's input format (see the top of
# each tests/fuzz/fuzz_NAME.c):
#
#   decode     frames of every link type: the first 50 frames of 40 nDPI
#              captures (../shared/pcap/ndpi, every link type there) and
#              of spanwatch-gen captures (plain, --vlan, --qinq, --pppoe)
#   pipeline   the same 50 frames of each capture as one run
#   capfile    capture files: the same captures' first 20 frames written
#              as a pcap, the heads of nDPI's pcapng files, and crafted
#              files with odd times (2^31 + x s, 2040, 2^40 s in pcapng),
#              lying IP lengths, snapped records and mixed link types
#   smtp_parse the SMTP sessions (ports 25, 587) of smtp.pcap and of a
#              spanwatch-gen capture, as client/server chunk scripts
#   btmsg, mse the first payloads of TCP and UDP flows of the BitTorrent
#              captures and of spanwatch-gen's (plain, uTP, DHT, trackers,
#              MSE), as segment scripts
#   config, submap, allowlist
#              conf/ examples, spanwatch-gen's --conf-dir files, a few
#              variants, and the record form of submap and allowlist
#   rrdcc      rrdcached replies of each kind, addresses, paths
#
# Captures are read, never copied into the repository. Needs python3;
# bin/spanwatch-gen and the nDPI captures are used when present.
#
#   sh tests/fuzz/mkseeds.sh [OUT]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/fuzz/corpus}
shared=${SHARED:-$top/../shared}
gen=${SW_BIN:-$top/bin}/spanwatch-gen
[ -x "$gen" ] || gen=$top/bin/spanwatch-gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

gens=""
if [ -x "$gen" ]; then
	"$gen" -w "$tmp/gen.pcap" --conf-dir "$tmp/conf" --seed 7 --subscribers 40 \
		--packets 60000 >/dev/null 2>&1 && gens="$tmp/gen.pcap"
	for v in vlan qinq pppoe; do
		"$gen" -w "$tmp/gen-$v.pcap" --seed 8 --subscribers 10 --packets 3000 --$v \
			>/dev/null 2>&1 && gens="$gens $tmp/gen-$v.pcap"
	done
	"$gen" -w "$tmp/big.pcap" --conf-dir "$tmp/bigconf" --seed 9 --subscribers 400 \
		--packets 10 >/dev/null 2>&1 || true
else
	echo "mkseeds: no $gen: seeds from the nDPI captures and conf/ only" >&2
fi

/usr/bin/python3 - "$out" "$shared/pcap/ndpi" "$top" "$tmp" $gens <<'EOF'
import hashlib, os, random, struct, sys

out, ndpi, top, tmp = sys.argv[1:5]
gens = sys.argv[5:]
FRAMES, CAPTURES = 50, 40

# fuzz_decode.c's dlts[], in order: DLT number -> index byte.
DLT_INDEX = {1: 0, 12: 1, 14: 2, 228: 3, 229: 4, 0: 5, 108: 6, 113: 7, 276: 8,
             9: 9, 50: 10, 51: 11, 104: 12, 192: 13}
LINKTYPE_TO_DLT = {101: 12, 147: 14}  # pcap file LINKTYPE values that differ

written = {}


def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    written[target] = written.get(target, 0) + 1


def packets(path):
    """(dlt, ts_us, bytes) of every packet of a pcap or pcapng file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 24:
        return
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        lt = struct.unpack(e + "I", buf[20:24])[0] & 0xffff
        dlt = LINKTYPE_TO_DLT.get(lt, lt)
        off = 24
        while off + 16 <= len(buf):
            sec, frac, incl, _ = struct.unpack(e + "IIII", buf[off:off + 16])
            off += 16
            if off + incl > len(buf):
                return
            yield dlt, sec * 1000000 + (frac // 1000 if nano else frac), buf[off:off + incl]
            off += incl
        return
    if magic != b"\x0a\x0d\x0d\x0a":
        return
    e, links, off = "<", [], 0
    while off + 12 <= len(buf):
        if buf[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if buf[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        btype, blen = struct.unpack(e + "II", buf[off:off + 8])
        if blen < 12 or off + blen > len(buf):
            return
        body = buf[off + 8:off + blen - 4]
        if btype == 1:
            lt = struct.unpack(e + "H", body[:2])[0]
            links.append(LINKTYPE_TO_DLT.get(lt, lt))
        elif btype == 6 and len(body) >= 20:
            ifc, hi, lo, cap, _ = struct.unpack(e + "IIIII", body[:20])
            if ifc < len(links):
                yield links[ifc], hi << 32 | lo, body[20:20 + cap]
        elif btype == 3 and links:
            yield links[0], 0, body[4:]
        off += blen


def l3(dlt, p):
    """The IP packet of a frame, or None (enough for seeds)."""
    if dlt == 1:
        et, o = struct.unpack(">H", p[12:14])[0] if len(p) >= 14 else 0, 14
        while et in (0x8100, 0x88a8) and len(p) >= o + 4:
            et, o = struct.unpack(">H", p[o + 2:o + 4])[0], o + 4
        if et == 0x8864 and len(p) >= o + 8:
            ppp = struct.unpack(">H", p[o + 6:o + 8])[0]
            et, o = {0x21: 0x800, 0x57: 0x86dd}.get(ppp, 0), o + 8
        return p[o:] if et in (0x800, 0x86dd) else None
    if dlt == 113:
        return p[16:]
    if dlt in (12, 14, 228, 229):
        return p
    if dlt in (0, 108):
        return p[4:]
    return None


def l4(ip):
    """(proto, src, sport, dst, dport, seq, flags, payload) or None."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        hl, proto, tot = (ip[0] & 15) * 4, ip[9], struct.unpack(">H", ip[2:4])[0]
        src, dst, rest = ip[12:16], ip[16:20], ip[hl:tot or len(ip)]
        if struct.unpack(">H", ip[6:8])[0] & 0x1fff:
            return None
    elif v == 6 and len(ip) >= 40:
        proto, src, dst, rest = ip[6], ip[8:24], ip[24:40], ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if proto == 6 and len(rest) >= 20:
        sp, dp, seq = struct.unpack(">HHI", rest[:8])
        return 6, src, sp, dst, dp, seq, rest[13], rest[(rest[12] >> 4) * 4:]
    if proto == 17 and len(rest) >= 8:
        sp, dp = struct.unpack(">HH", rest[:4])
        return 17, src, sp, dst, dp, 0, 0, rest[8:]
    return None


def flows(path, want):
    """Payload segments per flow, client first: {key: [(from_client, seq, bytes)]}."""
    fl = {}
    for dlt, _, p in packets(path):
        ip = l3(dlt, p)
        t = ip and l4(ip)
        if not t:
            continue
        proto, src, sp, dst, dp, seq, flags, pay = t
        if not want(proto, sp, dp):
            continue
        a, b = (src, sp), (dst, dp)
        key = (proto,) + (a + b if a < b else b + a)
        if key not in fl:
            fl[key] = (a, [])
        client, segs = fl[key]
        if pay and len(segs) < 64:
            segs.append(((src, sp) == client, seq, bytes(pay)))
    return {k: v[1] for k, v in fl.items() if v[1]}


def frames_of(path):
    got = []
    for dlt, ts, p in packets(path):
        if dlt not in DLT_INDEX:
            return []
        got.append((dlt, ts, p))
        if len(got) == FRAMES:
            break
    return got


def pipeline_seed(fr):
    s, last = bytearray([DLT_INDEX[fr[0][0]]]), fr[0][1]
    for _, ts, p in fr:
        dt = ts - last
        if dt < 0:
            code = 0x7f if dt <= -5000000 else 0
        elif dt < 126000:  # 0x7e is an idle tick
            code = dt // 1000
        else:
            code = 0x80 + min(127, dt // 1000000)
        last = ts
        p = p[:65535]
        s += bytes([code]) + struct.pack("<H", len(p)) + p
    return bytes(s)


# ---- frames: decode and pipeline ---------------------------------------
caps = []
if os.path.isdir(ndpi):
    byfile = {}
    for n in sorted(os.listdir(ndpi)):
        fr = frames_of(os.path.join(ndpi, n))
        if fr:
            byfile[n] = fr
    # Every link type first (at most 3 captures each), then Ethernet ones
    # spread over the alphabet, up to CAPTURES in all.
    seen = {}
    for n, fr in byfile.items():
        if fr[0][0] != 1 and seen.get(fr[0][0], 0) < 3:
            seen[fr[0][0]] = seen.get(fr[0][0], 0) + 1
            caps.append(n)
    eth = [n for n, fr in byfile.items() if fr[0][0] == 1 and n not in caps]
    for n in ("smtp.pcap", "bittorrent.pcap", "bittorrent_utp.pcap", "ipv6_in_gtp.pcap",
              "fragmented_ip.pcap", "mpls.pcap", "pppoe.pcap", "vlan.pcap"):
        if n in eth and len(caps) < CAPTURES:
            caps.append(n)
            eth.remove(n)
    stride = max(1, len(eth) // max(1, CAPTURES - len(caps)))
    caps += eth[::stride][:CAPTURES - len(caps)]
    caps = [(byfile[n]) for n in caps]
for g in gens:
    fr = frames_of(g)
    if fr:
        caps.append(fr)
for fr in caps:
    for dlt, _, p in fr:
        put("decode", bytes([DLT_INDEX[dlt]]) + p)
    put("pipeline", pipeline_seed(fr))

# ---- capture files: capfile ----------------------------------------------
DLT_TO_LINKTYPE = {12: 101, 14: 101}
CT0 = 1767225600


def pcap_bytes(linktype, recs):
    """recs: (ts_sec, ts_usec, frame, wire_len)."""
    b = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype)
    for sec, usec, f, wire in recs:
        b += struct.pack("<IIII", sec & 0xffffffff, usec, len(f), wire) + f
    return b


def ng_block(btype, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def ng_file(links, recs):
    """links: link types of the interfaces; recs: (ifc, ts_us, frame)."""
    b = ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt in links:
        b += ng_block(1, struct.pack("<HHI", lt, 0, 65535))
    for ifc, ts, f in recs:
        b += ng_block(6, struct.pack("<IIIII", ifc, ts >> 32, ts & 0xffffffff, len(f), len(f)) + f)
    return b


def udp_frame(i, tot=None, payload=20):
    udp = struct.pack(">HHHH", 10000 + i, 53, 8 + payload, 0) + bytes(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) if tot is None else tot, i, 0, 64, 17, 0,
                     bytes([100, 64, 0, i & 0xff]), bytes([192, 0, 2, 1])) + udp
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip


for fr in caps:
    lt = DLT_TO_LINKTYPE.get(fr[0][0], fr[0][0])
    put("capfile", pcap_bytes(lt, [(ts // 1000000, ts % 1000000, p, len(p)) for _, ts, p in fr[:20]]))
if os.path.isdir(ndpi):
    for n in sorted(x for x in os.listdir(ndpi) if x.endswith(".pcapng"))[:6]:
        with open(os.path.join(ndpi, n), "rb") as f:
            put("capfile", f.read(6000))
base = [(CT0 + i, i * 1000, udp_frame(i), 62) for i in range(8)]
put("capfile", pcap_bytes(1, base[:4] + [((1 << 31) + 77, 0, udp_frame(9), 62)] + base[4:]))
put("capfile", pcap_bytes(1, base[:4] + [(0xfffffff0, 999999, udp_frame(9), 62)] + base[4:]))
put("capfile", pcap_bytes(1, [(2208988800 + i, 5, r[2], r[3]) for i, r in enumerate(base)]))
put("capfile", pcap_bytes(1, [(CT0 + i, 0, udp_frame(i, tot=65535), 62) for i in range(4)] +
                         [(CT0 + 5, 0, udp_frame(5, payload=1400)[:96], 1442),
                          (CT0 + 6, 0, udp_frame(6), 20)]))
put("capfile", ng_file([1], [(0, (CT0 + i) * 1000000, udp_frame(i)) for i in range(3)] +
                       [(0, (1 << 40) * 1000000, udp_frame(7))] +
                       [(0, (CT0 + 4) * 1000000, udp_frame(4))]))
put("capfile", ng_file([1, 101], [(0, CT0 * 1000000, udp_frame(1)),
                                   (1, (CT0 + 1) * 1000000, udp_frame(2)[14:])]))

# ---- payload scripts: smtp_parse, btmsg, mse ---------------------------
def smtp_script(segs):
    s, at = bytearray(), {}
    for i, (c, seq, pay) in enumerate(segs):
        d = 0 if c else 1
        for o in range(0, len(pay), 255):
            chunk = pay[o:o + 255]
            s += bytes([d | (2 if d not in at else 0), 0, 0, len(chunk)]) + chunk
            at[d] = 1
    return bytes(s)


def btmsg_script(segs):
    s = bytearray()
    for c, _, pay in segs:
        pay = pay[:2047]
        s += bytes([(0 if c else 1) | ((len(pay) >> 8) << 1), 0, len(pay) & 0xff]) + pay
    return bytes(s)


def mse_script(segs):
    s, last = bytearray(), {}
    for c, seq, pay in segs[:8]:
        d = 0 if c else 1
        diff = ((seq - last.get(d, seq)) + (1 << 31)) % (1 << 32) - (1 << 31)
        jump = max(-128, min(127, diff))
        last[d] = seq + len(pay)
        pay = pay[:2047]
        s += bytes([1 if c else 0, jump & 0xff]) + struct.pack("<H", len(pay)) + pay
    return bytes(s)


def smtp_ports(proto, sp, dp):
    return proto == 6 and (25 in (sp, dp) or 587 in (sp, dp))


def any_flow(proto, sp, dp):
    return proto in (6, 17)


src = [os.path.join(ndpi, n) for n in ("smtp.pcap",) if os.path.isdir(ndpi)] + gens[:1]
for path in src:
    if os.path.exists(path):
        for segs in list(flows(path, smtp_ports).values())[:60]:
            put("smtp_parse", smtp_script(segs))
src = [os.path.join(ndpi, n) for n in ("bittorrent.pcap", "bittorrent_utp.pcap", "tls_torrent.pcapng")
       if os.path.isdir(ndpi)] + gens[:1]
for path in src:
    if os.path.exists(path):
        fl = list(flows(path, any_flow).values())
        random.Random(1).shuffle(fl)
        for segs in fl[:80]:
            put("btmsg", btmsg_script(segs))
            if segs[0][2] and len(segs) > 1:
                put("mse", mse_script(segs))
# An MSE handshake of the right shape, and one a byte short of it.
rnd = random.Random(2)
for extra in (0, -1):
    segs = [(True, 1000, bytes(rnd.randrange(256) for _ in range(96 + 40))),
            (False, 5000, bytes(rnd.randrange(256) for _ in range(96 + 100))),
            (True, 1136, bytes(rnd.randrange(256) for _ in range(56 + extra)))]
    put("mse", mse_script(segs))

# ---- files: config, submap, allowlist ----------------------------------
def put_file(target, path):
    if os.path.exists(path):
        with open(path, "rb") as f:
            put(target, f.read())


for d in (os.path.join(top, "conf"), os.path.join(tmp, "conf"), os.path.join(tmp, "bigconf")):
    put_file("config", os.path.join(d, "spanwatch.conf"))
    put_file("submap", os.path.join(d, "subscribers.txt"))
    put_file("allowlist", os.path.join(d, "torrent-allowlist.txt"))
for text in (
        b"[capture]\ninterface = eth1\nfilter = \"not port 22\"\nsnaplen = 1500\n",
        b"[rrd]\ndir = rrd\nstep = 5m\nrrdcached = unix:/run/rrdcached.sock\n",
        b"[smtp]\nrelays = 192.0.2.25, 2001:db8::25\n         [2001:db8::26]\n"
        b"ports = 25 587\nexempt = a b\nsurge_factor = 2.5\nspf = exempt\nresolver = [::1]:53\n",
        b"[alerts]\nsyslog = tcp://[2001:db8::514]:6514\nfacility = local3\nident = sw\n"
        b"holddown = 1h30m\n[p2p]\nmax_bt_bytes = 1.5G\nwindow = 2d\n",
        b"\xef\xbb\xbf[sensor]\nname = pop-1 ; comment\nmax_flows = 100000\nidle_timeout = 90\n"
        b"user = nobody\npidfile = run/sw.pid\n[SENSOR]\nName = again\n",
        b"[nope]\nkey = value\n[rrd]\nstep = 0\nstep = 99999\nbad line\n  indented\n[rrd\n"):
    put("config", text)
put("submap", b"10.0.0.0/8 a\n10.1.0.0/16 b # comment\n10.1.2.3 c\n2001:db8::/32 a\n::/0 world\n"
              b"0.0.0.0/0 world\n10.1.2.4/31 d\n")
put("submap", b"10.0.0.1/8 a\n10.0.0.0/33 b\n../x c\n10.0.0.0/8 /etc/y\n10.0.0.0/8 dup\n")
rec = bytearray([0xff])
for i in range(200):
    v6 = rnd.random() < 0.3
    bits = rnd.randrange(129 if v6 else 33)
    rec += bytes([(0x80 if v6 else 0) | bits]) + bytes(rnd.randrange(256) for _ in range(16 if v6 else 4))
    rec += bytes([rnd.randrange(16)])
put("submap", bytes(rec))
put("allowlist", b"# list\nEA4C364796553B8514452A085697F892A7A366C2 Debian # iso\n"
                 b"  7336239ae2487ab222a7fd6f1223c124e610f58d\tubuntu\r\n\n")
put("allowlist", b"ea4c364796553b8514452a085697f892a7a366c\nzz4c364796553b8514452a085697f892a7a366c2\n")
put("allowlist", bytes([0xff]) + bytes(rnd.randrange(256) for _ in range(21 * 100)))

# rrdcc: rrdcached's replies (rrdcached(1): "N message", then N lines), an
# address, a path to escape. The first byte picks (see fuzz_rrdcc.c).
info = b"".join(b"ds[bytes_in].%s %s\n" % kv for kv in (
    (b"index", b"0 0"), (b"type", b"2 DERIVE"), (b"last_ds", b"2 12345"), (b"value", b"1 0.0")))
put("rrdcc", b"R0 PONG\n9 lines follow\nfilename 2 /x.rrd\nrrd_version 2 0003\nstep 0 60\n"
            b"last_update 0 1767225600\n" + info + b"-1 No such file: /x.rrd\n0 Nothing to flush\n")
put("rrdcc", b"R-1 /x.rrd: Permission denied\n0 errors, enqueued 2 value(s).\n3 x\na\nb")
put("rrdcc", b"Rhello there\n")
put("rrdcc", b"R" + b"x" * 9000 + b"\n")
put("rrdcc", b"R99999999999999999999 x\n0 \x1b[31mred\n")
for a in (b"unix:/run/rrdcached.sock", b"/run/r.sock", b"localhost", b"127.0.0.1:42217",
          b"[::1]:42217", b"[::1", b"host:0", b"::1:42217"):
    put("rrdcc", b"A" + a)
for p_ in (b"/var/lib/spanwatch/subscribers/cust-0001.rrd", b"a b\\c", b"x\ny"):
    put("rrdcc", b"P" + p_)

os.makedirs(out, exist_ok=True)
open(os.path.join(out, ".mkseeds"), "w").close()  # run.sh: seeded
print("mkseeds: " + ", ".join("%s %d" % kv for kv in sorted(written.items())) + " into " + out)
EOF
