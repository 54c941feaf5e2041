#!/bin/sh
# Hostile capture files: timestamps past 2038 or absurd, IP lengths that
# the frame proves false, pcapng with mixed link types, files out of time
# order, -q and warnings, SIGHUP during a replay from a pipe. Every figure
# against the crafted input's own sums. See hostile.py.
# variants: opt san
exec /usr/bin/python3 "$TOP/tests/hostile/hostile.py"
