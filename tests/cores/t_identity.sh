#!/bin/sh
# Issue 17: [capture] threads = 1, 2, 4 give the same RRD figures and
# alerts, from files and live over a veth (see identity.py).
# variants: opt san
exec /usr/bin/python3 "$TOP/tests/cores/identity.py"
