#!/bin/sh
# make bench: spanwatch against the floor and its peer, on one capture.
#
# The capture is the standard benchmark: spanwatch-gen with BENCH_GEN_OPTS
# below (5 million packets of 20,000 subscribers, the generator's ISP mix:
# HTTPS, HTTP, QUIC, BitTorrent plain/encrypted/uTP/DHT, eDonkey, Gnutella,
# games, DNS, SMTP), cached in build/bench/ and made again when missing or
# when the options or the generator binary change (rm -rf build/bench
# forces it).
#
# Each program reads the whole file BENCH_RUNS times (default 3), the file
# read into the page cache before each run (warm, below), and the
# median wall time counts:
#   floor       tests/bench/floor.c: libpcap alone, one byte per packet
#   floor -b    the same through a 1 MiB stdio buffer: what the data costs
#               without libpcap's 4 KiB reads (information, no target)
#   ndpiReader  Debian's nDPI 4.2 reader, ndpiReader -q -i FILE (the peer)
#   spanwatch   bin/spanwatch -r FILE (its summary line gives peak_flows=)
# Targets, printed as pass/miss: spanwatch at least 5x ndpiReader's packet
# rate and 0.35x the floor's; peak RSS at most 64 MiB + 512 B per peak flow.
# The exit status is 0 unless something could not run; BENCH_STRICT=1 also
# makes a missed target fail.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build/bench
runs=${BENCH_RUNS:-3}
BENCH_GEN_OPTS="--seed 2026 --subscribers 20000 --packets 5000000 --start 1767225600"
pcap=$out/bench.pcap
gen=bin/spanwatch-gen
sw=bin/spanwatch
TIME=/usr/bin/time

mkdir -p "$out"
[ -x "$TIME" ] || { echo "bench: $TIME missing (package 'time'; run tests/install-deps.sh)"; exit 1; }
command -v ndpiReader >/dev/null || { echo "bench: ndpiReader missing (libndpi-bin)"; exit 1; }

# ---- the capture ----
[ -x "$gen" ] || { echo "bench: $gen missing: run make first"; exit 1; }
# The generator's sources, not its binary (which differs per build folder),
# say whether a cached capture is still the one the options make.
stamp="$BENCH_GEN_OPTS $(cat tests/gen/*.c tests/gen/*.h | sha256sum | cut -d' ' -f1)"
if [ ! -s "$pcap" ] || [ "$(cat "$out/bench.opts" 2>/dev/null)" != "$stamp" ]; then
	echo "bench: generating $pcap ($BENCH_GEN_OPTS)"
	rm -f "$pcap" "$out/bench.opts"
	# shellcheck disable=SC2086 # the options are words on purpose
	"$gen" -w "$pcap.tmp" --truth "$out/bench.tsv" --truth-flows /dev/null $BENCH_GEN_OPTS
	mv "$pcap.tmp" "$pcap"
	echo "$stamp" >"$out/bench.opts"
fi

cc -O2 -o "$out/floor" tests/bench/floor.c -lpcap

# ---- measuring ----
# warm FILE: reads FILE into the page cache before each timed run. Reading
# it once at the start is not enough on a guest whose host pages cold page
# cache out (seen: a DAMON kdamond with action pageout for pages unused for
# a minute): a third of the capture was then read from disk again during
# the runs, by whichever program came next, and the ratios swung with it.
warm() {
	cat "$1" >/dev/null
}

# run NAME CMD...: runs CMD $runs times; sets med_s (median wall seconds),
# med_kb (peak RSS of that run, KiB) and keeps the last run's stderr in
# $out/NAME.err
run() {
	name=$1
	shift
	eval "input=\${$#}"	# every command here reads the file named last
	: >"$out/$name.times"
	i=0
	while [ "$i" -lt "$runs" ]; do
		warm "$input"
		if ! "$TIME" -f "%e %M" -o "$out/$name.time" "$@" >"$out/$name.out" 2>"$out/$name.err"; then
			echo "bench: $name failed:"
			tail -n 5 "$out/$name.err"
			return 1
		fi
		cat "$out/$name.time" >>"$out/$name.times"
		i=$((i + 1))
	done
	mid=$(((runs + 1) / 2))
	med_s=$(sort -n "$out/$name.times" | sed -n "${mid}p" | cut -d' ' -f1)
	med_kb=$(sort -n "$out/$name.times" | sed -n "${mid}p" | cut -d' ' -f2)
}

