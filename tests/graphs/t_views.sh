#!/bin/sh
# The operator's views (issue 18): two generated hours of 300 subscribers with
# spam bots, an exempt MTA and allowlisted torrents, replayed through
# spanwatch, drawn with -c (the sensor's config: name, exempt list, map,
# allowlist) and checked by views_check.py against the generator's truth,
# the map and the alerts JSON, with the search run in headless Chromium:
# by name and by address, a page drawn on demand by the command the index
# shows, every alert field, the marks, the sensor's name in the images'
# titles, words for empty scales, no nan. Also: several sensors make a
# combined table; -n without its -o is refused. Screenshots in
# build/test-artifacts/<variant>/graphs-views-*.png.
# variants: opt san
set -eu
B=${SW_BIN:?}
top=${TOP:?}
G=$B/spanwatch-graph
v=${SW_VARIANT:-opt}
work=$top/build/test-work/graphs-views-$v
art=$top/build/test-artifacts/$v
rm -rf "$work"
mkdir -p "$work" "$art"
fail() { echo "FAIL: $*"; exit 1; }
ms() { date +%s%3N; }

t0=$(ms)
# Two hours, not a day: a day of 300 subscribers is 432,000 RRD updates,
# more than ten minutes of replay on the 2-core test machine.
"$B/spanwatch-gen" -q -w "$work/cap.pcap" --truth "$work/truth.tsv" --conf-dir "$work/conf" \
	--seed 5 --subscribers 300 --bots 2 --duration 7200 --rate 60
printf '[sensor]\nname = pop-north\n' >>"$work/conf/spanwatch.conf"
t1=$(ms)
"$B/spanwatch" -c "$work/conf/spanwatch.conf" -r "$work/cap.pcap" -o "$work/rrd" \
	--alerts-json "$work/alerts.json" --no-syslog >"$work/spanwatch.log" 2>&1 ||
	{ tail -n 20 "$work/spanwatch.log"; fail "spanwatch exited non-zero"; }
t2=$(ms)
echo "generated in $((t1 - t0)) ms ($(wc -c <"$work/cap.pcap") bytes), replayed in $((t2 - t1)) ms"
rm -f "$work/cap.pcap"

"$G" -c "$work/conf/spanwatch.conf" -o "$work/rrd" -w "$work/site" --alerts "$work/alerts.json" \
	2>"$work/graph.err" || { cat "$work/graph.err"; fail "spanwatch-graph exited non-zero"; }
cat "$work/graph.err"
"$G" -q -c "$work/conf/spanwatch.conf" -n other-sensor-name -o "$work/rrd" -w "$work/site-b" \
	--alerts "$work/alerts.json" --end "$(rrdtool last "$work/rrd/sensor.rrd")" ||
	fail "spanwatch-graph -n exited non-zero"
# Both drawn to the same end: only the title should differ.
"$G" -q -c "$work/conf/spanwatch.conf" -o "$work/rrd" -w "$work/site" --alerts "$work/alerts.json" \
	--end "$(rrdtool last "$work/rrd/sensor.rrd")" || fail "second draw exited non-zero"

# Several sensors: named sections and one combined table.
cp -R "$work/rrd" "$work/rrd2"
"$G" -q -o "$work/rrd" -o "$work/rrd2" -n pop-a -n pop-b -w "$work/site2" --top 3 ||
	fail "two -o exited non-zero"
grep -q '<table class="sensors">' "$work/site2/index.html" || fail "no combined table for two sensors"
[ "$(grep -c '<h2 class="sensor">pop-[ab]</h2>' "$work/site2/index.html")" = 2 ] ||
	fail "two sensors not named pop-a, pop-b"
grep -q '"pop-a","pop-b"' "$work/site2/subindex.js" || fail "subindex.js does not name both sensors"
rc=0
"$G" -q -o "$work/rrd" -n a -n b -w "$work/site3" 2>"$work/msg" || rc=$?
[ "$rc" = 2 ] && grep -q '2 -n names for 1 -o' "$work/msg" || { cat "$work/msg"; fail "-n without its -o: exit $rc"; }
"$G" --help | grep -q -- '--subscriber NAME' || fail "--help does not mention --subscriber"

rc=0
/usr/bin/python3 "$top/tests/graphs/views_check.py" "$work/site" "$work/site-b" "$work/conf" \
	"$work/truth.tsv" "$work/alerts.json" pop-north "$art" "$G" || rc=$?
exit $rc
