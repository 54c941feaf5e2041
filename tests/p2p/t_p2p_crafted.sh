#!/bin/sh
# variants: opt san
# Peer exchange, a UDP tracker, a split HTTP tracker reply, an allowlisted
# torrent over uTP and MSE-shaped flows vouched for by each (or by
# nobody), in a small hand-made capture: labels in the flow log, bt_* and
# bt_allow_* in the RRD files, bt_volume alerts. See crafted.py. With 1,
# 2 and 4 threads: the same labels and figures (a peer named by one
# subscriber's flow and used by another's: the two are on different
# workers at 2 or 4 threads, and the peer cache is one for all).
set -u
command -v rrdtool >/dev/null || { echo "SKIP: no rrdtool"; exit 77; }
d=$TOP/build/test-work/p2p-crafted-${SW_VARIANT:-opt}
rm -rf "$d"
/usr/bin/python3 "$TOP/tests/p2p/crafted.py" write "$d" || exit 1
for n in 1 2 4; do
	r=$d/t$n
	mkdir -p "$r"
	cp "$d/cap.pcap" "$d/subscribers.txt" "$d/allow.txt" "$r/"
	{ cat "$d/spanwatch.conf"; printf '[capture]\nthreads = %d\n' "$n"; } >"$r/spanwatch.conf"
	"$SW_BIN/spanwatch" -q -c "$r/spanwatch.conf" -r "$r/cap.pcap" -o "$r/rrd" \
		--flow-log "$r/flows.tsv" --no-syslog --alerts-json "$r/alerts.json" >"$r/log" 2>&1
	st=$?
	echo "== threads = $n"
	cat "$r/log"
	[ $st -eq 0 ] || { echo "FAIL: spanwatch exit $st (threads = $n)"; exit 1; }
	grep -q -E "Sanitizer|runtime error" "$r/log" && { echo "FAIL: sanitizer report"; exit 1; }
	/usr/bin/python3 "$TOP/tests/p2p/crafted.py" check "$r" || { echo "FAIL: threads = $n"; exit 1; }
done
# The same flows with the same labels and bytes (the flow log's order is
# the workers' own), and the same alerts.
for n in 2 4; do
	for f in flows.tsv alerts.json; do
		sort "$d/t1/$f" >"$d/a"
		sort "$d/t$n/$f" >"$d/b"
		cmp -s "$d/a" "$d/b" || { echo "FAIL: $f differs at threads = $n:"; diff "$d/a" "$d/b" | head; exit 1; }
	done
done
echo "threads 1, 2, 4: the same flow log and alerts"
