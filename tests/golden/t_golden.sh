#!/bin/sh
# Golden regression tests: every line of TESTLIST run and compared with
# its expected output (the flow log line by line, warnings and summary);
# a difference is printed as a unified diff. SKIP where ../shared is
# absent. The oracle is the committed file, reviewed when it was written
# (update.sh), not a second copy of the code.
# variants: opt san
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=${TOP:-$(cd "$here/../.." && pwd)}
corpus=${SHARED:-$top/../shared}/pcap/ndpi
[ -d "$corpus" ] || { echo "SKIP: $corpus absent"; exit 77; }
pass=0 fail=0
tmp=$(mktemp)
grep -v '^#' "$here/TESTLIST" | {
	while read -r name cap opts; do
		[ -n "$name" ] || continue
		# shellcheck disable=SC2086
		sh "$here/run.sh" "$name" "$cap" $opts >"$tmp"
		if diff -u "$here/expected/$name.out" "$tmp" >"$tmp.diff"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL $name ($cap):"
			head -n 40 "$tmp.diff"
		fi
	done
	rm -f "$tmp" "$tmp.diff"
	echo "golden: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
