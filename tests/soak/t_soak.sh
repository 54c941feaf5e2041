#!/bin/sh
# variants: san
# Issue 9: a 300 s soak of the sanitizer build (tests/soak/soak.sh): RSS and
# descriptors flat over the second half, no LeakSanitizer report at exit.
[ -x "$SW_BIN/spanwatch" ] || { echo "SKIP: $SW_BIN/spanwatch not built"; exit 77; }
exec sh "$TOP/tests/soak/soak.sh" "${SW_SOAK_SECONDS:-300}"
