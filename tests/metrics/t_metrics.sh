#!/bin/sh
# [sensor] metrics: the health endpoint, scraped by curl while a replay
# runs. The capture is fed through a FIFO, so the sensor is still running
# after its last packet: the scrape then must show every packet and IP
# byte that tshark counts in the file (the oracle) and the figures of the
# summary line the sensor prints at the end. A malformed request gets
# 400 (a line that is no request at all: a hang-up), an oversized one 431
# (libmicrohttpd's answer), a wrong path 404, POST 405,
# and the sensor keeps counting; without the key nothing listens; a key
# without a port is refused at start.
# variants: opt san
set -eu
B=${SW_BIN:?}
top=${TOP:?}
v=${SW_VARIANT:-opt}
work=$top/build/test-work/metrics-$v
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; [ -f "$work/sw.log" ] && tail -n 5 "$work/sw.log"; exit 1; }
for p in curl tshark capinfos; do
	command -v $p >/dev/null || { echo "$p is not installed (tests/install-deps.sh installs it)"; exit 77; }
done
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
scrape() { curl -s --max-time 5 "http://127.0.0.1:$P/metrics"; }
val() {	# name file: the sensor-wide value of family name
	awk -v n="spanwatch_$1" '$1 == n { print $2 }' "$2"
}
sumval() {	# key: its value in the summary line
	sed -n 's/.*summary packets=/packets=/p' "$work/sw.log" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

"$B/spanwatch-gen" -q -w "$work/cap.pcap" --conf-dir "$work/conf" --seed 11 \
	--subscribers 40 --duration 900 --rate 60
N=$(capinfos -M -c -T "$work/cap.pcap" | awk -F'\t' 'NR == 2 { print $2 }')
# IP bytes as the sensor counts them: IPv4 total length, IPv6 payload + 40.
IPB=$(tshark -r "$work/cap.pcap" -T fields -e ip.len -e ipv6.plen 2>/dev/null |
	awk -F'\t' '{ if ($1 != "") { split($1, a, ","); s += a[1] } else if ($2 != "") { split($2, b, ","); s += b[1] + 40 } } END { printf "%.0f\n", s }')
echo "capture: $N packets, $IPB IP bytes (tshark)"
[ "$N" -gt 1000 ] || fail "capinfos counted $N packets"

# --- off by default: nothing listens -----------------------------------
P=$(port)
mkfifo "$work/fifo0"
"$B/spanwatch" -c "$work/conf/spanwatch.conf" -r "$work/fifo0" --no-syslog >"$work/sw0.log" 2>&1 &
pid=$!
exec 3>"$work/fifo0"
head -c 100000 "$work/cap.pcap" >&3
sleep 1
if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$P/metrics"; then
	exec 3>&-; wait $pid || true; fail "something answers on $P without [sensor] metrics"
fi
grep -q 'metrics on' "$work/sw0.log" && fail "metrics started without the key"
exec 3>&-
wait $pid || fail "spanwatch without metrics exited $?"
echo "no [sensor] metrics: nothing listens"

# --- a key without a port is refused ----------------------------------
cp "$work/conf/spanwatch.conf" "$work/bad.conf"
printf '[sensor]\nmetrics = 127.0.0.1\n' >>"$work/bad.conf"
rc=0
"$B/spanwatch" -c "$work/bad.conf" -r "$work/cap.pcap" --no-syslog >"$work/bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "metrics = 127.0.0.1 (no port) accepted"
grep -q 'a port is needed' "$work/bad.log" || { cat "$work/bad.log"; fail "no reason for the refused metrics address"; }
echo "metrics without a port: exit $rc, $(grep -m1 'port is needed' "$work/bad.log")"

# --- on: scrape during and after the last packet -----------------------
cp "$work/conf/spanwatch.conf" "$work/m.conf"
printf '[sensor]\nmetrics = 127.0.0.1:%s\n' "$P" >>"$work/m.conf"
mkfifo "$work/fifo"
"$B/spanwatch" -c "$work/m.conf" -r "$work/fifo" -o "$work/rrd" --alerts-json "$work/alerts.json" \
	--no-syslog >"$work/sw.log" 2>&1 &
pid=$!
exec 3>"$work/fifo"
size=$(wc -c <"$work/cap.pcap")
half=$((size / 2))
head -c "$half" "$work/cap.pcap" >&3
i=0
until scrape >"$work/m1.txt" && [ "$(val packets_total "$work/m1.txt")" -gt 0 ] 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no scrape after half the capture"; sleep 0.2
done
p1=$(val packets_total "$work/m1.txt")
echo "half way: packets_total=$p1"

# Bad requests: answered, counted, and the sensor goes on.
req() {	# raw request on stdin: the status code, or "closed"
	/usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read())
r = s.recv(100)
print(r.split(b" ")[1].decode() if r else "closed")' "$P"
}
code=$(printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n' | req)
[ "$code" = 400 ] || fail "malformed header: $code, expected 400"
code=$(printf 'GET /metrics\r\n\r\n' | req)
[ "$code" = 400 ] || fail "request line without a version: $code, expected 400"
# A line that is not a request at all: libmicrohttpd hangs up.
code=$(printf 'NONSENSE\r\n\r\n' | req)
[ "$code" = 400 ] || [ "$code" = closed ] || fail "garbage: $code, expected 400 or a hang-up"
code2=$(/usr/bin/python3 -c '
import sys; sys.stdout.buffer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")' | req)
[ "$code2" = 431 ] || [ "$code2" = 400 ] || fail "oversized request: $code2, expected 431 or 400"
echo "malformed requests: 400 (garbage: $code); oversized: $code2"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/other")
[ "$code" = 404 ] || fail "GET /other: $code, expected 404"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$P/metrics")
[ "$code" = 405 ] || fail "POST /metrics: $code, expected 405"
ctype=$(curl -s --max-time 5 -o /dev/null -w '%{content_type}' "http://127.0.0.1:$P/metrics")
case $ctype in "text/plain; version=0.0.4"*) ;; *) fail "content type '$ctype'" ;; esac

