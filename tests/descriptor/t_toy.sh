#!/bin/sh
# variants: opt
# Issue 16, "a concern declares itself": a toy concern that lives only in
# tests/descriptor/toy/ (a collector, its descriptor and the registry with
# its line added) is linked with the project's objects, untouched, into a
# spanwatch and a spanwatch-graph of its own. From its descriptor alone it
# must get:
#  - a data source: subscriber files gain toy_pkts after the 14 built-in
#    ones (rrdtool info, librrd's reading of the file, says so), holding
#    weight x (packets in + out) per subscriber, the figure of the
#    generator's truth (pkts_in, pkts_out), not of the sensor's;
#  - a key: [toy] weight from the configuration file (3 here) drives that
#    figure; 1001 is refused with file:line and the range (1..1000);
#  - a panel: its spanwatch-graph draws s0-NAME-toy.png on every
#    subscriber's page, with the toy's legend.
# And the real binaries know nothing of it: the same capture gives files
# with the 14 data sources, byte for byte the same names, [toy] is an
# unknown section and the dashboard has no toy image.
set -eu
top=${TOP:?}
B=${SW_BIN:?}
v=${SW_VARIANT:-opt}
obj=$top/build/$v/obj
work=$top/build/test-work/descriptor-toy-$v
toy=$top/tests/descriptor/toy
fail() { echo "FAIL: $*"; exit 1; }
command -v rrdtool >/dev/null || { echo "SKIP: rrdtool missing"; exit 77; }
for p in spanwatch spanwatch-gen spanwatch-graph; do
	[ -x "$B/$p" ] || fail "no $B/$p: build it first (make)"
done
[ -f "$top/build/$v/libspanwatch.a" ] && [ -f "$obj/sensor/main.o" ] ||
	fail "no $top/build/$v/libspanwatch.a: build it first (make)"
rm -rf "$work"
mkdir -p "$work"

# ---- build: the toy's files and the project's objects as they are ----
cd "$top"
inc=$(make -s --no-print-directory print-cppflags)
libs=$(make -s --no-print-directory print-ldlibs)
flags="-std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith
 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-align -Wno-unused-parameter -g -O2 -pthread"
case $v in
san) flags="$flags -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" ;;
esac
# shellcheck disable=SC2086 # word lists on purpose
cc $flags $inc -I"$toy" -o "$work/spanwatch-toy" "$obj/sensor/main.o" \
	"$toy/toy.c" "$toy/toy_desc.c" "$toy/registry_toy.c" "$toy/registry_toy_desc.c" \
	"$top/build/$v/libspanwatch.a" $libs || fail "spanwatch-toy does not build"
# spanwatch-graph's own objects (the Makefile's GRAPH_LIB_SRC) but the
# descriptor table, which the toy's replaces.
gobj=$(ls "$obj"/graphs/*.o "$obj"/sensor/lib/*.o "$obj"/sensor/out/rrdschema.o \
	"$obj"/sensor/config.o "$obj"/sensor/config_types.o "$obj"/collectors/*_desc.o \
	"$obj"/collectors/*/*_desc.o | grep -v '/registry_desc\.o$')
# shellcheck disable=SC2086
cc $flags $inc -I"$toy" -o "$work/spanwatch-graph-toy" $gobj "$toy/toy_desc.c" \
	"$toy/registry_toy_desc.c" $(make -s --no-print-directory print-graph-libs) ||
	fail "spanwatch-graph-toy does not build"

# ---- a capture with known truth ----
"$B/spanwatch-gen" -q -w "$work/cap.pcap" --truth "$work/truth.tsv" \
	--conf-dir "$work/conf" --seed 7 --subscribers 5 --duration 900 --rate 20
conf=$work/conf/spanwatch.conf
cp "$conf" "$work/toy.conf"
printf '\n[toy]\nweight = 3\n' >>"$work/toy.conf"

# ---- the key: bounds enforced, with file and line ----
cp "$conf" "$work/bad.conf"
printf '\n[toy]\nweight = 1001\n' >>"$work/bad.conf"
line=$(grep -n '^weight = 1001' "$work/bad.conf" | cut -d: -f1)
rc=0
"$work/spanwatch-toy" -n -c "$work/bad.conf" >"$work/bad.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || { cat "$work/bad.out"; fail "weight = 1001: exit $rc, expected 2"; }
grep -q "bad.conf:$line: \[toy\] weight: '1001' is out of range (1..1000)" "$work/bad.out" ||
	{ cat "$work/bad.out"; fail "weight = 1001: no file:line and range in the message"; }
"$work/spanwatch-toy" -n -c "$work/toy.conf" >"$work/ok.out" 2>&1 ||
	{ cat "$work/ok.out"; fail "weight = 3 refused"; }
rc=0
"$B/spanwatch" -n -c "$work/toy.conf" >"$work/real.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q 'unknown section \[toy\]' "$work/real.out" ||
	{ cat "$work/real.out"; fail "the real spanwatch accepts [toy] (exit $rc)"; }
