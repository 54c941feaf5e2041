#!/bin/sh
# t_devlog.sh — alerts through local syslog(3), the default sink: what
# reaches /dev/log. In a private mount namespace a tmpfs replaces /dev
# (null, zero, random and urandom bound back in), so that a receiver can
# own /dev/log without touching the host's syslog; check.py receives the
# datagrams there and compares them with what alertdrv.c raised: priority
# local3.warning, ident spanwatch[PID], one escaped logfmt line each.
# Needs root (mount namespace); SKIP otherwise.
# variants: opt san
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for a private mount namespace"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) not installed"; exit 77; }
[ -x "$PY" ] || { echo "SKIP: $PY not installed"; exit 77; }

devlog_state() { ls -ldi /dev/log 2>/dev/null || echo absent; }
HOST_DEVLOG=$(devlog_state)
T=$(mktemp -d /tmp/t_devlog.XXXXXX)
NS_PID=""
cleanup() {
	if [ -n "$NS_PID" ]; then
		[ -f "$T/recv.pid" ] && kill "$(cat "$T/recv.pid")" 2>/dev/null
		kill "$NS_PID" 2>/dev/null
		wait "$NS_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$TOP/tests/alerts/lib.sh"
build_driver

# Runs inside the namespace; exit 3 means the namespace could not be set up.
cat >"$T/inner.sh" <<'EOF'
set -u
mkdir "$T/olddev" && mount --rbind /dev "$T/olddev" || exit 3
mount -t tmpfs -o mode=755 spanwatch-test /dev || exit 3
for n in null zero random urandom; do
	: >"/dev/$n" && mount --bind "$T/olddev/$n" "/dev/$n" || exit 3
done
"$PY" "$TOP/tests/alerts/check.py" recv /dev/log "$T/devlog.out" "$T/ready" 26 &
echo $! >"$T/recv.pid"
i=0
until [ -f "$T/ready" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "FAIL: receiver did not start"; exit 1; }
	sleep 0.1
done
rc=0
"$T/alertdrv" local "$T/local.json" local || rc=1
wait "$(cat "$T/recv.pid")" || rc=1
exit $rc
EOF

T=$T TOP=$TOP PY=$PY unshare -m sh "$T/inner.sh" &
NS_PID=$!
wait "$NS_PID"
rc=$?
NS_PID=""
case $rc in
0) ;;
3) echo "SKIP: cannot set up a private mount namespace here"; exit 77 ;;
*) echo "FAIL: driver or receiver failed (exit $rc)"; exit 1 ;;
esac
$PY "$TOP/tests/alerts/check.py" devlog "$T/devlog.out" local "$T/local.json" || exit 1
# The host's /dev was not touched.
[ "$(devlog_state)" = "$HOST_DEVLOG" ] || { echo "FAIL: /dev/log on the host changed"; exit 1; }
echo "PASS"
