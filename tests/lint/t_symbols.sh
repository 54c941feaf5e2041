#!/bin/sh
# No global symbol of ours shadows one of the libraries we link: a static
# library's rrdc_connect once replaced librrd's own, and rrd_graph's
# daemon check then called it with a string (spanwatch-graph crashed on
# every image drawn with the rrdcached check).
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
lib=$top/build/opt/libspanwatch.a
[ -f "$lib" ] || { echo "SKIP: $lib not built"; exit 77; }
ours=$(mktemp) theirs=$(mktemp)
nm --defined-only "$lib" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u >"$ours"
for l in $(pkg-config --libs-only-l libpcap libndpi librrd inih libmicrohttpd 2>/dev/null) -lspf2; do
	name=lib${l#-l}.so
	path=$(ldconfig -p | awk -v n="$name" '$1 == n || index($1, n ".") == 1 { print $NF; exit }')
	[ -n "$path" ] && nm -D --defined-only "$path" | awk '{ print $3 }'
done | sort -u >"$theirs"
# On purpose: dpicache.c defines nDPI's two cache calls, which libndpi
# makes through its PLT, so that the caches' order does not depend on
# the number of threads (sensor/flow/dpicache.h).
clash=$(comm -12 "$ours" "$theirs" | grep -vx 'ndpi_lru_find_cache\|ndpi_lru_add_to_cache')
rm -f "$ours" "$theirs"
if [ -n "$clash" ]; then
	echo "symbols that shadow a library's: $clash"
	exit 1
fi
echo "no symbol of libspanwatch.a shadows libpcap, libndpi, librrd, inih, libmicrohttpd or libspf2"