run floor "$out/floor" "$pcap"
floor_s=$med_s floor_kb=$med_kb
packets=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$out/floor.out")
frame_bytes=$(sed -n 's/.*frame_bytes=\([0-9]*\).*/\1/p' "$out/floor.out")
run floorb "$out/floor" -b "$pcap"
floorb_s=$med_s floorb_kb=$med_kb
# BENCH_NDPI=0 skips the peer (two minutes here): its row reads "not run".
ndpi_s="" ndpi_kb=0
if [ "${BENCH_NDPI:-1}" != 0 ]; then
	run ndpi ndpiReader -q -i "$pcap"
	ndpi_s=$med_s ndpi_kb=$med_kb
fi
sw_s="" sw_kb="" peak="n/a"
if [ -x "$sw" ]; then
	if run spanwatch "$sw" -r "$pcap"; then
		sw_s=$med_s sw_kb=$med_kb
		p=$(sed -n 's/^summary .*peak_flows=\([0-9]*\).*/\1/p' "$out/spanwatch.err" | tail -n 1)
		[ -n "$p" ] && peak=$p
	fi
fi
gen_peak=$(sed -n 's/^# totals .*peak_flows=\([0-9]*\).*/\1/p' "$out/bench.tsv" 2>/dev/null || true)
[ -n "$sw_s" ] && grep '^summary ' "$out/spanwatch.err" | tail -n 1 | sed 's/^/spanwatch: /'

# ---- the report ----
awk -v packets="$packets" -v fbytes="$frame_bytes" -v runs="$runs" -v pcap="$pcap" \
    -v opts="$BENCH_GEN_OPTS" -v floor_s="$floor_s" -v floor_kb="$floor_kb" \
    -v floorb_s="$floorb_s" -v floorb_kb="$floorb_kb" \
    -v ndpi_s="$ndpi_s" -v ndpi_kb="$ndpi_kb" -v sw_s="$sw_s" -v sw_kb="$sw_kb" \
    -v peak="$peak" -v gen_peak="${gen_peak:-?}" -v strict="${BENCH_STRICT:-0}" '
function row(name, s, kb) {
	if (s == "") { printf "%-12s %9s\n", name, "not run"; return }
	if (s <= 0) s = 0.01
	printf "%-12s %9.2f %9.3f %9.2f %10.1f\n", name, s, packets / s / 1e6,
	       fbytes * 8 / s / 1e9, kb / 1024
}
function verdict(ok) { if (!ok) missed++; return ok ? "pass" : "miss" }
BEGIN {
	printf "capture: %s (%s)\n", pcap, opts
	printf "         %d packets, %.2f GB of frames; median of %d runs, wall clock\n\n",
	       packets, fbytes / 1e9, runs
	printf "%-12s %9s %9s %9s %10s\n", "program", "seconds", "Mpps", "Gbit/s", "RSS MiB"
	row("floor", floor_s, floor_kb)
	row("floor -b", floorb_s, floorb_kb)
	row("ndpiReader", ndpi_s, ndpi_kb)
	row("spanwatch", sw_s, sw_kb)
	print ""
	if (sw_s == "") {
		print "spanwatch: bin/spanwatch is missing or failed; targets not evaluated"
		exit 0
	}
	if (sw_s <= 0) sw_s = 0.01
	r_floor = floor_s / sw_s
	if (ndpi_s != "") {
		r_ndpi = ndpi_s / sw_s
		printf "spanwatch / ndpiReader  %6.2fx   target >= 5x     %s\n", r_ndpi, verdict(r_ndpi >= 5)
	}
	printf "spanwatch / floor       %6.2fx   target >= 0.35x  %s\n", r_floor, verdict(r_floor >= 0.35)
	if (floorb_s <= 0) floorb_s = 0.01
	printf "spanwatch / floor -b    %6.2fx   (information: the 4 KiB reads of libpcap take %.0f%% of the floor time here)\n",
	       floorb_s / sw_s, 100 * (floor_s - floorb_s) / floor_s
	if (peak == "n/a") {
		printf "peak RSS %.1f MiB, peak flows n/a (generator peak %s): RSS target n/a\n",
		       sw_kb / 1024, gen_peak
	} else {
		limit = 64 * 1024 * 1024 + 512 * peak
		printf "peak RSS %.1f MiB, peak flows %d: target <= %.1f MiB  %s\n", sw_kb / 1024,
		       peak, limit / 1048576, verdict(sw_kb * 1024 <= limit)
	}
	if (strict && missed) exit 1
}'

