#!/bin/sh
# spanwatch's SMTP counters and alerts on captures from spanwatch-gen
# against its ground truth: every subscriber's smtp_direct, smtp_unauth,
# smtp_tls and smtp_rcpt equal the truth (direct and rcpt in every step),
# sensor smtp_sess equals all sessions, every bot gets smtp_direct and
# nobody else gets any SMTP alert. See smtp_truth.py.
exec /usr/bin/python3 "$TOP/tests/smtp/smtp_truth.py"
