#!/usr/bin/python3
"""The corpus test: spanwatch over every capture of ../shared/pcap/ndpi.

For each file it checks, against independent oracles:
  * spanwatch exits 0 (or refuses an unsupported link type with exit 1 and
    a message), with no sanitizer report under the san build;
  * its IP packets and IP bytes equal tshark's count (tshark-totals.tsv,
    made by tshark-totals.sh); a file where tshark itself flags malformed
    frames may differ and is listed with both figures;
  * for every flow Debian's ndpiReader (the same nDPI 4.2) classifies, the
    flow log's app label agrees, except the flows named with their reason
    in known-disagreements.txt: a disagreement not named there fails, and
    so does a named one that agrees now (the list is kept exact, so a
    label that changes is seen). The named ones are 43 of 4945 (99.13%).
Exit 0 pass, 1 fail, 77 skip.
"""
import concurrent.futures as cf
import os
import re
import subprocess
import sys

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("SHARED") or os.path.join(TOP, "..", "shared")
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import ndpicsv  # noqa: E402
VARIANT = os.environ.get("SW_VARIANT", "opt")
CORPUS = os.path.join(SHARED, "pcap", "ndpi")
CACHE = os.path.join(TOP, "build", "test-cache", "ndpi")
WORK = os.path.join(TOP, "build", "test-work", "corpus-" + VARIANT)
KNOWN = os.path.join(TOP, "tests", "corpus", "known-disagreements.txt")
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")


def run_spanwatch(name):
    path = os.path.join(CORPUS, name)
    log = os.path.join(WORK, name + ".flows.tsv")
    # spanwatch appends to a flow log: start each run with none.
    if os.path.exists(log):
        os.unlink(log)
    p = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-q", "-v", "-r", path, "--flow-log", log],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    # -q then -v: no progress line, but the summary is printed.
    m = re.search(r"^summary (.*)$", p.stderr, re.M)
    summary = dict(kv.split("=", 1) for kv in m.group(1).split()) if m else {}
    return name, p.returncode, p.stderr, summary, log


def ndpi_flows(name):
    return dict(ndpicsv.rows(CORPUS, CACHE, name))


def our_flows(log):
    flows = {}
    if not os.path.exists(log):
        return flows
    with open(log, errors="replace") as fp:
        next(fp, None)
        for line in fp:
            f = line.rstrip("\n").split("\t")
            if len(f) < 14:
                continue
            flows.setdefault(ndpicsv.flow_key(f[2], f[3], f[4], f[5], f[6]), []).append(f[11])
    return flows


def known_disagreements():
    known = {}
    with open(KNOWN) as fp:
        for line in fp:
            if line.startswith("#") or "\t" not in line:
                continue
            d, why = line.rstrip("\n").split("\t", 1)
            known[d] = why
    return known


def main():
    if not os.path.isdir(CORPUS):
        print("SKIP: no corpus at %s (../shared is absent)" % CORPUS)
        return 77
    os.makedirs(WORK, exist_ok=True)
    expected = {}
    with open(os.path.join(TOP, "tests", "corpus", "tshark-totals.tsv")) as fp:
        for line in fp:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            expected[f[0]] = (int(f[1]), int(f[2]), int(f[3]))
    names = sorted(n for n in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, n)))
    failures, refused, differ = [], [], []
    agree = total = 0
    disagreements = []
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(run_spanwatch, names))
    for name, rc, err, summary, log in results:
        if SANITIZER.search(err):
            failures.append("%s: sanitizer report:\n%s" % (name, err[-3000:]))
            continue
        if rc == 1 and "is not supported" in err:
            refused.append("%s: %s" % (name, err.strip().splitlines()[0]))
            continue
        if rc != 0 or not summary:
            failures.append("%s: exit %d: %s" % (name, rc, err.strip()[-500:]))
            continue
        got = (int(summary["ip_packets"]), int(summary["ip_bytes"]))
        if name not in expected:
            failures.append("%s: not in tshark-totals.tsv (rerun tshark-totals.sh)" % name)
            continue
        want = expected[name]
        if got != want[:2]:
            line = "%s: spanwatch %d packets %d bytes, tshark %d packets %d bytes (tshark malformed frames: %d)" % (
                name, got[0], got[1], want[0], want[1], want[2])
            (differ if want[2] > 0 else failures).append(line)
        ours = our_flows(log)
        for k, label in ndpi_flows(name).items():
            if label in ("Unknown", ""):
                continue
            total += 1
            mine = ours.get(k)
            if mine and label in mine:
                agree += 1
            else:
                disagreements.append("%s: %s %s <-> %s: ndpiReader %s, spanwatch %s" % (
                    name, k[0], "%s:%d" % k[1], "%s:%d" % k[2], label, ",".join(mine) if mine else "(no flow)"))
    print("files: %d, refused (unsupported link type): %d, failed: %d" % (len(names), len(refused), len(failures)))
    for r in refused:
        print("refused " + r)
    for d in differ:
        print("differs (tshark flags malformed frames) " + d)
    known = known_disagreements()
    for d in disagreements:
        print("disagree %s (%s)" % (d, known.get(d, "NEW")))
    rate = 100.0 * agree / total if total else 100.0
    print("ndpiReader agreement: %d of %d classified flows = %.2f%%, %d named in %s"
          % (agree, total, rate, len(known), os.path.basename(KNOWN)))
    seen = set(disagreements)
    for d in disagreements:
        if d not in known:
            failures.append("new disagreement (fix it, or name it with its reason in %s): %s"
                            % (os.path.basename(KNOWN), d))
    for d in known:
        if d not in seen:
            failures.append("named disagreement agrees now (take it out of %s): %s" % (os.path.basename(KNOWN), d))
    for f in failures:
        print("FAIL " + f)
    ok = not failures
    print("corpus: %s" % ("pass" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
