#!/bin/sh
# The operable sensor (issue 13): -n as thorough as a start, -D that
# reports the detached sensor's failure, locks against a second sensor,
# the pidfile, the flow log appended, rotation by mv + SIGHUP, no wait at
# exit. Needs root (a namespace, a user to drop to).
# variants: opt san
exec /usr/bin/python3 "$(dirname "$0")/daemon.py"
