#!/usr/bin/python3
"""BitTorrent false positives over the nDPI corpus (../shared/pcap/ndpi).

For every capture: spanwatch's flow log against Debian's ndpiReader (the
same nDPI 4.2, CSV column 11 ndpi_proto; columns 2, 6-9 the 5-tuple).
Every flow spanwatch calls BitTorrent (nDPI's label or its own
BitTorrent.encrypted) that ndpiReader does not is listed; their bytes
(flow log c2s_bytes + s2c_bytes) over the bytes of all flows ndpiReader
does not call BitTorrent must stay <= 0.5%.
Exit 0 pass, 1 fail, 77 skip.
"""
import concurrent.futures as cf
import os
import subprocess
import sys

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("SHARED") or os.path.join(TOP, "..", "shared")
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import ndpicsv  # noqa: E402
VARIANT = os.environ.get("SW_VARIANT", "opt")
CORPUS = os.path.join(SHARED, "pcap", "ndpi")
# The same cache as tests/corpus: ndpiReader's answer for a file never changes.
CACHE = os.path.join(TOP, "build", "test-cache", "ndpi")
WORK = os.path.join(TOP, "build", "test-work", "p2p-corpus-" + VARIANT)
FP_MAX = 0.005
def ndpi_labels(name):
    labels = {}
    for k, label in ndpicsv.rows(CORPUS, CACHE, name):
        labels.setdefault(k, set()).add(label)
    return labels


def run(name):
    log = os.path.join(WORK, name + ".flows.tsv")
    # spanwatch appends to a flow log: start each run afresh, or the
    # flows of earlier runs count again.
    if os.path.exists(log):
        os.remove(log)
    p = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-q", "-r", os.path.join(CORPUS, name),
                        "--flow-log", log], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, errors="replace")
    labels = ndpi_labels(name)
    return name, p.returncode, p.stderr, log, labels


def main():
    if not os.path.isdir(CORPUS):
        print("SKIP: no corpus at %s (../shared is absent)" % CORPUS)
        return 77
    os.makedirs(WORK, exist_ok=True)
    names = sorted(n for n in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, n)))
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(run, names))
    fp_bytes = nonbt_bytes = bt_agree = own = 0
    listed = []
    for name, rc, err, log, labels in results:
        if rc != 0 or not os.path.exists(log):
            # Unsupported link types are tests/corpus's concern.
            continue
        with open(log, errors="replace") as fp:
            next(fp, None)
            for line in fp:
                f = line.rstrip("\n").split("\t")
                if len(f) < 14:
                    continue
                try:
                    k = ndpicsv.flow_key(f[2], f[3], f[4], f[5], f[6])
                except ValueError:
                    continue
                nbytes = int(f[8]) + int(f[10])
                theirs = labels.get(k, set())
                if any("BitTorrent" in l for l in theirs):
                    bt_agree += "BitTorrent" in f[11]
                    continue
                nonbt_bytes += nbytes
                if "BitTorrent" in f[11]:
                    fp_bytes += nbytes
                    own += f[11] == "BitTorrent.encrypted"
                    listed.append("%s: %s %s:%s -> %s:%s %d bytes: spanwatch %s, ndpiReader %s" % (
                        name, f[2], f[3], f[4], f[5], f[6], nbytes, f[11],
                        ",".join(sorted(theirs)) or "(no flow)"))
    for l in listed:
        print("extra BitTorrent " + l)
    rate = fp_bytes / nonbt_bytes if nonbt_bytes else 0.0
    print("files: %d; flows both call BitTorrent: %d; BitTorrent only for spanwatch: %d flows"
          " (%d BitTorrent.encrypted), %d of %d non-BitTorrent bytes = %.4f%% (maximum %.1f%%)" % (
              len(names), bt_agree, len(listed), own, fp_bytes, nonbt_bytes, 100 * rate,
              100 * FP_MAX))
    ok = rate <= FP_MAX
    print("p2p corpus: %s" % ("pass" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