tail -c +$((half + 1)) "$work/cap.pcap" >&3
i=0
until scrape >"$work/m2.txt" && [ "$(val packets_total "$work/m2.txt")" = "$N" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "packets_total $(val packets_total "$work/m2.txt") after the last packet, expected $N"
	sleep 0.2
done
sleep 0.5
scrape >"$work/m2.txt"
exec 3>&-
wait $pid || fail "spanwatch exited $?"
grep -q '^summary ' "$work/sw.log" || fail "no summary line"

# Reading a file, the pipeline keeps its last two packets in its
# prefetch queue until the end: frames are all counted at the last one,
# their IP bytes at the end (the live part below has ticks that drain).
for k in packets non_ip truncated malformed drops; do
	m=$(val ${k}_total "$work/m2.txt")
	s=$(sumval $k)
	[ -n "$m" ] && [ "$m" = "$s" ] || fail "spanwatch_${k}_total=$m, summary $k=$s"
done
m=$(val ip_bytes_total "$work/m2.txt")
[ "$m" -le "$IPB" ] && [ "$m" -ge $((IPB - 3000)) ] ||
	fail "ip_bytes_total $m at the last packet, tshark $IPB (at most two packets short)"
m=$(val thread_packets_total "$work/m2.txt")
[ -z "$m" ] || fail "a sensor-wide value in the thread family"
grep -q '^spanwatch_thread_packets_total{thread="0"} '"$N"'$' "$work/m2.txt" ||
	fail "no thread 0 series with $N packets"
grep -q '^spanwatch_rrd_queue_length ' "$work/m2.txt" || fail "no RRD queue depth"
grep -q '^spanwatch_alerts_total ' "$work/m2.txt" || fail "no alerts counter"
# Alerts by kind: a bounded set (SPEC's kinds and "other") adding up to
# the total, which is the summary's alerts=.
k=$(awk '/^spanwatch_alerts_kind_total\{/ { s += $2; n++ } END { print n + 0, s + 0 }' "$work/m2.txt")
a=$(val alerts_total "$work/m2.txt")
[ "$k" = "6 $a" ] || fail "alerts by kind: $k (series, sum), alerts_total $a"
[ "$a" = "$(sumval alerts)" ] || fail "alerts_total $a, summary alerts=$(sumval alerts)"
r=$(val metrics_refused_total "$work/m2.txt")
[ "$r" = 2 ] || fail "metrics_refused_total=$r after a 404 and a 405"
# No per-subscriber series: the label sets are bounded.
grep -q 'cust-' "$work/m2.txt" && fail "a subscriber name in the metrics"
# Every sample line is NAME[{labels}] VALUE, every family typed.
awk '/^#/ { next } !/^spanwatch_[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9]+$/ { print "bad line: " $0; bad = 1 } END { exit bad }' "$work/m2.txt" ||
	fail "malformed exposition line"
echo "replay, after the last packet: packets_total=$N = capinfos = summary; refused=$r"

# --- live, in two namespaces: every figure equals the summary -------------
[ "$(id -u)" = 0 ] || { echo "live part skipped: network namespaces need root"; exit 77; }
command -v tcpreplay >/dev/null || { echo "tcpreplay is not installed"; exit 77; }
"$B/spanwatch-gen" -q -w "$work/live.pcap" --seed 12 --subscribers 20 --duration 300 --rate 30
LN=$(capinfos -M -c -T "$work/live.pcap" | awk -F'\t' 'NR == 2 { print $2 }')
LB=$(tshark -r "$work/live.pcap" -T fields -e ip.len -e ipv6.plen 2>/dev/null |
	awk -F'\t' '{ if ($1 != "") { split($1, a, ","); s += a[1] } else if ($2 != "") { split($2, b, ","); s += b[1] + 40 } } END { printf "%.0f\n", s }')
T=swm$(($$ % 100000))
cleanup() { ip netns del ${T}g 2>/dev/null || true; ip netns del ${T}s 2>/dev/null || true; }
trap cleanup EXIT
ip netns add ${T}g
ip netns add ${T}s
ip link add ${T}a netns ${T}g type veth peer name ${T}b netns ${T}s
for ns in ${T}g ${T}s; do
	# No IPv6: the kernel's ND and MLD chatter stays off the link.
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n $ns link set lo up
done
ip -n ${T}g link set ${T}a up
ip -n ${T}s link set ${T}b up
nsc() { ip netns exec ${T}s curl -s --max-time 5 "http://127.0.0.1:$P/metrics"; }
for threads in 1 2; do
	lw=$work/live$threads
	mkdir -p "$lw"
	sed "s/^\[sensor\]\$/[capture]\nthreads = $threads\n[sensor]/" "$work/m.conf" >"$lw/m.conf"
	ip netns exec ${T}s "$B/spanwatch" -c "$lw/m.conf" -i ${T}b --no-syslog >"$lw/sw.log" 2>&1 &
	lpid=$!
	i=0
	until nsc >"$lw/m0.txt" 2>/dev/null && [ -s "$lw/m0.txt" ]; do
		i=$((i + 1)); [ $i -lt 50 ] || { cat "$lw/sw.log"; fail "live ($threads threads): no endpoint"; }
		sleep 0.2
	done
	ip netns exec ${T}g tcpreplay -q -i ${T}a --pps 5000 "$work/live.pcap" >/dev/null 2>&1 ||
		fail "tcpreplay failed"
	i=0
	until nsc >"$lw/m.txt" && [ "$(val packets_total "$lw/m.txt")" = "$LN" ]; do
		i=$((i + 1)); [ $i -lt 50 ] || fail "live ($threads threads): packets_total $(val packets_total "$lw/m.txt"), sent $LN"
		sleep 0.2
	done
	sleep 1.2	# a thread's figures are at most a second old
	nsc >"$lw/m.txt"
	kill -TERM $lpid
	wait $lpid || fail "live spanwatch exited $?"
	cp "$lw/sw.log" "$work/sw.log"
	[ "$(val ip_bytes_total "$lw/m.txt")" = "$LB" ] ||
		fail "live: ip_bytes_total $(val ip_bytes_total "$lw/m.txt"), tshark $LB"
	for k in packets ip_packets ip_bytes non_ip truncated malformed drops; do
		m=$(val ${k}_total "$lw/m.txt")
		s=$(sumval $k)
		[ -n "$m" ] && [ "$m" = "$s" ] || fail "live ($threads threads): spanwatch_${k}_total=$m, summary $k=$s"
	done
	m=$(val flows_evicted_total "$lw/m.txt"); s=$(sumval evicted)
	[ "$m" = "$s" ] || fail "live: flows_evicted_total=$m, summary evicted=$s"
	# Flows still open at the last packet end at SIGTERM.
	m=$(val flows_total "$lw/m.txt"); s=$(sumval flows)
	[ "$m" -le "$s" ] || fail "live: flows_total=$m above the summary's flows=$s"
	n=$(grep -c '^spanwatch_thread_packets_total{thread=' "$lw/m.txt")
	[ "$n" = "$threads" ] || fail "live: $n thread series, expected $threads"
	t=$(awk '/^spanwatch_thread_packets_total\{/ { s += $2 } END { print s + 0 }' "$lw/m.txt")
	[ "$t" = "$LN" ] || fail "live: thread series sum to $t, expected $LN"
	echo "live, $threads thread(s): packets_total=$LN ip_bytes_total=$LB = tcpreplay/tshark = summary; $n thread series"
done
echo "metrics OK"
