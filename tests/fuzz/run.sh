#!/bin/sh
# Runs the libFuzzer targets (build/fuzz/fuzz_NAME, from `make fuzz-build`):
# for each, first its regression inputs (tests/fuzz/regress/NAME/*, each
# run once), then fuzzing for SECONDS over its corpus; JOBS targets at a
# time. Prints one line per target with libFuzzer's final stats, and
# exits 1 if any target crashed, leaked, timed out, ran out of memory or
# printed a sanitizer report (the log and the reproducer are named).
#
#   sh tests/fuzz/run.sh [-t SECONDS] [-j JOBS] [-c CORPUS] [-g] [-o LOGDIR] [NAME...]
#
#   -c CORPUS  seeds in CORPUS/NAME/ (made by mkseeds.sh unless CORPUS/.mkseeds is there)
#   -g         grow the corpus: new inputs go into CORPUS/NAME/ (make fuzz);
#              without it they go to a scratch directory and the corpus is
#              only read, so a test run starts from the same seeds each time
#   -o LOGDIR  logs, scratch corpora and crash reproducers (default: a
#              fresh directory under build/fuzz/runs/)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=60 jobs=2 corpus=$top/build/fuzz/corpus grow=0 logs=""
while getopts t:j:c:go: o; do
	case $o in
	t) secs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	c) corpus=$OPTARG ;;
	g) grow=1 ;;
	o) logs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
bin=$top/build/fuzz
names=${*:-$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
[ -n "$logs" ] || logs=$top/build/fuzz/runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logs" || exit 1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for n in $names; do
	if [ ! -x "$bin/fuzz_$n" ]; then
		echo "fuzz: no $bin/fuzz_$n (make fuzz-build)" >&2
		exit 1
	fi
done
# Seeds once; a target mkseeds has none for starts from what it makes
# itself, or from nothing (-create_missing_dirs below).
if [ ! -f "$corpus/.mkseeds" ]; then
	sh "$top/tests/fuzz/mkseeds.sh" "$corpus" >&2 || exit 1
fi

# A sanitizer or libFuzzer report in a log, or a reproducer left behind.
bad_log() {	# log prefix
	grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$1" ||
		ls "$2"* >/dev/null 2>&1
}

# The regression inputs of target n, each once.
regress() {	# name
	r=$top/tests/fuzz/regress/$1
	[ -n "$(ls -A "$r" 2>/dev/null)" ] || return 0
	log=$logs/$1.regress.log
	"$bin/fuzz_$1" -artifact_prefix="$logs/$1-regress-" "$r"/* >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || bad_log "$log" "$logs/$1-regress-"; then
		echo "FAIL fuzz_$1: a regression input fails again (exit $rc, log $log)"
		return 1
	fi
	echo "ok   fuzz_$1: $(ls "$r" | wc -l) regression inputs"
}

# One target's fuzzing run; its verdict goes to $logs/NAME.result.
fuzz() {	# name
	n=$1 log=$logs/$1.log dict=""
	[ -f "$top/tests/fuzz/$n.dict" ] && dict=-dict=$top/tests/fuzz/$n.dict
	case $n in smtp_parse) dict=-dict=$top/tests/fuzz/smtp.dict ;; esac
	if [ $grow -eq 1 ]; then
		dirs="$corpus/$n"
	else
		dirs="$logs/$n.corpus $corpus/$n"
	fi
	# shellcheck disable=SC2086
	"$bin/fuzz_$n" -max_total_time="$secs" -print_final_stats=1 -timeout=30 \
		-rss_limit_mb=2048 -create_missing_dirs=1 -artifact_prefix="$logs/$n-" \
		$dict $dirs >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -E '^#[0-9]+.*DONE' "$log" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	if [ $rc -ne 0 ] || bad_log "$log" "$logs/$n-"; then
		art=$(ls "$logs/$n-"* 2>/dev/null | head -n 1)
		echo "FAIL fuzz_$n: exit $rc after ${runs:-?} runs, log $log${art:+, reproducer $art}" \
			>"$logs/$n.result"
		grep -E -m 3 'ERROR: |runtime error:|SUMMARY: ' "$log" | sed 's/^/     /' >>"$logs/$n.result"
	else
		echo "ok   fuzz_$n: ${runs:-?} runs in ${secs} s, ${rate:-?} exec/s, coverage ${cov:-?} edges" \
			>"$logs/$n.result"
	fi
}

fail=0
for n in $names; do
	regress "$n" || fail=1
done
set -- $names
while [ $# -gt 0 ]; do
	batch=""
	i=0
	while [ $i -lt "$jobs" ] && [ $# -gt 0 ]; do
		fuzz "$1" &
		batch="$batch $1"
		shift
		i=$((i + 1))
	done
	wait
	for n in $batch; do
		cat "$logs/$n.result"
		grep -q '^FAIL' "$logs/$n.result" && fail=1
	done
done
total=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs"/*.log 2>/dev/null |
	awk '{ s += $1 } END { print s + 0 }')
echo "fuzz: $total runs in all; logs in $logs"
exit $fail
