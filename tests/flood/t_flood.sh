#!/bin/sh
# Issue 9: 5 million SYNs against max_flows = 100000 (memory bound, one
# flow_table_full per holddown, ordinary subscribers still equal the truth)
# and alert floods (bounded output, packet rate unchanged). See flood.py.
command -v cc >/dev/null || { echo "SKIP: no C compiler"; exit 77; }
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (package time)"; exit 77; }
exec /usr/bin/python3 "$TOP/tests/flood/flood.py"
