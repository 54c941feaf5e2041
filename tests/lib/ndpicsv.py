"""Debian ndpiReader's answer for one capture, as the corpus tests read it.

ndpiReader -C writes one CSV row per flow: column 2 the IP protocol
number, 6-9 the two ends, 11 ndpi_proto. Its answer for a file never
changes, so it is kept in a cache directory shared by every test that asks
(tests/corpus and tests/p2p). Flows are keyed the way spanwatch's flow log
is read too (flow_key), so the two can be matched.
"""
import csv
import ipaddress
import os
import subprocess

# The flow log's protocol names, as numbers (ndpiReader prints numbers).
PROTO_NUM = {"icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47,
             "esp": 50, "ah": 51, "icmp6": 58, "ospf": 89, "sctp": 132}


def norm_ip(s):
    # ndpiReader 4.2's CSV drops a final zero group of IPv6 addresses
    # ("2600:1901::7a0b:"); put it back before comparing.
    for cand in (s, s + "0"):
        try:
            return str(ipaddress.ip_address(cand))
        except ValueError:
            pass
    return s


def flow_key(proto, a, ap, b, bp):
    """(protocol number, lower end, higher end): the same for both directions."""
    ends = sorted([(norm_ip(a), int(ap)), (norm_ip(b), int(bp))])
    return (int(PROTO_NUM.get(proto, proto)), ends[0], ends[1])


def rows(corpus, cache, name):
    """(flow_key, ndpi_proto) for each flow ndpiReader reports in corpus/name;
    runs it once per file and keeps the CSV in cache."""
    os.makedirs(cache, exist_ok=True)
    out = os.path.join(cache, name + ".csv")
    if not os.path.exists(out):
        # Two tests may ask at once: each writes its own file, the rename
        # is atomic and both contents are the same.
        tmp = out + ".tmp.%d" % os.getpid()
        subprocess.run(["ndpiReader", "-q", "-i", os.path.join(corpus, name), "-C", tmp],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(tmp):
            open(tmp, "w").close()
        os.replace(tmp, out)
    res = []
    with open(out, newline="", errors="replace") as fp:
        for row in csv.reader(fp):
            if not row or row[0].startswith("#") or len(row) < 11:
                continue
            try:
                res.append((flow_key(row[1], row[5], row[6], row[7], row[8]), row[10]))
            except ValueError:
                continue
    return res