# ---- threads ----
# The same capture with the generator's subscriber map (so that packets
# go by subscriber, as in production), [capture] threads = 1 and 2: rate,
# speed-up, memory per added worker. Reading a mapped file, worker 0's
# thread walks it (decode, subscriber look-up, the chunks of decoded
# packets for the others) and takes a smaller part of the packets itself;
# the other workers take their own from the chunks: what the parallel run
# costs over one thread in CPU, per packet, is the dispatch's price (the
# look-up, the chunk entries written on one core and read on another, the
# waits and the step barriers); each thread's CPU is printed too.
# BENCH_THREADS=0 skips it.
if [ "${BENCH_THREADS:-1}" != 0 ] && [ -n "$sw_s" ]; then
	# shellcheck disable=SC2086,SC2046 # the options are words on purpose
	"$gen" -q -w /dev/null --truth /dev/null --truth-flows /dev/null --conf-dir "$out/conf" \
		$(echo "$BENCH_GEN_OPTS" | sed 's/--packets [0-9]*/--packets 1/') >/dev/null
	for n in 1 2; do
		{ printf '[subscribers]\nfile = %s/conf/subscribers.txt\n' "$top/$out"
		  printf '[capture]\nthreads = %d\n' "$n"; } >"$out/threads$n.conf"
	done
	# Alternately, so that a slow spell of the machine hits both alike.
	: >"$out/threads1.times"; : >"$out/threads2.times"
	i=0
	while [ "$i" -lt "$runs" ]; do
		for n in 1 2; do
			warm "$pcap"
			"$TIME" -f "%e %M %U %S" -o "$out/threads$n.time" "$sw" -c "$out/threads$n.conf" \
				-r "$pcap" >/dev/null 2>"$out/threads$n.err" || { echo "bench: threads=$n failed"; tail -n 5 "$out/threads$n.err"; }
			cat "$out/threads$n.time" >>"$out/threads$n.times"
		done
		i=$((i + 1))
	done
	mid=$(((runs + 1) / 2))
	for n in 1 2; do
		eval "t${n}_s=\$(sort -n \"\$out/threads$n.times\" | sed -n \"\${mid}p\" | cut -d' ' -f1)"
		eval "t${n}_kb=\$(sort -n \"\$out/threads$n.times\" | sed -n \"\${mid}p\" | cut -d' ' -f2)"
		eval "t${n}_cpu=\$(awk '{ print \$3 + \$4 }' \"\$out/threads$n.times\" | sort -n | sed -n \"\${mid}p\")"
	done
	# shellcheck disable=SC2154 # set by eval above
	awk -v p="$packets" -v f="$floor_s" -v fb="$floorb_s" -v a="$t1_s" -v ak="$t1_kb" -v b="$t2_s" -v bk="$t2_kb" \
	    -v ac="$t1_cpu" -v bc="$t2_cpu" -v strict="${BENCH_STRICT:-0}" \
	    -v up="$(uptime | sed 's/.*load average: //')" 'BEGIN {
		printf "\nthreads (the subscriber map of %s; load average %s):\n", "the capture", up
		printf "  threads=1  %6.2f s  %6.3f Mpps  %6.1f MiB  %5.2f s CPU   / floor %.2fx   target >= 0.5x  %s   (/ floor -b %.2fx)\n",
		       a, (p / a) / 1e6, ak / 1024, ac, f / a, (f / a >= 0.5 ? "pass" : "miss"), fb / a
		printf "  threads=2  %6.2f s  %6.3f Mpps  %6.1f MiB  %5.2f s CPU   / floor %.2fx\n", b, (p / b) / 1e6,
		       bk / 1024, bc, f / b
		printf "  speed-up 2 threads / 1  %.2fx   target >= 1.7x  %s\n", a / b,
		       (a / b >= 1.7 ? "pass" : "miss")
		printf "  dispatch: %.0f ns of CPU a packet more at 2 threads than at 1 (%.2f s against %.2f s)\n",
		       (bc - ac) * 1e9 / p, bc, ac
		if (strict && (f / a < 0.5 || a / b < 1.7)) exit 1
	}'
	grep '^summary thread' "$out/threads2.err" | sed 's/^/  /'
	# One more run of each, sampled from /proc: each thread's CPU, and
	# the peak RSS split into the process's own memory and the pages of
	# the mapped capture it holds (page cache, shared: at two threads,
	# the chunks in flight keep up to 32,768 frames of the file mapped).
	warm "$pcap"
	cpu1=$(/usr/bin/python3 tests/bench/thread_cpu.py "$sw" -c "$out/threads1.conf" -r "$pcap" -q)
	warm "$pcap"
	cpu=$(/usr/bin/python3 tests/bench/thread_cpu.py "$sw" -c "$out/threads2.conf" -r "$pcap" -q)
	printf '%s\n%s\n' "$cpu1" "$cpu" | awk -v ak="$t1_kb" -v bk="$t2_kb" '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			v[NR, kv[1]] = kv[2]
		}
	}
	END {
		printf "  memory per added worker %.1f MiB of peak RSS: %.1f MiB its own (flow table share, nDPI module,\n",
		       (bk - ak) / 1024, v[2, "anon_mib"] - v[1, "anon_mib"]
		printf "    collectors), %.1f MiB more of the mapped capture held (page cache, shared; a sampled run each)\n",
		       v[2, "file_mib"] - v[1, "file_mib"]
		printf "  worker0 (walks the file, and takes its smaller part) %.2f s CPU\n", v[2, "walk0"]
		printf "  worker1 %.2f s CPU\n", v[2, "worker1"]
		printf "  (that run: %.2f s wall)\n", v[2, "wall"]
	}'
