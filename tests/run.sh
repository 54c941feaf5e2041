#!/bin/sh
# The test runner behind `make test`.
#
# A test is either a cmocka unit binary (build/<variant>/tests/test_*) or a
# script tests/*/t_*.sh. Scripts run against the optimised build; a script
# whose header has the line "# variants: opt san" runs against both, with
# SW_BIN pointing at the variant's binaries. A script exits 0 (pass),
# 77 (skip: it prints the reason) or anything else (fail).
# The last line is the summary: "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
SHARED=${SHARED:-$top/../shared}
export SHARED
LOGDIR=${SW_TEST_LOGS:-$top/build/test-logs}
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
pass=0 fail=0 skip=0 failed=""
only=${1:-}

binfor() { [ "$1" = opt ] && echo "$top/bin" || echo "$top/build/$1/bin"; }

record() {	# name rc log
	case $2 in
	0) pass=$((pass + 1)); echo "PASS $1" ;;
	77) skip=$((skip + 1)); echo "SKIP $1: $(tail -n 1 "$3")" ;;
	*) fail=$((fail + 1)); failed="$failed $1"
	   echo "FAIL $1 (exit $2, log $3)"
	   # The checks that failed, wherever they are in the log, then its end.
	   grep -m 10 '^FAIL' "$3" | sed 's/^/    /'
	   tail -n 20 "$3" | sed 's/^/    /' ;;
	esac
}

for v in opt san; do
	for t in build/$v/tests/test_*; do
		[ -x "$t" ] || continue
		n="unit/$(basename "$t")[$v]"
		case "$n" in *"$only"*) ;; *) continue ;; esac
		log="$LOGDIR/$(basename "$t").$v.log"
		"$t" >"$log" 2>&1; record "$n" $? "$log"
	done
done

for s in tests/*/t_*.sh; do
	[ -f "$s" ] || continue
	variants=$(sed -n 's/^# variants: *//p' "$s" | head -n 1)
	for v in ${variants:-opt}; do
		n="${s#tests/}[$v]"
		case "$n" in *"$only"*) ;; *) continue ;; esac
		log="$LOGDIR/$(echo "${s#tests/}" | tr / _).$v.log"
		SW_BIN=$(binfor "$v") SW_VARIANT=$v TOP=$top sh "$s" >"$log" 2>&1
		record "$n" $? "$log"
	done
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
