#!/bin/sh
# The dashboard's pure modules with cmocka: the top-N table
# (graphs/rank.c) and the alerts JSON reader (graphs/alertlog.c). As
# t_hurst.sh, built here from the sources (graphs/*.c are not in the
# project library), with the project's warning flags (sanitizers for san).
# variants: opt san
set -eu
top=${TOP:?}
work=$top/build/test-work/graphs-modules-${SW_VARIANT:-opt}
mkdir -p "$work"
flags="-std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith
 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-align -D_GNU_SOURCE -g"
case ${SW_VARIANT:-opt} in
san) flags="$flags -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
 -fno-sanitize-recover=all" ;;
*) flags="$flags -O2" ;;
esac
# shellcheck disable=SC2086
${CC:-cc} $flags -I"$top/graphs" -I"$top/sensor/lib" -o "$work/modules_test" \
	"$top/tests/graphs/modules_test.c" "$top/graphs/rank.c" \
	"$top/graphs/alertlog.c" "$top/sensor/lib/log.c" -lcmocka -lm
exec "$work/modules_test"
