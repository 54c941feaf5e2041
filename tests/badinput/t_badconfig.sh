#!/bin/sh
# Bad configuration, subscriber and allowlist files: every mistake named
# as file:line on stderr, exit 2, nothing written (no RRD folder, no flow
# log); -n prints the same and exits 2, and "configuration OK" (exit 0)
# for good configurations. See badconfig.py.
# variants: opt san
exec /usr/bin/python3 "$TOP/tests/badinput/badconfig.py"
