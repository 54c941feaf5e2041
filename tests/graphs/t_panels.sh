#!/bin/sh
# Every dashboard panel's rrdtool argument list, for a fixed section
# (panels_dump.c: colons in the RRD paths, with and without the
# subscribers' in/out sum, alert ticks and alert marks from a crafted
# alerts file, a subscriber's page), byte for byte as
# tests/graphs/panels.expected says. That file was written by the
# hand-drawn panels of graphs/panels.c before the concerns' panels moved
# into their descriptors (collector_desc.h), so the descriptors must draw
# exactly what the hand-written arguments drew.
# variants: opt san
set -eu
top=${TOP:?}
work=$top/build/test-work/graphs-panels-${SW_VARIANT:-opt}
mkdir -p "$work"
flags="-std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith
 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-align -D_GNU_SOURCE -g"
case ${SW_VARIANT:-opt} in
san) flags="$flags -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
 -fno-sanitize-recover=all" ;;
*) flags="$flags -O2" ;;
esac
inc=
for d in $(cd "$top" && find sensor collectors -type d); do
	inc="$inc -I$top/$d"
done
# shellcheck disable=SC2086
${CC:-cc} $flags -I"$top/graphs" $inc -o "$work/panels_dump" \
	"$top/tests/graphs/panels_dump.c" "$top/graphs/panels.c" \
	"$top/graphs/render.c" "$top/graphs/series.c" "$top/graphs/alertlog.c" \
	"$top/sensor/lib/log.c" "$top/collectors/registry_desc.c" \
	$(cd "$top" && ls collectors/*_desc.c collectors/*/*_desc.c |
	    grep -v registry_desc | sed "s|^|$top/|") \
	$(pkg-config --libs librrd) -lm
# Two sensor alerts (one outside the window), two of alice's, one of bob's.
cat >"$work/alerts.json" <<'JSON'
{"alert":"capture_drops","ts":"2023-11-14T23:00:00Z","sensor":"sensor"}
{"alert":"smtp_direct","ts":"2023-11-15T01:00:00Z","subscriber":"alice"}
{"alert":"bt_volume","ts":"2023-11-15T02:00:00Z","subscriber":"bob"}
{"alert":"smtp_direct","ts":"2023-11-15T03:00:00Z","subscriber":"alice"}
{"alert":"odd:kind","ts":"2023-11-15T04:00:00Z","sensor":"sensor"}
{"alert":"flow_table_full","ts":"2023-11-16T01:00:00Z","sensor":"sensor"}
JSON
"$work/panels_dump" "$work/alerts.json" >"$work/panels.out"
if ! cmp -s "$top/tests/graphs/panels.expected" "$work/panels.out"; then
	diff -u "$top/tests/graphs/panels.expected" "$work/panels.out" | head -40
	echo "panel arguments differ from tests/graphs/panels.expected"
	exit 1
fi
echo "$(grep -c '^== ' "$work/panels.out") panels, $(wc -l <"$work/panels.out") lines: identical"
