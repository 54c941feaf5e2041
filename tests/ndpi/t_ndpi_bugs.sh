#!/bin/sh
# variants: opt san
# nDPI 4.2's known bugs, with crafted captures (craft.py):
#  - a DNS query whose labels make nDPI's 16-bit index wrap (an endless
#    loop in 4.2): spanwatch cuts datagrams to --dpi-max-bytes and survives;
#  - a DTLS handshake with a certificate for a known host (a NULL
#    dereference in 4.2's DTLS dissector): the dissector is off, spanwatch
#    survives and does not call it DTLS;
#  - the same DNS query with the cut lifted: the watchdog fires, saves the
#    very packet and exits 1, as a service manager expects.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3
$PY "$TOP/tests/ndpi/craft.py" dns-wrap "$T/dns.pcap" || fail "craft dns"
$PY "$TOP/tests/ndpi/craft.py" dtls-cert "$T/dtls.pcap" || fail "craft dtls"

timeout -s KILL 60 "$SW_BIN/spanwatch" -r "$T/dns.pcap" --flow-log "$T/dns.tsv" 2>"$T/dns.err"
rc=$?
[ $rc -eq 0 ] || fail "dns-wrap: exit $rc (137 = hung and killed): $(tail -n 3 "$T/dns.err")"
grep -q 'ip_bytes=65535 ' "$T/dns.err" || fail "dns-wrap: the 65535-byte datagram was not counted"
echo "ok dns-wrap: survived, $(cut -f12 "$T/dns.tsv" | tail -n 1)"

timeout -s KILL 60 "$SW_BIN/spanwatch" -r "$T/dtls.pcap" --flow-log "$T/dtls.tsv" 2>"$T/dtls.err"
rc=$?
[ $rc -eq 0 ] || fail "dtls-cert: exit $rc: $(tail -n 3 "$T/dtls.err")"
app=$(cut -f12 "$T/dtls.tsv" | tail -n 1)
[ "$app" != DTLS ] || fail "dtls-cert: the DTLS dissector ran"
echo "ok dtls-cert: survived, labelled $app"

timeout -s KILL 60 "$SW_BIN/spanwatch" -r "$T/dns.pcap" --dpi-max-bytes 65535 --watchdog 2 2>"$T/wd.err"
rc=$?
[ $rc -eq 1 ] || fail "watchdog: exit $rc, expected 1: $(tail -n 3 "$T/wd.err")"
saved=$(sed -n 's/.*it is saved in \([^;]*\);.*/\1/p' "$T/wd.err")
[ -n "$saved" ] && [ -f "$saved" ] || fail "watchdog: no saved packet: $(cat "$T/wd.err")"
$PY - "$T/dns.pcap" "$saved" <<'PYEOF' || { rm -f "$saved"; fail "watchdog: saved packet differs"; }
import sys
def first(path):
    b = open(path, "rb").read()
    n = int.from_bytes(b[24 + 8:24 + 12], "little")
    return b[40:40 + n]
a, s = first(sys.argv[1]), first(sys.argv[2])
sys.exit(0 if a == s and len(a) == 65535 else 1)
PYEOF
rm -f "$saved"
echo "ok watchdog: fired, saved the 65535-byte packet, exit 1"
