#!/bin/sh
# variants: opt san
# The p2p collector against ground truth: spanwatch-gen writes captures
# with plain BitTorrent (TCP, uTP, DHT, tracker), encrypted (MSE)
# BitTorrent, allowlisted torrents and other P2P, with per-subscriber,
# per-step truth; spanwatch reads them with the configuration the
# generator wrote (plus a low [p2p] max_bt_bytes) and writes RRD files.
# truth.py compares the RRD totals per subscriber (bt_*, bt_allow_*,
# p2p_* exact for plain and allowlisted BitTorrent and other P2P;
# encrypted detected >= 90%, >= 95% for swarms joined encrypted only,
# 100% of allowlisted torrents fetched encrypted in bt_allow_*; false
# positives <= 0.5% of non-BitTorrent bytes) and the bt_volume alerts
# against the truth.
set -u
gen=$SW_BIN/spanwatch-gen
sw=$SW_BIN/spanwatch
[ -x "$gen" ] || { echo "SKIP: no $gen (tests/gen not built)"; exit 77; }
command -v rrdtool >/dev/null || { echo "SKIP: no rrdtool"; exit 77; }
work=$TOP/build/test-work/p2p-truth-${SW_VARIANT:-opt}
rm -rf "$work"
mkdir -p "$work" || exit 1
rc=0
# seed, subscribers, duration, extra generator options
# seed 41: half the swarms joined encrypted only (--bt-bare: no DHT, a
# clear tracker announce only for allowlisted torrents), issue 15.
for run in "3 40 600" "17 60 900 --vlan" "29 30 600 --pppoe" "41 40 600 --bt-bare 0.5"; do
	set -- $run
	seed=$1 subs=$2 dur=$3
	shift 3
	d=$work/seed$seed
	mkdir -p "$d"
	echo "== seed $seed, $subs subscribers, ${dur}s $*"
	"$gen" -w "$d/cap.pcap" --truth "$d/truth.tsv" --conf-dir "$d/conf" --seed "$seed" \
		--subscribers "$subs" --duration "$dur" --rate $((subs * 8)) --bt-share 0.3 "$@" \
		>"$d/gen.log" 2>&1 || { cat "$d/gen.log"; exit 1; }
	# The generator's configuration ends in [p2p]: a low alert threshold.
	printf 'window = 5m\nmax_bt_bytes = 1M\n' >>"$d/conf/spanwatch.conf"
	"$sw" -q -c "$d/conf/spanwatch.conf" -r "$d/cap.pcap" -o "$d/rrd" \
		--flow-log "$d/flows.tsv" --no-syslog --alerts-json "$d/alerts.json" \
		>"$d/spanwatch.log" 2>&1
	st=$?
	rm -f "$d/cap.pcap"
	if [ $st -ne 0 ] || grep -q -E "Sanitizer|runtime error" "$d/spanwatch.log"; then
		echo "FAIL: spanwatch exit $st"; cat "$d/spanwatch.log"; rc=1; continue
	fi
	/usr/bin/python3 "$TOP/tests/p2p/truth.py" "$d/truth.tsv" "$d/truth.flows.tsv" \
		"$d/flows.tsv" "$d/rrd" --alerts "$d/alerts.json" --max-bt-bytes 1000000 || rc=1
done
exit $rc
