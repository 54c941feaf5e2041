#!/bin/sh
# The truth adds up to what tshark counts in the capture: packets and IP
# bytes (IPv4 total length, IPv6 payload length + 40) in total, in and out
# of every subscriber, and over all flows; every checksum is good; every
# packet has a subscriber at one end. The two truth files agree with each
# other class by class (BitTorrent bytes, P2P bytes, SMTP sessions and
# recipients, flows). For plain Ethernet, 802.1Q, QinQ (802.1ad + 802.1Q)
# and PPPoE framing.
set -eu
GEN=${SW_BIN:?}/spanwatch-gen
[ -x "$GEN" ] || { echo "no $GEN: build it first"; exit 1; }
command -v tshark >/dev/null || { echo "tshark not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swgen-tshark.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

for encap in eth vlan qinq pppoe; do
	flag=""
	[ "$encap" = eth ] || flag="--$encap"
	"$GEN" -q -w "$tmp/$encap.pcap" --truth "$tmp/$encap.tsv" --conf-dir "$tmp/conf-$encap" \
		--seed 5 --subscribers 150 --packets 40000 --bots 2 --mail-interval 30 --bt-share 0.2 \
		--step 10 $flag
	tshark -r "$tmp/$encap.pcap" -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
		-o udp.check_checksum:TRUE -T fields -E separator=/t \
		-e ip.src -e ip.dst -e ip.len -e ipv6.src -e ipv6.dst -e ipv6.plen \
		-e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status \
		>"$tmp/$encap.fields" 2>"$tmp/tshark.err" || { cat "$tmp/tshark.err"; exit 1; }
	/usr/bin/python3 - "$encap" "$tmp/$encap.fields" "$tmp/$encap.tsv" \
		"$tmp/$encap.flows.tsv" "$tmp/conf-$encap/subscribers.txt" <<'PY'
import collections, csv, ipaddress, sys

encap, fields, truth, flows, submap = sys.argv[1:6]
nets = {}
for line in open(submap):
    if line.startswith("#") or not line.strip():
        continue
    cidr, name = line.split()
    nets[ipaddress.ip_network(cidr)] = name
v4 = {n.network_address.packed[:4]: (n.prefixlen, s) for n, s in nets.items() if n.version == 4}
v6 = {n.network_address.packed[:7]: s for n, s in nets.items() if n.version == 6}

def owner(a):
    ip = ipaddress.ip_address(a)
    if ip.version == 6:
        return v6.get(ip.packed[:7])
    for plen in (32, 29):
        net = ipaddress.ip_network("%s/%d" % (a, plen), strict=False).network_address.packed
        hit = v4.get(net)
        if hit and hit[0] == plen:
            return hit[1]
    return None

count = collections.Counter()
sub = collections.defaultdict(collections.Counter)
errors = []
for n, line in enumerate(open(fields), 1):
    f = line.rstrip("\n").split("\t")
    if f[0]:
        src, dst, ipb = f[0], f[1], int(f[2])
    elif f[3]:
        src, dst, ipb = f[3], f[4], int(f[5]) + 40
    else:
        errors.append("frame %d: no IP header" % n)
        continue
    if "0" in (f[6], f[7], f[8]):
        errors.append("frame %d: bad checksum" % n)
    count["packets"] += 1
    count["ip_bytes"] += ipb
    s, d = owner(src), owner(dst)
    if not s and not d:
        errors.append("frame %d: %s -> %s has no subscriber" % (n, src, dst))
    if s:
        sub[s]["bytes_out"] += ipb
        sub[s]["pkts_out"] += 1
    if d:
        sub[d]["bytes_in"] += ipb
        sub[d]["pkts_in"] += 1

tsub = collections.defaultdict(collections.Counter)
totals = {}
step = None
with open(truth) as fh:
    rows = []
    for line in fh:
        if line.startswith("# totals "):
            totals = dict(kv.split("=") for kv in line[9:].split())
        elif line.startswith("# step="):
            step = int(line.split("=")[1])
        elif not line.startswith("#"):
            rows.append(line)
colsum = collections.Counter()
for d in csv.DictReader(rows, delimiter="\t"):
    if int(d["step"]) % step:
        errors.append("step %s is not a multiple of %d" % (d["step"], step))
    for c in ("bytes_in", "bytes_out", "pkts_in", "pkts_out"):
        tsub[d["subscriber"]][c] += int(d[c])
    for c, v in d.items():
        if c not in ("step", "subscriber"):
            colsum[c] += int(v)
exempt = set()
with open(truth) as fh:
    for line in fh:
        if line.startswith("# exempt="):
            exempt = set(filter(None, line.strip().split("=", 1)[1].split(",")))
fsum = collections.Counter()
with open(flows) as fh:
    for d in csv.DictReader(fh, delimiter="\t"):
        fsum["packets"] += int(d["c2s_pkts"]) + int(d["s2c_pkts"])
        fsum["ip_bytes"] += int(d["c2s_bytes"]) + int(d["s2c_bytes"])
        fsum["flows"] += 1
        cls = d["class"]
        # bytes towards the subscriber: s2c when it is the client
        inb, outb = int(d["s2c_bytes"]), int(d["c2s_bytes"])
        if d["direction"] == "in":
            inb, outb = outb, inb
        byte_col = {"allow": "bt_allow", "plain": "bt_plain", "enc": "bt_enc", "p2p": "p2p"}
        if cls in byte_col:
            fsum[byte_col[cls] + "_in"] += inb
            fsum[byte_col[cls] + "_out"] += outb
        sess_col = {"relay": "smtp_relay", "auth": "smtp_direct_auth",
                    "unauth": "smtp_direct_unauth", "tls": "smtp_direct_tls"}
        if cls in sess_col and d["kind"].startswith("smtp_"):
            fsum[sess_col[cls]] += 1
            if cls != "relay":
                fsum["smtp_rcpt"] += int(d["rcpt"])
                if d["subscriber"] in exempt:
                    fsum["smtp_exempt"] += 1
for c in ("flows", "bt_allow_in", "bt_allow_out", "bt_plain_in", "bt_plain_out",
          "bt_enc_in", "bt_enc_out", "p2p_in", "p2p_out", "smtp_relay", "smtp_direct_auth",
          "smtp_direct_unauth", "smtp_direct_tls", "smtp_exempt", "smtp_rcpt"):
    if colsum[c] != fsum[c]:
        errors.append("%s: the steps add up to %d, the flows to %d" % (c, colsum[c], fsum[c]))

for k in ("packets", "ip_bytes"):
    if int(totals.get(k, -1)) != count[k]:
        errors.append("%s: truth totals say %s, tshark counts %d" % (k, totals.get(k), count[k]))
    if fsum[k] != count[k]:
        errors.append("%s: the flows add up to %d, tshark counts %d" % (k, fsum[k], count[k]))
bad = [s for s in set(sub) | set(tsub) if sub[s] != tsub[s]]
for s in sorted(bad)[:5]:
    errors.append("%s: truth %s, tshark %s" % (s, dict(tsub[s]), dict(sub[s])))
print("%-5s packets=%d ip_bytes=%d subscribers=%d mismatched=%d bt_enc=%d smtp_unauth=%d rcpt=%d" %
      (encap, count["packets"], count["ip_bytes"], len(sub), len(bad),
       colsum["bt_enc_in"] + colsum["bt_enc_out"], colsum["smtp_direct_unauth"], colsum["smtp_rcpt"]))
for e in errors[:10]:
    print("  " + e)
sys.exit(1 if errors else 0)
PY
done
