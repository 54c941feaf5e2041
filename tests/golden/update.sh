#!/bin/sh
# update.sh [NAME...]: writes expected/NAME.out anew from the current
# build for every test of TESTLIST (or those named). Run it on purpose,
# after a change meant to alter the output, and read the diff before
# committing it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
grep -v '^#' "$here/TESTLIST" | while read -r name cap opts; do
	[ -n "$name" ] || continue
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	# shellcheck disable=SC2086 # options are words
	sh "$here/run.sh" "$name" "$cap" $opts >"$here/expected/$name.out"
	echo "updated $name"
done
