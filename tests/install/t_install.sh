#!/bin/sh
# make install into a temporary root, then the installed service run as its
# unit says (issue 13): files, sysusers/tmpfiles, unit verification, the
# sensor's privileges, RRDs and alerts against the generator's truth,
# rotation, pidfile, make uninstall.
exec /usr/bin/python3 "$TOP/tests/install/install.py"
