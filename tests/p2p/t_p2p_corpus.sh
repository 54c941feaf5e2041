#!/bin/sh
# BitTorrent false positives over the nDPI corpus: every flow spanwatch
# calls BitTorrent (incl. BitTorrent.encrypted) that Debian's ndpiReader
# does not; their bytes must stay <= 0.5% of the non-BitTorrent bytes.
# See corpus.py.
command -v ndpiReader >/dev/null || { echo "SKIP: no ndpiReader (libndpi-bin)"; exit 77; }
exec /usr/bin/python3 "$TOP/tests/p2p/corpus.py"
