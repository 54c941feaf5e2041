#!/bin/sh
# spanwatch-graph redraw time and size at 300 and 20,000 subscribers
# (issue 18), for bench.sh to call: sh tests/bench/graph_bench.sh [WORKDIR]
#
# Two hours of 300 subscribers from spanwatch-gen, replayed through
# spanwatch, give the RRDs; the 20,000-subscriber folder links those 300
# files under 20,000 names (hard links: 22 GB of copies would measure the
# disk, not the program; the reads are then from a warm page cache, see
# graphs/README.md for cold figures). Prints one line per run:
#   graph_bench subscribers=N full_s=S pages=P images=I site_kB=K index_kB=X lazy_page_s=L
# and exits 1 when a full redraw at 20,000 takes longer than the 60 s step.
set -eu
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${SW_BIN:-$top/bin}
work=${1:-$top/build/bench/graph}
rm -rf "$work"
mkdir -p "$work"
ms() { date +%s%3N; }

"$B/spanwatch-gen" -q -w "$work/cap.pcap" --conf-dir "$work/conf" --seed 3 \
	--subscribers 300 --bots 2 --duration 7200 --rate 60
"$B/spanwatch" -c "$work/conf/spanwatch.conf" -r "$work/cap.pcap" -o "$work/rrd300" \
	--alerts-json "$work/alerts.json" --no-syslog >"$work/spanwatch.log" 2>&1
rm -f "$work/cap.pcap"

mkdir -p "$work/rrd20k/subscribers"
ln "$work/rrd300/sensor.rrd" "$work/rrd20k/sensor.rrd"
ls "$work/rrd300/subscribers" >"$work/names"
n=$(wc -l <"$work/names")
i=0
while [ $i -lt 20000 ]; do
	echo $i
	i=$((i + 1))
done | awk -v n="$n" -v names="$work/names" -v src="$work/rrd300/subscribers" \
	-v dst="$work/rrd20k/subscribers" '
	BEGIN { while ((getline l < names) > 0) f[k++] = l }
	{ printf "%s/%s %s/bench-%05d.rrd\n", src, f[$1 % n], dst, $1 }' |
	while read -r a b; do ln "$a" "$b"; done
# The map for -c: every bench name with an address of its own.
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "10.%d.%d.0/24 bench-%05d\n", int(i / 256), i % 256, i }' \
	>"$work/map20k.txt"
sed "s|^file = .*|file = $work/map20k.txt|" "$work/conf/spanwatch.conf" >"$work/conf20k.conf"

rc=0
for case in 300 20000; do
	if [ $case = 300 ]; then d=$work/rrd300 c=$work/conf/spanwatch.conf; else d=$work/rrd20k c=$work/conf20k.conf; fi
	out=$work/site$case
	t0=$(ms)
	"$B/spanwatch-graph" -q -c "$c" -o "$d" -w "$out" --alerts "$work/alerts.json"
	t1=$(ms)
	name=$(ls "$d/subscribers" | sed -n '$s/\.rrd$//p')
	"$B/spanwatch-graph" -q -c "$c" -o "$d" -w "$out" --alerts "$work/alerts.json" --subscriber "$name"
	t2=$(ms)
	pages=$(ls "$out/sub" | grep -c '\.html$')
	imgs=$(find "$out" -name '*.png' | wc -l)
	site=$(du -sk "$out" | cut -f1)
	idx=$(($(wc -c <"$out/subindex.js") / 1024))
	full=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
	lazy=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
	echo "graph_bench subscribers=$case full_s=$full pages=$pages images=$imgs site_kB=$site index_kB=$idx lazy_page_s=$lazy"
	[ $case != 20000 ] || [ $((t1 - t0)) -le 60000 ] || { echo "graph_bench: a full redraw at 20,000 subscribers took more than the 60 s step"; rc=1; }
done
exit $rc
