#!/bin/sh
# Issue 5: real mail servers (aiosmtpd) and a real client (swaks) in network
# namespaces; spanwatch live and on tcpdump's capture: SMTP counters, alerts.
# variants: opt san
exec /usr/bin/python3 "$TOP/tests/realsmtp/real_smtp.py"
