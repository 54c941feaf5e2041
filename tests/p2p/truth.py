#!/usr/bin/python3
"""The p2p collector against spanwatch-gen's ground truth.

usage: truth.py TRUTH.tsv TRUTH.flows.tsv FLOWLOG.tsv RRD_DIR
                [--alerts ALERTS.json --max-bt-bytes N]

Per subscriber, from `rrdtool fetch` of RRD_DIR/subscribers/NAME.rrd
(rate x step, summed over the run):
  * bt_allow_in/out equal the truth's bt_allow_in/out;
  * p2p_in/out equal the truth's p2p_in/out, less the eDonkey TCP flows
    of the generator that nDPI 4.2 does not recognise (ndpiReader leaves
    them Unknown too; they are counted and listed);
  * bt_in/out equal the truth's plain BitTorrent (TCP, uTP, DHT, tracker)
    plus the bytes of the flows spanwatch labelled BitTorrent.encrypted
    or BitTorrent that the truth calls encrypted (detected) or not
    BitTorrent at all (false positives), both taken from the flow log.
Over all subscribers:
  * detected encrypted bytes >= 90% of the truth's encrypted bytes;
  * false-positive bytes <= 0.5% of the bytes that are not BitTorrent;
  * sensor.rrd bt_bytes equals the sum of bt_* and bt_allow_* bytes.
With --alerts, the bt_volume alerts of the JSON file:
  * a subscriber alerted moved more than N non-allowlisted BitTorrent
    bytes over the whole run (a window holds no more than that), and the
    alert's bytes= is above N;
  * a subscriber whose plain BitTorrent bytes pass N within one step
    (shorter than the window) is alerted.
Exit 0 pass, 1 fail.
"""
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gentruth  # noqa: E402

ENC_MIN = 0.90
BARE_MIN = 0.95
BARE = ("bt_enc_bare", "utp_enc")   # --bt-bare: encrypted, no evidence in clear
FP_MAX = 0.005
PROTO = {"tcp": "6", "udp": "17", "icmp": "1", "icmp6": "58"}


def key(proto, a, ap, b, bp):
    return (PROTO.get(proto, proto),) + tuple(sorted([(a, int(ap)), (b, int(bp))]))


def fetch(path, start, end, step):
    out = subprocess.run(["rrdtool", "fetch", path, "AVERAGE", "-s", str(start), "-e", str(end),
                          "-r", str(step)], check=True, stdout=subprocess.PIPE, text=True).stdout
    lines = out.splitlines()
    names = lines[0].split()
    tot = collections.Counter()
    for l in lines[1:]:
        if ":" not in l:
            continue
        ts, vals = l.split(":", 1)
        for n, v in zip(names, vals.split()):
            if v not in ("-nan", "nan", "NaN"):
                tot[n] += float(v) * step
    return tot


def close(a, b):
    return abs(a - b) <= 1.0 + 1e-9 * max(abs(a), abs(b))


def check_alerts(path, limit, truth, det, fp, step_max):
    fails = []
    alerted = collections.Counter()
    if os.path.exists(path):
        with open(path) as fp_:
            for line in fp_:
                a = json.loads(line)
                if a.get("alert") != "bt_volume":
                    continue
                sub = a.get("subscriber")
                alerted[sub] += 1
                if int(a.get("bytes", 0)) <= limit:
                    fails.append("bt_volume %s: bytes=%s not above %d" % (sub, a.get("bytes"), limit))
    for sub, n in sorted(alerted.items()):
        t = truth.get(sub, collections.Counter())
        total = sum(t["bt_plain_" + d] + t["bt_enc_" + d] + fp[sub][d] for d in ("in", "out"))
        if total <= limit:
            fails.append("bt_volume %s: alerted, but only %d non-allowlisted bytes in the whole run"
                         % (sub, total))
    must = sorted(s for s, m in step_max.items() if m > limit)
    for sub in must:
        if not alerted[sub]:
            fails.append("bt_volume %s: %d plain BitTorrent bytes in one step, not alerted" % (
                sub, step_max[sub]))
    print("bt_volume: %d subscribers alerted (%s); %d must be" % (
        len(alerted), ",".join(sorted(alerted)), len(must)))
    return fails


