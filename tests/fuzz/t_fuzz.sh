#!/bin/sh
# The libFuzzer targets of tests/fuzz/ (build/fuzz/, `make fuzz-build`),
# each for SW_FUZZ_SECONDS (60) from the seeds of mkseeds.sh, two at a
# time; the regression inputs of tests/fuzz/regress/ first. Fails on any
# crash, leak, timeout or sanitizer report; prints the runs of each.
# A longer run that keeps what it finds: make fuzz FUZZ_SECONDS=...
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v clang >/dev/null 2>&1 || { echo "no clang (tests/install-deps.sh installs it)"; exit 77; }
logs=${SW_TEST_LOGS:-$top/build/test-logs}/fuzz
rm -rf "$logs"
mkdir -p "$logs" || exit 1
if ! make -C "$top" --no-print-directory fuzz-build >"$logs/build.log" 2>&1; then
	tail -n 20 "$logs/build.log"
	echo "fuzz targets do not build (log $logs/build.log)"
	exit 1
fi
# Fresh seeds each time: the corpus may hold what a `make fuzz` found.
sh "$top/tests/fuzz/mkseeds.sh" "$logs/seeds" || exit 1
exec sh "$top/tests/fuzz/run.sh" -t "${SW_FUZZ_SECONDS:-60}" -j 2 -c "$logs/seeds" -o "$logs"
