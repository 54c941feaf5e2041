#!/bin/sh
# Live capture in network namespaces: totals, privileges, reload, SIGTERM.
exec /usr/bin/python3 "$TOP/tests/live/live.py"
