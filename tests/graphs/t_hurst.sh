#!/bin/sh
# The Hurst estimators (graphs/hurst.c) recover H within ±0.1 on series of
# known H: fractional Gaussian noise (H = 0.5, 0.7, 0.9; 8192 points and a
# day of 1440), independent noise (0.5), and aggregates of Pareto ON/OFF
# sources with alpha 1.2 and 1.6 (H = 0.9, 0.7). graphs/*.c are not in the
# project library, so this builds the cmocka test with the estimator
# itself, with the project's warning flags (and sanitizers for san).
# variants: opt san
set -eu
top=${TOP:?}
work=$top/build/test-work/graphs-hurst-${SW_VARIANT:-opt}
mkdir -p "$work"
flags="-std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith
 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-align -D_GNU_SOURCE -g"
case ${SW_VARIANT:-opt} in
san) flags="$flags -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
 -fno-sanitize-recover=all" ;;
*) flags="$flags -O2" ;;
esac
# shellcheck disable=SC2086
${CC:-cc} $flags -I"$top/graphs" -o "$work/hurst_test" \
	"$top/tests/graphs/hurst_test.c" "$top/graphs/hurst.c" -lcmocka -lm
exec "$work/hurst_test"
