#!/bin/sh
# variants: opt san
# Issue 9: spanwatch stopped and restarted (normally, mid-step, kill -9)
# into the same RRD folder, and rrdcached killed five times under it:
# per-step and total bytes against the generator's truth. See restart.py.
command -v rrdcached >/dev/null || { echo "SKIP: rrdcached missing"; exit 77; }
exec /usr/bin/python3 "$TOP/tests/restart/restart.py"
