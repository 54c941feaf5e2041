#!/bin/sh
# Damaged capture files: truncated records (pcap and pcapng), empty and
# text files, an unknown pcapng block, absurd caplen and snaplen, an
# unreadable file. Exit status, a message naming the file, and what was
# read before the damage counted in the summary and in sensor.rrd.
# See badfiles.py.
# variants: opt san
exec /usr/bin/python3 "$TOP/tests/badinput/badfiles.py"
