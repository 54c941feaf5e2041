#!/bin/sh
# variants: opt san
# Peer exchange, a UDP tracker, a split HTTP tracker reply, an allowlisted
# torrent over uTP and MSE-shaped flows vouched for by each (or by
# nobody), in a small hand-made capture: labels in the flow log, bt_* and
# bt_allow_* in the RRD files, bt_volume alerts. See crafted.py.
set -u
command -v rrdtool >/dev/null || { echo "SKIP: no rrdtool"; exit 77; }
d=$TOP/build/test-work/p2p-crafted-${SW_VARIANT:-opt}
rm -rf "$d"
/usr/bin/python3 "$TOP/tests/p2p/crafted.py" write "$d" || exit 1
"$SW_BIN/spanwatch" -q -c "$d/spanwatch.conf" -r "$d/cap.pcap" -o "$d/rrd" \
	--flow-log "$d/flows.tsv" --no-syslog --alerts-json "$d/alerts.json" >"$d/log" 2>&1
st=$?
cat "$d/log"
[ $st -eq 0 ] || { echo "FAIL: spanwatch exit $st"; exit 1; }
grep -q -E "Sanitizer|runtime error" "$d/log" && { echo "FAIL: sanitizer report"; exit 1; }
exec /usr/bin/python3 "$TOP/tests/p2p/crafted.py" check "$d"
