#!/bin/sh
# Classic pcap files read through the mapping give what libpcap gives
# from the same bytes on stdin: summary, flow log, messages, exit status,
# on the shared corpus and on damaged and reordered copies (mapped.py).
# variants: opt san
exec /usr/bin/python3 "$TOP/tests/badinput/mapped.py"
