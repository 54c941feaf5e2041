#!/bin/sh
# variants: opt
# Issue 19: a live capture (lo) stopping while ClickHouse hangs: the stop
# is bounded by [clickhouse] timeout. See chtest.py "live".
exec /usr/bin/python3 "$TOP/tests/clickhouse/chtest.py" live
