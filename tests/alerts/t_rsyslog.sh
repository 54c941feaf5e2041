#!/bin/sh
# t_rsyslog.sh — alerts through a real rsyslogd, as a central collector
# gets them: RFC 5424 over UDP (one datagram per alert) and over TCP
# (octet-counted framing), including an EHLO value full of CR, LF, quotes,
# a forged syslog header and %n. rsyslogd runs on loopback with its own
# configuration, ports, pid file and work directory, and writes every
# message with a template that keeps the header fields and the raw MSG;
# check.py compares them with what alertdrv.c raised, and validates the
# JSON file each run wrote. Last, the collector is down when the alerts
# are raised and comes up later: the records wait and arrive on their own
# (reconnect with backoff), before any flush.
# variants: opt san
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
RSYSLOGD=/usr/sbin/rsyslogd
[ -x "$RSYSLOGD" ] || { echo "SKIP: rsyslogd not installed (tests/install-deps.sh)"; exit 77; }
[ -x "$PY" ] || { echo "SKIP: $PY not installed"; exit 77; }

T=$(mktemp -d /tmp/t_rsyslog.XXXXXX)
RS_PID=""
DRV_PID=""
cleanup() {
	[ -n "$DRV_PID" ] && kill "$DRV_PID" 2>/dev/null
	stop_rsyslog
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$TOP/tests/alerts/lib.sh"
build_driver

# Two free ports, chosen by the kernel.
ports=$($PY -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
print(u.getsockname()[1], t.getsockname()[1])')
UP=${ports% *}
TP=${ports#* }

mkdir -p "$T/work"
cat >"$T/rsyslog.conf" <<EOF
global(workDirectory="$T/work")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="$UP")
input(type="imtcp" address="127.0.0.1" port="$TP")
template(name="fields" type="string"
	string="%syslogfacility-text%|%syslogseverity-text%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%msg%\n")
*.* action(type="omfile" file="$T/received.log" template="fields")
EOF

start_rsyslog() {
	"$RSYSLOGD" -n -f "$T/rsyslog.conf" -i "$T/rsyslogd.pid" >>"$T/rsyslogd.out" 2>&1 &
	RS_PID=$!
	i=0
	until ss -Hltn "sport = :$TP" | grep -q . && ss -Hlun "sport = :$UP" | grep -q .; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$RS_PID" 2>/dev/null; then
			echo "FAIL: rsyslogd did not start"; cat "$T/rsyslogd.out"; exit 1
		fi
		sleep 0.1
	done
}

stop_rsyslog() {
	if [ -n "$RS_PID" ]; then
		kill "$RS_PID" 2>/dev/null
		wait "$RS_PID" 2>/dev/null
		RS_PID=""
	fi
}

# Waits until rsyslog has written all 26 lines of a run.
wait_lines() {
	i=0
	while [ "$($PY "$TOP/tests/alerts/check.py" count "$T/received.log" "$1" 2>/dev/null || echo 0)" -lt 26 ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && break
		sleep 0.1
	done
}

start_rsyslog
fail=0
for proto in udp tcp; do
	echo "== $proto://127.0.0.1"
	port=$UP; [ $proto = tcp ] && port=$TP
	"$T/alertdrv" "$proto://127.0.0.1:$port" "$T/$proto.json" "$proto" || fail=1
	wait_lines "$proto"
	$PY "$TOP/tests/alerts/check.py" rsyslog "$T/received.log" "$proto" "$T/$proto.json" || fail=1
done

echo "== tcp, collector down at first"
stop_rsyslog
"$T/alertdrv" "tcp://127.0.0.1:$TP" "$T/late.json" late "$T/up" >"$T/late.out" 2>&1 &
DRV_PID=$!
sleep 1
start_rsyslog
touch "$T/up"
wait "$DRV_PID"; rc=$?
DRV_PID=""
cat "$T/late.out"
[ $rc -eq 0 ] || fail=1
grep -q "^before_flush sent=26$" "$T/late.out" ||
	{ echo "FAIL: records did not arrive by reconnecting on their own"; fail=1; }
grep -q "failed=0 reconnects=1$" "$T/late.out" ||
	{ echo "FAIL: expected one connection and no failure"; fail=1; }
wait_lines late
$PY "$TOP/tests/alerts/check.py" rsyslog "$T/received.log" late "$T/late.json" || fail=1

if [ $fail -ne 0 ]; then
	echo "--- received.log"; cat "$T/received.log"
	echo "--- rsyslogd"; cat "$T/rsyslogd.out"
	exit 1
fi
echo "PASS"
