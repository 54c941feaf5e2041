#!/bin/sh
# variants: opt san
# Crafted SMTP sessions against their known content: a 235 that answers
# no AUTH is unauth (issue 14.8), real AUTH PLAIN and LOGIN are auth,
# max_sessions = 0 alerts on the first unauth session and never on an
# auth one (issue 13.11), cut EHLO names and sender domains are marked
# (issue 14.9). See smtp_crafted.py.
exec /usr/bin/python3 "$TOP/tests/smtp/smtp_crafted.py"
