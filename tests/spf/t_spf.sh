#!/bin/sh
# variants: opt san
# Issue 10, SPF-aware egress: crafted SMTP captures through spanwatch and
# its SPF helper against a real DNS server (dnsmasq on a free loopback
# port): every RFC 7208 result, smtp_spfpass, [smtp] spf = off | annotate |
# exempt, the resolver stopped and the helper killed mid-run, and (opt)
# the packet rate with and without a dead resolver. See spf_test.py.
exec /usr/bin/python3 "$TOP/tests/spf/spf_test.py"
