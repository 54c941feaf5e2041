#!/bin/sh
# variants: opt
# Issue 9: static analysis of every C file of the sensor, the collectors,
# the dashboard and the generator. cppcheck (warning, style, portability,
# performance) and clang-tidy (the clang static analyzer's checks) must
# report nothing; a finding that is wrong is suppressed in the code with
# its reason next to it. cppcheck's variableScope is left out: the code
# declares at the top of a block on purpose (KNF, as in the OpenBSD code
# STYLE.md follows). clang-tidy's insecureAPI buffer-handling check is left
# out: it flags every memcpy and snprintf, bounded or not.
cd "$TOP" || exit 1
command -v cppcheck >/dev/null || { echo "SKIP: cppcheck missing"; exit 77; }
tidy=$(command -v clang-tidy-14 || command -v clang-tidy) || { echo "SKIP: clang-tidy missing"; exit 77; }
files=$(make -s --no-print-directory print-sources)
# The Makefile's own include flags (pkg-config of the libraries it uses).
inc=$(make -s --no-print-directory print-cppflags)
rc=0

out=$(cppcheck --quiet --enable=warning,style,portability,performance --inline-suppr \
	--suppress=missingIncludeSystem --suppress=variableScope -j 2 $inc $files 2>&1)
n=$(printf '%s' "$out" | grep -c ': \(error\|warning\|style\|performance\|portability\):')
echo "cppcheck: $n findings in $(echo $files | wc -w) files"
[ "$n" -eq 0 ] || { printf '%s\n' "$out"; rc=1; }

log=$(mktemp)
printf '%s\n' $files | xargs -P 2 -I{} "$tidy" --quiet \
	-checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
	{} -- -std=c11 $inc >"$log" 2>/dev/null
n=$(grep -c ': \(error\|warning\):' "$log")
echo "clang-tidy: $n findings"
[ "$n" -eq 0 ] || { cat "$log"; rc=1; }
rm -f "$log"
exit $rc
