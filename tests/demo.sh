#!/bin/sh
# `make run`: a small ISP's traffic, made by the generator (once, then
# kept in var/), replayed through spanwatch into var/rrd, and what it saw.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
var=$top/var
mkdir -p "$var"
# Three hours of 300 subscribers: spam bots, an exempt mail server, plain
# and encrypted BitTorrent users, allowlisted ISO torrents. (Three hours
# give the Hurst estimate enough steps; a day would be a 4 GB capture.)
GEN_OPTS="--seed 42 --subscribers 300 --duration 10800 --rate 120 --bots 3 --daily-cycle"
if [ ! -f "$var/demo.pcap" ] || [ "$(cat "$var/demo.opts" 2>/dev/null)" != "$GEN_OPTS" ]; then
	echo "generating the demo capture (spanwatch-gen $GEN_OPTS)"
	# shellcheck disable=SC2086
	bin/spanwatch-gen -w "$var/demo.pcap" --truth "$var/demo.truth.tsv" \
		--conf-dir "$var/conf" $GEN_OPTS
	echo "$GEN_OPTS" >"$var/demo.opts"
fi
rm -rf "$var/rrd" "$var/alerts.json" "$var/flows.tsv"
echo "replaying it through spanwatch into var/rrd"
bin/spanwatch -c "$var/conf/spanwatch.conf" -r "$var/demo.pcap" -o "$var/rrd" \
	--flow-log "$var/flows.tsv" --alerts-json "$var/alerts.json" --no-syslog 2>"$var/spanwatch.log" || {
	cat "$var/spanwatch.log" >&2
	exit 1
}
echo
grep '^summary' "$var/spanwatch.log"
echo
echo "alerts raised ($(wc -l <"$var/alerts.json") in var/alerts.json):"
grep '^alert=' "$var/spanwatch.log" || echo "  none"
rm -rf "$var/www"
bin/spanwatch-graph -c "$var/conf/spanwatch.conf" -o "$var/rrd" -w "$var/www" --alerts "$var/alerts.json" >/dev/null
echo
echo "files written:"
echo "  var/rrd/sensor.rrd                  the sensor's own counters"
echo "  var/rrd/subscribers/NAME.rrd        $(ls "$var/rrd/subscribers" | wc -l) subscribers"
echo "  var/flows.tsv                       $(($(wc -l <"$var/flows.tsv") - 1)) flows"
echo "  var/alerts.json                     the alerts as JSON lines"
echo "  var/demo.truth.tsv                  what the generator put in the capture"
echo
echo "the dashboard: file://$var/www/index.html"
echo "  (or: cd var/www && python3 -m http.server 8000, then http://localhost:8000/)"
