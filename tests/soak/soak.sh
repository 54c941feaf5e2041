#!/bin/sh
# soak.sh DURATION_SECONDS — spanwatch reads an endless paced capture from
# stdin; RSS and descriptors are sampled into build/test-artifacts/soak.tsv
# and must stay flat over the second half; SIGTERM at the end must give
# exit 0 and no sanitizer report. SW_BIN picks the build (default: the
# sanitizer build if it exists, else bin/). SOAK_PPS, SOAK_EVERY: see
# soak.py.
top=$(cd "$(dirname "$0")/../.." && pwd)
TOP=${TOP:-$top}
if [ -z "${SW_BIN:-}" ]; then
	SW_BIN=$TOP/bin
	[ -x "$TOP/build/san/bin/spanwatch" ] && SW_BIN=$TOP/build/san/bin
fi
# LeakSanitizer at exit; a small quarantine so that ASan's own holding of
# freed memory (256 MiB by default) does not read as growth.
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:exitcode=86}:detect_leaks=1:quarantine_size_mb=16"
export TOP SW_BIN ASAN_OPTIONS
exec /usr/bin/python3 "$TOP/tests/soak/soak.py" "${1:-300}"
