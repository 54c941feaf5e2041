#!/bin/sh
# variants: opt san
# Issue 15.5: SMTP commands are counted from the client's stream alone.
# A scapy-built capture whose server replies are retransmitted over older
# bytes (suricata-verify smtp-bug-5989), overlap, are lost, out of order
# or absent (pipelining), and a smuggled transaction behind a bare-LF dot
# line: smtp_rcpt against the RCPTs the script wrote. See smtp_overlap.py.
exec /usr/bin/python3 "$TOP/tests/smtp/smtp_overlap.py"
