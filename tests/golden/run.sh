#!/bin/sh
# run.sh NAME CAPTURE [OPTIONS...]: one golden test's output on stdout:
# the flow log, then what spanwatch said on stderr (warnings, alerts, the
# summary), with the corpus' path written as $CORPUS so that the output
# does not depend on where ../shared is. TZ is pinned, as tcpdump's
# update script pins it, though spanwatch prints UTC only.
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SW_BIN:-$top/bin}
corpus=${SHARED:-$top/../shared}/pcap/ndpi
name=$1 cap=$2
shift 2
err=$(mktemp)
TZ=UTC "$bin/spanwatch" -c /dev/null -r "$corpus/$cap" -S "$top/tests/golden/subscribers.txt" \
	--no-syslog --flow-log - "$@" 2>"$err"
echo "# exit $?"
sed "s|$corpus|\$CORPUS|g" "$err"
rm -f "$err"
