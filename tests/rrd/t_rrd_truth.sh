#!/bin/sh
# RRD contents against the generator's truth and tshark, direct and through
# a real rrdcached, and after SIGTERM mid-read. See rrd_truth.py.
exec /usr/bin/python3 "$TOP/tests/rrd/rrd_truth.py"
