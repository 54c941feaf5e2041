#!/bin/sh
# variants: opt san
# Issue 19: spanwatch into a real ClickHouse (clickhouse-server started here,
# on 127.0.0.1, in a temporary folder). See chtest.py "two".
exec /usr/bin/python3 "$TOP/tests/clickhouse/chtest.py" two
