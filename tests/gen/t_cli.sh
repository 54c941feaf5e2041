#!/bin/sh
# spanwatch-gen's command line and the files that describe its network:
# --help, usage errors (exit 2), --conf-dir (subscribers.txt,
# torrent-allowlist.txt, spanwatch.conf) agreeing with the truth header.
set -eu
GEN=${SW_BIN:?}/spanwatch-gen
[ -x "$GEN" ] || { echo "no $GEN: build it first"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swgen-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

"$GEN" --help >"$tmp/help" || fail "--help exits non-zero"
for o in write truth truth-flows seed subscribers packets duration rate alpha vlan qinq \
	pppoe conf-dir step start prefix4 prefix6 daily-cycle bots exempt; do
	grep -q -- "--$o" "$tmp/help" || fail "--help does not mention --$o"
done

usage_error() {	# args...: must exit 2 with a message
	rc=0
	"$GEN" "$@" >"$tmp/out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "'$*' exited $rc, expected 2"
	[ -s "$tmp/out" ] || fail "'$*' printed no message"
}
usage_error --packets 10
usage_error -w "$tmp/x.pcap" --nonsense
usage_error -w "$tmp/x.pcap" --vlan --pppoe
usage_error -w "$tmp/x.pcap" --alpha 2.5
usage_error -w "$tmp/x.pcap" --subscribers 0
usage_error -w "$tmp/x.pcap" --prefix4 100.64.0.1/10
usage_error -w "$tmp/x.pcap" --prefix4 198.18.0.0/15
usage_error -w "$tmp/x.pcap" --prefix6 2001:db8:ff00::/40 --subscribers 70000
usage_error -w "$tmp/x.pcap" --subscribers 10 --bots 8 --exempt 3

"$GEN" -q -w "$tmp/a.pcap" --truth "$tmp/a.tsv" --conf-dir "$tmp/conf" --seed 3 \
	--subscribers 500 --exempt 2 --bots 4 --packets 2000
/usr/bin/python3 - "$tmp/conf" "$tmp/a.tsv" <<'PY'
import ipaddress, os, re, sys

conf, truth = sys.argv[1], sys.argv[2]
head = {}
for line in open(truth):
    if line.startswith("# ") and "=" in line and not line.startswith("# totals"):
        k, v = line[2:].rstrip("\n").split("=", 1)
        head.setdefault(k, []).append(v)
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

check(head.get("alpha") == ["1.4"] and head.get("hurst") == ["0.800"], "alpha/hurst header")
check(head.get("step") == ["60"], "step header")
bots = head["bots"][0].split(",")
exempt = head["exempt"][0].split(",")
check(len(bots) == 4 and len(exempt) == 2, "bots/exempt header: %s %s" % (bots, exempt))

names, v4, v6 = set(), 0, 0
for line in open(os.path.join(conf, "subscribers.txt")):
    if line.startswith("#"):
        continue
    cidr, name = line.split()
    net = ipaddress.ip_network(cidr)	# strict: host bits must be zero
    check(re.fullmatch(r"cust-\d{4,}", name) is not None, "name " + name)
    names.add(name)
    if net.version == 4:
        v4 += 1
        check(net.prefixlen in (29, 32), "v4 prefix " + cidr)
        check(net.subnet_of(ipaddress.ip_network("100.64.0.0/10")), "outside CGNAT: " + cidr)
    else:
        v6 += 1
        check(net.prefixlen == 56 and net.subnet_of(ipaddress.ip_network("2001:db8::/32")), cidr)
check(v4 == 500 and len(names) == 500, "%d IPv4 prefixes, %d names" % (v4, len(names)))
check(100 < v6 < 400, "%d IPv6 prefixes" % v6)
check(set(bots + exempt) <= names, "bots/exempt are subscribers")

allow = [l.split(None, 1) for l in open(os.path.join(conf, "torrent-allowlist.txt"))
         if not l.startswith("#")]
check(len(allow) == 4 and all(re.fullmatch(r"[0-9a-f]{40}", h) for h, _ in allow), "allowlist")
check(sorted(h for h, _ in allow) == sorted(v.split()[0] for v in head["allow"]),
      "allowlist hashes differ from the truth's")

ini, sect = {}, None
for line in open(os.path.join(conf, "spanwatch.conf")):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    m = re.fullmatch(r"\[(\w+)\]", line)
    if m:
        sect = m.group(1)
        continue
    k, v = [x.strip() for x in line.split("=", 1)]
    ini[(sect, k)] = v
check(os.path.isfile(ini.get(("subscribers", "file"), "")), "[subscribers] file")
check(os.path.isfile(ini.get(("p2p", "allowlist"), "")), "[p2p] allowlist")
check(ini.get(("smtp", "relays")) == "192.0.2.25, 2001:db8:ffff::19", "[smtp] relays")
check(sorted(re.split(r"[,\s]+", ini.get(("smtp", "exempt"), ""))) == sorted(exempt),
      "[smtp] exempt")
check(ini.get(("smtp", "ports")) == "25, 587", "[smtp] ports")
for e in errors:
    print("FAIL:", e)
sys.exit(1 if errors else 0)
PY
echo "options, usage errors and --conf-dir files are consistent"
