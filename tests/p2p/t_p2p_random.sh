#!/bin/sh
# Issue 15: real random-looking traffic on loopback (TLS bulk with
# openssl, random UDP, TCP shaped like MSE without BitTorrent's message
# lengths) is not BitTorrent: <= 0.5% of its bytes; see randomtraffic.py.
exec /usr/bin/python3 "$TOP/tests/p2p/randomtraffic.py"