echo "key: [toy] weight = 1001 refused at bad.conf:$line, 3 taken; the real sensor knows no [toy]"

# ---- the data source ----
"$work/spanwatch-toy" -c "$work/toy.conf" -r "$work/cap.pcap" -o "$work/rrd-toy" \
	--no-syslog >"$work/toy.log" 2>&1 || { tail -n 20 "$work/toy.log"; fail "spanwatch-toy exited non-zero"; }
"$B/spanwatch" -c "$conf" -r "$work/cap.pcap" -o "$work/rrd-real" \
	--no-syslog >"$work/real.log" 2>&1 || { tail -n 20 "$work/real.log"; fail "spanwatch exited non-zero"; }
dsnames() {	# file: its data source names in file order
	rrdtool info "$1" | sed -n 's/^ds\[\([^]]*\)\]\.index = \([0-9]*\)$/\2 \1/p' | sort -n | cut -d' ' -f2 | tr '\n' ' '
}
builtin="bytes_in bytes_out bt_in bt_out bt_allow_in bt_allow_out p2p_in p2p_out smtp_direct smtp_unauth smtp_tls smtp_rcpt smtp_spfpass flows "
n=0
for f in "$work"/rrd-real/subscribers/*.rrd; do
	name=$(basename "$f" .rrd)
	[ "$(dsnames "$f")" = "$builtin" ] || fail "real $name.rrd: data sources '$(dsnames "$f")'"
	[ "$(dsnames "$work/rrd-toy/subscribers/$name.rrd")" = "${builtin}toy_pkts " ] ||
		fail "toy $name.rrd: data sources '$(dsnames "$work/rrd-toy/subscribers/$name.rrd")'"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n subscriber files"
[ "$(dsnames "$work/rrd-real/sensor.rrd")" = "$(dsnames "$work/rrd-toy/sensor.rrd")" ] ||
	fail "sensor.rrd differs between the toy and the real sensor"
# weight x packets per subscriber: truth against the file's steps.
awk -F'\t' '!/^#/ && $1 != "step" { p[$2] += $5 + $6 } END { for (s in p) print s, 3 * p[s] }' \
	"$work/truth.tsv" | sort >"$work/want"
start=$(awk -F'\t' '!/^#/ && $1 != "step" { print $1; exit }' "$work/truth.tsv")
: >"$work/got"
for f in "$work"/rrd-toy/subscribers/*.rrd; do
	rrdtool fetch "$f" AVERAGE -r 60 -s $((start - 60)) -e $((start + 1200)) |
		awk -v s="$(basename "$f" .rrd)" '$1 ~ /:$/ && $16 != "-nan" && $16 != "nan" { t += $16 * 60 }
		END { printf "%s %.0f\n", s, t }' >>"$work/got"
done
sort -o "$work/got" "$work/got"
grep -v ' 0$' "$work/want" >"$work/want.nz" || true
join "$work/want.nz" "$work/got" >"$work/both"
[ "$(wc -l <"$work/both")" -eq "$(wc -l <"$work/want.nz")" ] || { cat "$work/want" "$work/got"; fail "a subscriber of the truth has no toy file"; }
awk '$2 != $3 { print "FAIL: " $1 ": toy_pkts " $3 ", truth 3 x " $2 / 3 " = " $2; bad = 1 } END { exit bad }' "$work/both" ||
	fail "toy_pkts is not weight x packets"
echo "data source: toy_pkts after the 14 built-in ones in $n files, = 3 x truth's packets: $(tr '\n' ' ' <"$work/both")"

# ---- the panel ----
"$work/spanwatch-graph-toy" -o "$work/rrd-toy" -w "$work/site-toy" >"$work/gt.log" 2>&1 ||
	{ cat "$work/gt.log"; fail "spanwatch-graph-toy failed"; }
"$B/spanwatch-graph" -o "$work/rrd-real" -w "$work/site-real" >"$work/gr.log" 2>&1 ||
	{ cat "$work/gr.log"; fail "spanwatch-graph failed"; }
np=0
for page in "$work"/site-toy/sub/*.html; do
	name=$(basename "$page" .html)
	png=$work/site-toy/sub/img/s0-$name-toy.png
	[ -s "$png" ] || fail "no toy panel for $name"
	[ "$(head -c 4 "$png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "$png is not a PNG"
	grep -q "img/s0-$name-toy.png\" alt=\"$name: toy packets\"" "$page" ||
		fail "$name's page does not show its toy panel"
	np=$((np + 1))
done
[ "$np" -ge 2 ] || fail "only $np subscriber pages"
[ "$(find "$work/site-real/sub" -name '*.html' | wc -l)" -eq "$np" ] || fail "not as many pages in the real dashboard"
! find "$work/site-real" -name '*-toy.png' | grep -q . || fail "the real dashboard has a toy panel"
echo "panel: $np subscriber pages show the toy panel; the real dashboard has none"
