#!/bin/sh
# variants: opt san
# The RRD writer under faults: a refusing rrdcached (-B), one that stalls
# or answers garbage, FIFOs and symbolic links in the RRD folder, a full
# and a read-only disk, a replay into later steps, step 59, the wait at
# exit. Exit status, time bounds and what the operator is told; see
# rrdfault.py.
command -v rrdcached >/dev/null || { echo "SKIP: rrdcached missing"; exit 77; }
exec /usr/bin/python3 "$TOP/tests/rrdfault/rrdfault.py"