fi

# ---- the small corpus ----
# Many short real captures, where start-up and exit dominate: the shared
# corpus' Ethernet pcaps merged end to end (about 74,000 packets). The
# target: spanwatch's wall time below ndpiReader's on the same file.
corpus=${SHARED:-$top/../shared}/pcap/ndpi
if [ -d "$corpus" ] && command -v mergecap >/dev/null; then
	small=$out/corpus-eth.pcap
	if [ ! -s "$small" ]; then
		# shellcheck disable=SC2046 # one path a word
		mergecap -a -F pcap -w "$small" $(/usr/bin/python3 tests/bench/ethlist.py "$corpus") 2>/dev/null || true
	fi
	run floor_s "$out/floor" "$small"; sf=$med_s
	run ndpi_s ndpiReader -q -i "$small"; sn=$med_s snk=$med_kb
	run spanwatch_s "$sw" -r "$small"; ss=$med_s ssk=$med_kb
	sp=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$out/floor_s.out")
	awk -v p="$sp" -v sf="$sf" -v sn="$sn" -v ss="$ss" -v snk="$snk" -v ssk="$ssk" 'BEGIN {
		printf "\nsmall corpus: %d packets (the shared Ethernet captures merged), wall seconds\n", p
		printf "  floor %.2f  ndpiReader %.2f (%.1f MiB)  spanwatch %.2f (%.1f MiB)\n",
		       sf, sn, snk / 1024, ss, ssk / 1024
		printf "  spanwatch / ndpiReader wall %.2f   target < 1  %s\n", ss / sn,
		       ss < sn ? "pass" : "miss"
	}'
	# The floor ratio on real traffic rather than the generator's: that
	# file forty times over (about 3 million packets of hundreds of real
	# captures, every kind of link and protocol the corpus has).
	mix=$out/corpus-x40.pcap
	if [ ! -s "$mix" ]; then
		# shellcheck disable=SC2046 # the same file forty times
		mergecap -a -F pcap -w "$mix" $(i=0; while [ $i -lt 40 ]; do echo "$small"; i=$((i + 1)); done) 2>/dev/null || true
	fi
	run floor_m "$out/floor" "$mix"; mf=$med_s
	run floorb_m "$out/floor" -b "$mix"; mfb=$med_s
	run spanwatch_m "$sw" -r "$mix"; ms=$med_s msk=$med_kb
	mp=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$out/floor_m.out")
	awk -v p="$mp" -v f="$mf" -v fb="$mfb" -v s="$ms" -v k="$msk" -v strict="${BENCH_STRICT:-0}" 'BEGIN {
		printf "corpus x40: %d packets, floor %.2f s, spanwatch %.2f s (%.1f Mpps, %.1f MiB)\n",
		       p, f, s, p / s / 1e6, k / 1024
		printf "  spanwatch / floor %.2fx   target >= 0.5x  %s   (/ floor -b %.2fx, %.2f s)\n", f / s,
		       (f / s >= 0.5 ? "pass" : "miss"), fb / s, fb
		if (strict && f / s < 0.5) exit 1
	}'
else
	echo "small corpus: skipped ($corpus or mergecap missing)"
fi

# ---- the dashboard ----
# spanwatch-graph's full redraw at 300 and 20,000 subscribers and one lazy
# page (tests/bench/graph_bench.sh; BENCH_GRAPH=0 skips it).
if [ "${BENCH_GRAPH:-1}" != 0 ]; then
	echo
	sh tests/bench/graph_bench.sh || echo "dashboard: a redraw at 20,000 subscribers took longer than the step"
fi

# ---- ClickHouse ----
# The ClickHouse writer into a local clickhouse-server: rows/s, the sensor's
# packet rate with it on and off, bytes per row and the estimate from them
# (tests/bench/ch_bench.py; BENCH_CH=0 skips it).
if [ "${BENCH_CH:-1}" != 0 ]; then
	echo
	TOP=$top /usr/bin/python3 tests/bench/ch_bench.py || echo "clickhouse bench: could not run"
fi
