#!/bin/sh
# spanwatch-graph end to end: two hours of a small ISP from spanwatch-gen
# (150 subscribers, a spam bot, BitTorrent users), replayed through
# spanwatch into RRD files, drawn into a site, and checked by
# dashboard_check.py against the generator's truth and in headless
# Chromium (every image of the index and of the bot's page loaded; the
# top tables name the truth's BitTorrent users and bots). Also: two -o
# directories make two sections; usage errors and an empty or missing RRD
# directory exit 2 with a message. Screenshots go to build/test-artifacts/.
# Skips (77) only the browser part, when chromium is not installed.
# variants: opt san
set -eu
B=${SW_BIN:?}
top=${TOP:?}
for p in spanwatch spanwatch-gen spanwatch-graph; do
	[ -x "$B/$p" ] || { echo "no $B/$p: build it first (make)"; exit 1; }
done
G=$B/spanwatch-graph
v=${SW_VARIANT:-opt}
work=$top/build/test-work/graphs-dashboard-$v
art=$top/build/test-artifacts
rm -rf "$work"
mkdir -p "$work" "$art"
fail() { echo "FAIL: $*"; exit 1; }
ms() { date +%s%3N; }

# --- usage and directory errors: exit 2, and say what is wrong ----------
expect2() {	# pattern args...: exit 2 and a message matching pattern
	pat=$1
	shift
	rc=0
	"$G" "$@" >"$work/msg" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || { cat "$work/msg"; fail "spanwatch-graph $*: exit $rc, expected 2"; }
	grep -q -- "$pat" "$work/msg" || { cat "$work/msg"; fail "spanwatch-graph $*: no '$pat' in the message"; }
	echo "exit 2 as expected: $(head -n 1 "$work/msg")"
}
mkdir -p "$work/empty"
expect2 "no sensor.rrd here" -o "$work/empty" -w "$work/out-empty"
expect2 "No such file or directory" -o "$work/missing" -w "$work/out-missing"
expect2 "usage" -o "$work/empty"
expect2 "usage"
expect2 "usage" --nonsense
expect2 "--end" -o "$work/empty" -w "$work/o" --end yesterday
expect2 "--top" -o "$work/empty" -w "$work/o" --top 0
[ ! -e "$work/out-empty" ] || fail "a refused run created its output directory"
"$G" --help | grep -q -- "--alerts" || fail "--help does not mention --alerts"

# --- a capture with known contents, through the sensor -------------------
t0=$(ms)
"$B/spanwatch-gen" -q -w "$work/cap.pcap" --truth "$work/truth.tsv" \
	--conf-dir "$work/conf" --seed 7 --subscribers 150 --duration 7200 --rate 100
t1=$(ms)
"$B/spanwatch" -c "$work/conf/spanwatch.conf" -r "$work/cap.pcap" -o "$work/rrd" \
	--alerts-json "$work/alerts.json" --no-syslog >"$work/spanwatch.log" 2>&1 ||
	{ tail -n 20 "$work/spanwatch.log"; fail "spanwatch exited non-zero"; }
t2=$(ms)
echo "generated in $((t1 - t0)) ms, replayed in $((t2 - t1)) ms"

# --- draw ---------------------------------------------------------------
"$G" -o "$work/rrd" -w "$work/site" --alerts "$work/alerts.json" 2>"$work/graph.err" ||
	{ cat "$work/graph.err"; fail "spanwatch-graph exited non-zero"; }
t3=$(ms)
cat "$work/graph.err"
echo "drawn in $((t3 - t2)) ms"
[ -s "$work/site/index.html" ] || fail "no index.html"
[ $((t3 - t2)) -lt 120000 ] || fail "drawing took $((t3 - t2)) ms"

# Two sensor directories: two sections, each with its own images.
cp -R "$work/rrd" "$work/rrd2"
"$G" -q -o "$work/rrd" -o "$work/rrd2" -w "$work/site2" --top 3 ||
	fail "spanwatch-graph with two -o exited non-zero"
for s in s0 s1; do
	grep -q "<section id=\"$s\">" "$work/site2/index.html" || fail "no section $s with two -o"
	[ -s "$work/site2/img/$s-traffic.png" ] || fail "no $s-traffic.png with two -o"
done
# --end: a window with nothing in it still draws, and says there is no estimate.
"$G" -q -o "$work/rrd" -w "$work/site3" --end 1700000000 --top 3 ||
	fail "spanwatch-graph --end (before the data) exited non-zero"
grep -q "No estimate" "$work/site3/index.html" || fail "--end before the data: Hurst estimate from nothing?"

# --- against the truth, and in the browser --------------------------------
rc=0
/usr/bin/python3 "$top/tests/graphs/dashboard_check.py" "$work/site" \
	"$work/truth.tsv" "$art/$v" || rc=$?
exit $rc
