#!/bin/sh
# variants: opt san
# Issue 19: spanwatch-graph draws its top tables from a real ClickHouse
# (subscribers without RRD files too) and falls back to the files, with a
# warning and exit 1, when ClickHouse is down. See chgraph.py.
exec /usr/bin/python3 "$TOP/tests/clickhouse/chgraph.py"