def main():
    truth_path, tflows_path, flowlog, rrd = sys.argv[1:5]
    opts = dict(zip(sys.argv[5::2], sys.argv[6::2]))
    tcomments, trows = gentruth.read(truth_path)
    meta = gentruth.meta(tcomments)
    step = int(meta.get("step", 60))
    truth = collections.defaultdict(collections.Counter)
    step_max = collections.Counter()
    first = last = None
    for r in trows:
        t = int(r["step"])
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        step_max[r["subscriber"]] = max(step_max[r["subscriber"]],
                                        sum(int(r[k]) for k in ("bt_plain_in", "bt_plain_out")))
        c = truth[r["subscriber"]]
        for k, v in r.items():
            if k not in ("step", "subscriber"):
                c[k] += int(v)

    # Truth class per 5-tuple (a 5-tuple the generator reused keeps one
    # class in practice: DHT between the same two ports).
    tclass, tkind = {}, {}
    bare = collections.Counter()        # truth bytes of --bt-bare flows, by class
    for r in gentruth.read(tflows_path)[1]:
        k = key(r["proto"], r["src"], r["sport"], r["dst"], r["dport"])
        tclass[k] = r["class"]
        tkind[k] = r["kind"]
        if r["kind"] in BARE:
            bare[r["class"]] += int(r["c2s_bytes"]) + int(r["s2c_bytes"])
    bare_det = collections.Counter()    # ... called BitTorrent, by class
    levels = collections.Counter()

    det = collections.defaultdict(collections.Counter)	# subscriber -> in/out
    fp = collections.defaultdict(collections.Counter)
    p2p_unknown = collections.defaultdict(collections.Counter)
    fails = []
    for r in gentruth.read(flowlog)[1]:
        if r["subscriber"] == "-":
            continue
        k = key(r["proto"], r["src"], r["sport"], r["dst"], r["dport"])
        cls = tclass.get(k, "-")
        c2s, s2c = int(r["c2s_bytes"]), int(r["s2c_bytes"])
        into = s2c if r["direction"] == "out" else c2s
        outof = c2s if r["direction"] == "out" else s2c
        if cls == "p2p" and r["app"] == "Unknown":
            p2p_unknown[r["subscriber"]]["in"] += into
            p2p_unknown[r["subscriber"]]["out"] += outof
            p2p_unknown["-"]["flows"] += 1
            if tkind.get(k) != "edonkey":
                fails.append("%s flow %s:%s -> %s:%s left Unknown" % (
                    tkind.get(k), r["src"], r["sport"], r["dst"], r["dport"]))
        if "BitTorrent" not in r["app"]:
            continue
        if tkind.get(k) in BARE:
            bare_det[cls] += c2s + s2c
            levels[r["app"]] += 1
        if cls == "enc":
            det[r["subscriber"]]["in"] += into
            det[r["subscriber"]]["out"] += outof
        elif cls not in ("plain", "allow"):
            fp[r["subscriber"]]["in"] += into
            fp[r["subscriber"]]["out"] += outof
            print("false positive: %s %s:%s -> %s:%s %s bytes, truth class %s, spanwatch %s" % (
                r["proto"], r["src"], r["sport"], r["dst"], r["dport"], c2s + s2c, cls, r["app"]))

    sums = collections.Counter()
    for sub, t in sorted(truth.items()):
        path = os.path.join(rrd, "subscribers", sub + ".rrd")
        if not os.path.exists(path):
            if any(t[k] for k in ("bt_allow_in", "bt_plain_in", "bt_enc_in", "p2p_in")):
                fails.append("%s: no RRD file" % sub)
            continue
        got = fetch(path, first - step, last + 2 * step, step)
        for d in ("in", "out"):
            want = {
                "bt_allow_" + d: t["bt_allow_" + d],
                "p2p_" + d: t["p2p_" + d] - p2p_unknown[sub][d],
                "bt_" + d: t["bt_plain_" + d] + det[sub][d] + fp[sub][d],
            }
            for ds, w in want.items():
                if not close(got[ds], w):
                    fails.append("%s %s: rrd %.0f, want %d (truth plain %d, detected encrypted %d,"
                                 " false positive %d)" % (sub, ds, got[ds], w, t["bt_plain_" + d],
                                                          det[sub][d], fp[sub][d]))
            sums["bt"] += got["bt_" + d] + got["bt_allow_" + d]
            sums["enc_truth"] += t["bt_enc_" + d]
            sums["enc_det"] += det[sub][d]
            sums["fp"] += fp[sub][d]
            sums["plain"] += t["bt_plain_" + d]
            sums["allow"] += t["bt_allow_" + d]
            sums["p2p"] += t["p2p_" + d]
            sums["nonbt"] += t["bytes_" + d] - t["bt_allow_" + d] - t["bt_plain_" + d] - t["bt_enc_" + d]
    sensor = fetch(os.path.join(rrd, "sensor.rrd"), first - step, last + 2 * step, step)
    if not close(sensor["bt_bytes"], sums["bt"]):
        fails.append("sensor.rrd bt_bytes %.0f, subscribers' bt_* + bt_allow_* %.0f" % (
            sensor["bt_bytes"], sums["bt"]))
    enc_rate = sums["enc_det"] / sums["enc_truth"] if sums["enc_truth"] else 1.0
    fp_rate = sums["fp"] / sums["nonbt"] if sums["nonbt"] else 0.0
    print("subscribers: %d; truth bytes: plain BitTorrent %d, allowlisted %d, encrypted %d, other P2P %d,"
          " not BitTorrent %d" % (len(truth), sums["plain"], sums["allow"], sums["enc_truth"],
                                  sums["p2p"], sums["nonbt"]))
    if p2p_unknown["-"]["flows"]:
        print("note: %d eDonkey TCP flows of the generator (%d bytes) are Unknown to nDPI 4.2,"
              " not counted as p2p" % (p2p_unknown["-"]["flows"],
                                      sum(c["in"] + c["out"] for c in p2p_unknown.values())))
    print("encrypted BitTorrent detected: %d of %d bytes = %.2f%% (minimum %.0f%%)" % (
        sums["enc_det"], sums["enc_truth"], 100 * enc_rate, 100 * ENC_MIN))
    print("false positives: %d of %d non-BitTorrent bytes = %.4f%% (maximum %.1f%%)" % (
        sums["fp"], sums["nonbt"], 100 * fp_rate, 100 * FP_MAX))
    if bare:
        # The flow log's bytes are the truth's (IP bytes of the same flows).
        for cls, what, lim in (("enc", "encrypted BitTorrent without evidence in clear", BARE_MIN),
                               ("allow", "allowlisted torrents fetched encrypted after a clear announce", 1.0)):
            if not bare[cls]:
                continue
            rate = bare_det[cls] / bare[cls]
            print("%s (%s): called BitTorrent %d of %d bytes = %.2f%% (minimum %.0f%%)" % (
                what, "/".join(BARE), bare_det[cls], bare[cls], 100 * rate, 100 * lim))
            if rate < lim:
                fails.append("%s: %.2f%% < %.0f%%" % (what, 100 * rate, 100 * lim))
        print("their levels (flows): %s" % ", ".join("%s %d" % kv for kv in sorted(levels.items())))
    if sums["enc_truth"] and enc_rate < ENC_MIN:
        fails.append("encrypted detection %.2f%% < %.0f%%" % (100 * enc_rate, 100 * ENC_MIN))
    if fp_rate > FP_MAX:
        fails.append("false positives %.4f%% > %.1f%%" % (100 * fp_rate, 100 * FP_MAX))
    if "--alerts" in opts:
        fails += check_alerts(opts["--alerts"], int(opts["--max-bt-bytes"]), truth, det, fp, step_max)
    for f in fails:
        print("FAIL " + f)
    print("p2p truth: %s" % ("pass" if not fails else "FAIL"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
