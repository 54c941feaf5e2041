#!/usr/bin/python3
"""Prints the classic-pcap Ethernet captures of a folder, one path a line:
the small-corpus benchmark merges them (pcapng files are left out)."""
import os, struct, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    p = os.path.join(d, n)
    try:
        b = open(p, "rb").read(64)
    except OSError:
        continue
    if len(b) < 24:
        continue
    m = b[:4]
    if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        lt = struct.unpack("<I", b[20:24])[0]
    elif m in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        lt = struct.unpack(">I", b[20:24])[0]
    else:
        continue  # pcapng and others: left out, mergecap writes pcap
    if lt & 0xffff == 1:
        print(p)
