#!/bin/sh
# variants: opt san
# spanwatch's SMTP counters (smtp_direct, smtp_unauth, smtp_tls, smtp_rcpt,
# sensor smtp_sess) and its smtp_direct alert over the corpus's SMTP
# captures, against what tshark decodes in the same files. Skips when
# ../shared is absent. See smtp_pcap.py.
exec /usr/bin/python3 "$TOP/tests/smtp/smtp_pcap.py"
