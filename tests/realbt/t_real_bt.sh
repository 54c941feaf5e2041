#!/bin/sh
# Issue 6: two real BitTorrent clients (libtorrent) in network namespaces,
# plain and encrypted, over TCP and uTP; spanwatch live and on tcpdump's
# capture: share counted as BitTorrent, allowlist, bt_volume.
exec /usr/bin/python3 "$TOP/tests/realbt/real_bt.py"
