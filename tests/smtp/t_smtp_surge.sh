#!/bin/sh
# variants: opt san
# Issue 15.3: smtp_surge end to end on a generated 40-hour capture: the
# routine senders (hourly, nightly +-20 min) never get it, the switchers
# (a few relayed mails, then a burst of direct sessions) get it within a
# window of the switch the truth records. See smtp_surge.py.
exec /usr/bin/python3 "$TOP/tests/smtp/smtp_surge.py"
