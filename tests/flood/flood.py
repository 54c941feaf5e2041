#!/usr/bin/python3
"""Issue 9: a SYN flood against a bounded flow table, and an alert flood.

Run by t_flood.sh. The work folder is build/test-work/flood.PID (about
550 MB of captures at its peak), removed at the end.

A. A capture of 5,000,000 SYNs from random 5-tuples (tests/flood/floodgen.c:
   10% from outside towards 16 victim subscribers in 10.200.0.0/16, the
   rest transit, 10% of those IPv6) merged by timestamp into 10 minutes of
   ordinary traffic from spanwatch-gen (100 subscribers), read with
   [sensor] max_flows = 100000 and the default holddown (1 h):
   - peak resident memory (/usr/bin/time %M) < 64 MiB + 512 B x max_flows;
   - exactly one flow_table_full alert, with max_flows=100000 and no
     suppressed= field (SPEC: not repeated within holddown, the *next* one
     carries suppressed=N; under an hour of packet time there is no next);
     the same single line on the logfmt side (stderr with --no-syslog);
   - every generated subscriber's bytes_in/bytes_out per step equal the
     generator's truth; each victim's bytes_in equals floodgen's SYN count
     x 40, bytes_out 0, flows = SYNs; sensor.rrd packets and bytes equal
     the capture's.
B. The same capture with holddown 0: 4.9 million flow_table_full triggers.
   What reaches the JSON file is bounded by the documented rate limit
   (burst 1000, then 100 per second of packet time), and the run's packet
   rate is compared with run A's (CPU seconds; the machine is shared).
C. An alert flood in a few seconds: 101,000 SYNs in 3 s of packet time at
   max_flows = 1000 and holddown 0, i.e. exactly 100,000 flow_table_full
   triggers. Exactly what alert.c's token bucket lets through (1000 at the
   first raise, then 100 more each new second of packet time: 1000 + 100
   + 100 + 1 here) reaches the JSON file and a syslog collector over UDP
   (RFC 5424), and the alerts_dropped lines account for every other one.

FLOOD_CASES (default ABC) picks cases; B needs A.
"""
import calendar
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402
import swsummary  # noqa: E402

START = 1767225600			# spanwatch-gen's default --start
DURATION = 600
SYNS = 5000000
MAX_FLOWS = 100000
BOUND = 64 * 1024 * 1024 + 512 * MAX_FLOWS
BURST, RATE = 1000, 100			# sensor/out/alert.h ALERTS_BURST, ALERTS_RATE

failures = []


def check(ok, msg):
    if not ok:
        failures.append(msg)
        print("FAIL " + msg)
    return ok


def close(a, b):
    return abs(a - b) <= max(0.5, 1e-9 * abs(b))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def sensor(work, name, conf, pcap, rrd, syslog=False):
    """Runs spanwatch under /usr/bin/time; returns (rc, summary, stderr, json
    records, (wall, user, sys, maxrss_kib)). syslog: leave [alerts] syslog
    on (else --no-syslog: the logfmt lines go to stderr)."""
    err_path = os.path.join(work, name + ".stderr")
    time_path = os.path.join(work, name + ".time")
    js = os.path.join(work, name + ".json")
    with open(err_path, "w") as err:
        rc = subprocess.run(["/usr/bin/time", "-o", time_path, "-f", "%e %U %S %M",
                             os.path.join(SW_BIN, "spanwatch")] + ([] if syslog else ["--no-syslog"]) + ["-c", conf,
                             "-r", pcap, "-o", rrd, "--alerts-json", js],
                            stdout=subprocess.DEVNULL, stderr=err).returncode
    with open(err_path) as fp:
        text = fp.read()
    with open(time_path) as fp:
        t = fp.read().split()[-4:]
    recs = []
    if os.path.exists(js):
        with open(js) as fp:
            recs = [json.loads(l) for l in fp]
    wall, user, sys_, rss = float(t[0]), float(t[1]), float(t[2]), int(t[3])
    s = swsummary.of(text)
    if not check(rc == 0 and s, "%s: spanwatch exit %d: %s" % (name, rc, "\n".join(
            l for l in text.splitlines() if not l.startswith("alert="))[-600:])):
        s = s or {}
    return rc, s, text, recs, (wall, user, sys_, rss)


def write_conf(src, dst, subs, extra):
    with open(src) as fp:
        lines = fp.read().splitlines()
    out = []
    for l in lines:
        if l.strip().startswith("file =") and "subscribers" in l:
            l = "file = " + subs
        out.append(l)
    with open(dst, "w") as fp:
        fp.write("\n".join(out) + "\n" + extra)


def iso_sec(ts):
    # "2026-01-01T00:00:11Z" -> Unix seconds (UTC).
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


def main():
    work = os.path.join(TOP, "build", "test-work", "flood.%d" % os.getpid())
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        return body(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def body(work):
    fg = os.path.join(work, "floodgen")
    run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", fg, os.path.join(TOP, "tests", "flood", "floodgen.c"),
         "-lpcap"])
    gen_pcap, truth_tsv = os.path.join(work, "gen.pcap"), os.path.join(work, "truth.tsv")
    run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", gen_pcap, "--truth", truth_tsv,
         "--conf-dir", os.path.join(work, "conf"), "--seed", "3", "--subscribers", "100",
         "--duration", str(DURATION), "--rate", "120"])
    comments, rows = gentruth.read(truth_tsv)
    truth, gtot = gentruth.steps(rows), gentruth.totals(comments)

    # Victims: 16 subscribers of a /20 each, added to the generated map.
    subs = os.path.join(work, "subscribers.txt")
    with open(os.path.join(work, "conf", "subscribers.txt")) as fp, open(subs, "w") as out:
        out.write(fp.read())
        for i in range(16):
            out.write("10.200.%d.0/20 victim-%02d\n" % (i * 16, i))

    if "A" in os.environ.get("FLOOD_CASES", "ABC"):
        pcap = os.path.join(work, "flood.pcap")
        fo = run([fg, "-w", pcap, "-r", gen_pcap, "-n", str(SYNS), "-s", str((START + 1) * 10**6),
                  "-d", str((DURATION - 2) * 10**6), "-S", "7"]).stdout
        os.unlink(gen_pcap)
        victims = {}
        for line in fo.splitlines():
            if line.startswith("# totals"):
                ftot = dict(kv.split("=", 1) for kv in line.split()[2:])
            else:
                name, syns, b = line.split("\t")
                victims[name] = (int(syns), int(b))
        n6 = int(ftot["v6_syns"])
        pkts = int(ftot["out_packets"])
        ip_bytes = int(gtot["ip_bytes"]) + 40 * (SYNS - n6) + 60 * n6
        print("capture: %d packets (%d SYNs, %d to victims, %d IPv6; %s generated), %d IP bytes, %.0f MB" % (
            pkts, SYNS, int(ftot["victim_syns"]), n6, gtot["packets"], ip_bytes, os.path.getsize(pcap) / 1e6))

        # ---- A: max_flows 100000, default holddown
        conf_a = os.path.join(work, "a.conf")
        write_conf(os.path.join(work, "conf", "spanwatch.conf"), conf_a, subs,
                   "\n[sensor]\nmax_flows = %d\n" % MAX_FLOWS)
        rrd_a = os.path.join(work, "rrd-a")
        rc, s, text, recs, (wall, user, sy, rss) = sensor(work, "a", conf_a, pcap, rrd_a)
        print("A: %s" % " ".join("%s=%s" % kv for kv in s.items()))
        print("A: wall %.1f s, cpu %.1f s, %.0f packets/s (wall), %.0f packets/s (cpu)" % (
            wall, user + sy, pkts / wall, pkts / (user + sy)))
        print("A: peak resident %d KiB = %.1f MiB; bound 64 MiB + 512 B x %d = %d B = %.1f MiB (%.0f%% of it)" % (
            rss, rss / 1024.0, MAX_FLOWS, BOUND, BOUND / 1048576.0, 100.0 * rss * 1024 / BOUND))
        check(rss * 1024 < BOUND, "peak resident %d KiB over the bound %d B" % (rss, BOUND))
        check(int(s.get("packets", 0)) == pkts, "A: read %s packets, capture has %d" % (s.get("packets"), pkts))
        check(int(s.get("peak_flows", 0)) == MAX_FLOWS, "A: peak_flows %s, want %d" % (s.get("peak_flows"), MAX_FLOWS))
        evicted = int(s.get("evicted", 0))
        check(evicted > SYNS - MAX_FLOWS - 1000, "A: only %d flows evicted" % evicted)

        ftf = [r for r in recs if r.get("alert") == "flow_table_full"]
        print("A: flow_table_full in --alerts-json: %d %s" % (len(ftf), ftf))
        if check(len(ftf) == 1, "A: %d flow_table_full alerts, want exactly 1 (holddown 1h, %d s of packet time)" % (
                len(ftf), DURATION)):
            r = ftf[0]
            check(r.get("max_flows") == MAX_FLOWS and "suppressed" not in r and "subscriber" not in r,
                  "A: flow_table_full record %s" % r)
            # The table fills after MAX_FLOWS flows: 12 s into the flood
            # (8,361 SYNs a second from START + 1).
            fill = START + 1 + MAX_FLOWS * (DURATION - 2) // SYNS
            check(fill - 2 <= iso_sec(r["ts"]) <= fill + 1, "A: flow_table_full at %s, the table fills at %d" % (
                r["ts"], fill))
        logfmt = [l for l in text.splitlines() if l.startswith("alert=flow_table_full")]
        check(logfmt == ["alert=flow_table_full max_flows=%d" % MAX_FLOWS], "A: logfmt lines %s" % logfmt[:3])

        # Ordinary subscribers, step by step, against the truth.
        compared = bad = 0
        tot_in = tot_out = 0
        for sub, per_step in truth.items():
            path = os.path.join(rrd_a, "subscribers", sub + ".rrd")
            if not os.path.exists(path):
                check(all(v == (0, 0) for v in per_step.values()), "A: %s has no RRD file" % sub)
                continue
            got = rrdsum.steps(path)
            ti = sum(v[0] for v in per_step.values())
            to = sum(v[1] for v in per_step.values())
            gi = sum(r.get("bytes_in", 0.0) for r in got.values())
            go = sum(r.get("bytes_out", 0.0) for r in got.values())
            tot_in, tot_out = tot_in + ti, tot_out + to
            check(close(gi, ti) and close(go, to), "A: %s total in %.1f out %.1f, truth %d %d" % (sub, gi, go, ti, to))
            for end, (bi, bo) in per_step.items():
                row = got.get(end, {})
                compared += 1
                if not (close(row.get("bytes_in", 0.0), bi) and close(row.get("bytes_out", 0.0), bo)):
                    bad += 1
                    if bad <= 5:
                        check(False, "A: %s step %d: in %.1f out %.1f, truth %d %d" % (
                            sub, end, row.get("bytes_in", 0.0), row.get("bytes_out", 0.0), bi, bo))
        check(bad == 0, "A: %d of %d subscriber-steps differ from the truth" % (bad, compared))
        print("A: %d generated subscribers, %d subscriber-steps equal the truth (%d differ); in %d out %d bytes" % (
            len(truth), compared - bad, bad, tot_in, tot_out))

        for name, (syns, b) in sorted(victims.items()):
            t = rrdsum.totals(os.path.join(rrd_a, "subscribers", name + ".rrd"))
            check(close(t.get("bytes_in", 0), b) and close(t.get("bytes_out", 0), 0) and close(t.get("flows", 0), syns),
                  "A: %s in %.1f out %.1f flows %.1f, want %d 0 %d" % (
                      name, t.get("bytes_in", 0), t.get("bytes_out", 0), t.get("flows", 0), b, syns))
        print("A: 16 victims' bytes_in, bytes_out and flows checked against floodgen's SYN counts")
        st = rrdsum.totals(os.path.join(rrd_a, "sensor.rrd"))
        check(close(st.get("packets", 0), pkts) and close(st.get("bytes", 0), ip_bytes),
              "A: sensor.rrd packets %.1f bytes %.1f, capture %d %d" % (st.get("packets", 0), st.get("bytes", 0),
                                                                      pkts, ip_bytes))
        shutil.rmtree(rrd_a)

        # ---- B: the same at holddown 0
        conf_b = os.path.join(work, "b.conf")
        write_conf(os.path.join(work, "conf", "spanwatch.conf"), conf_b, subs,
                   "\n[sensor]\nmax_flows = %d\n\n[alerts]\nholddown = 0\n" % MAX_FLOWS)
        rc, sb, textb, recs, (wb, ub, syb, rssb) = sensor(work, "b", conf_b, pcap, os.path.join(work, "rrd-b"))
        ftf = [r for r in recs if r.get("alert") == "flow_table_full"]
        drops = [r for r in recs if r.get("alert") == "alerts_dropped"]
        others = len(recs) - len(ftf) - len(drops)
        ev_b = int(sb.get("evicted", 0))
        first = iso_sec(ftf[0]["ts"]) if ftf else START
        limit = BURST + RATE * (START + DURATION - 1 - first)
        ndrop = sum(int(r["count"]) for r in drops)
        print("B: holddown 0: %d evictions (triggers); JSON file: %d flow_table_full, %d other alerts, "
              "%d alerts_dropped lines counting %d; limit %d + %d/s x %d s = %d" % (
                  ev_b, len(ftf), others, len(drops), ndrop, BURST, RATE, START + DURATION - 1 - first, limit))
        check(ev_b == evicted, "B: %d evictions, A had %d" % (ev_b, evicted))
        check(0 < len(ftf) <= limit, "B: %d flow_table_full records, limit %d" % (len(ftf), limit))
        check(len(ftf) + others + ndrop >= ev_b and len(ftf) + ndrop <= ev_b + others + 1000,
              "B: emitted %d + dropped %d do not account for %d triggers" % (len(ftf) + others, ndrop, ev_b))
        lf = sum(1 for l in textb.splitlines() if l.startswith("alert="))
        check(lf == len(recs), "B: %d logfmt lines, %d JSON records" % (lf, len(recs)))
        cpu_a, cpu_b = user + sy, ub + syb
        print("B: wall %.1f s, cpu %.1f s, %.0f packets/s (wall), %.0f packets/s (cpu); A/B cpu rate ratio %.2f, "
              "peak resident %d KiB" % (wb, cpu_b, pkts / wb, pkts / cpu_b, cpu_a / cpu_b, rssb))
        # CPU time, not wall: two cores shared with other work. 1.5x is far
        # above the noise seen (< 15%) and far below what blocking on the
        # sink for 4.9 million records would cost.
        check(cpu_b < 1.5 * cpu_a + 2, "B: the alert flood slowed the run: cpu %.1f s vs %.1f s" % (cpu_b, cpu_a))
        check(rssb * 1024 < BOUND, "B: peak resident %d KiB over the bound" % rssb)
        shutil.rmtree(os.path.join(work, "rrd-b"))
        os.unlink(pcap)

    if "C" in os.environ.get("FLOOD_CASES", "ABC"):
        case_c(work, fg, subs)
    print("flood: %s" % ("pass" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


def case_c(work, fg, subs):
    """100,000 triggers in 3 s of packet time."""
    n_c, maxf_c = 101000, 1000
    pcap_c = os.path.join(work, "burst.pcap")
    run([fg, "-w", pcap_c, "-n", str(n_c), "-s", str(START * 10**6), "-d", "3000000", "-v", "0", "-6", "0",
         "-S", "11"])
    # Alerts also go to a syslog collector over UDP (RFC 5424, one record
    # a datagram): a socket here, its buffer forced large enough for the
    # whole bounded output, so that what arrives is what was sent.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        udp.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)	# SO_RCVBUFFORCE (root)
    except OSError:
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.5)
    grams = []

    def receive():
        idle = 0
        while idle < 4:
            try:
                grams.append(udp.recv(65536).decode(errors="replace"))
                idle = 0
            except socket.timeout:
                idle += 1 if done.is_set() else 0
    done = threading.Event()
    rx = threading.Thread(target=receive)
    rx.start()
    conf_c = os.path.join(work, "c.conf")
    write_conf(os.path.join(work, "conf", "spanwatch.conf"), conf_c, subs,
               "\n[sensor]\nmax_flows = %d\n\n[alerts]\nholddown = 0\nsyslog = udp://127.0.0.1:%d\n" % (
                   maxf_c, udp.getsockname()[1]))
    rc, sc, textc, recs, (wc, uc, syc, rssc) = sensor(work, "c", conf_c, pcap_c, os.path.join(work, "rrd-c"),
                                                      syslog=True)
    done.set()
    rx.join()
    udp.close()
    ftf = [r for r in recs if r.get("alert") == "flow_table_full"]
    drops = [r for r in recs if r.get("alert") == "alerts_dropped"]
    ndrop = sum(int(r["count"]) for r in drops)
    triggers = n_c - maxf_c
    # SYN i is at START + 3 s x i / (n - 1); SYNs maxf_c .. n - 1 each
    # evict a flow. The token bucket of alert.c, in whole seconds of
    # packet time: BURST tokens at the first raise, RATE more each second.
    tokens, last, want = BURST, None, 0
    per_s = {}
    for i in range(maxf_c, n_c):
        sec = START + (3000000 * i // (n_c - 1)) // 10**6
        if last is not None and sec > last:
            tokens = min(BURST, tokens + RATE * (sec - last))
        last = sec
        if tokens:
            tokens -= 1
            want += 1
            per_s[sec] = per_s.get(sec, 0) + 1
    print("C: %d triggers in 3 s; JSON file: %d flow_table_full (want %d: per second %s), "
          "%d alerts_dropped lines counting %d; summary alerts=%s evicted=%s; wall %.2f s" % (
              triggers, len(ftf), want, [per_s[k] for k in sorted(per_s)], len(drops), ndrop,
              sc.get("alerts"), sc.get("evicted"), wc))
    got_s = {}
    for r in ftf:
        got_s[iso_sec(r["ts"])] = got_s.get(iso_sec(r["ts"]), 0) + 1
    check(got_s == per_s, "C: flow_table_full per second %s, want %s" % (sorted(got_s.items()), sorted(per_s.items())))
    check(int(sc.get("evicted", 0)) == triggers, "C: evicted %s, want %d" % (sc.get("evicted"), triggers))
    check(len(ftf) == want, "C: %d flow_table_full records, want %d" % (len(ftf), want))
    check(int(sc.get("alerts", -1)) == len(ftf), "C: summary alerts=%s, JSON has %d" % (sc.get("alerts"), len(ftf)))
    check(len(drops) >= 1 and len(ftf) + ndrop == triggers,
          "C: %d emitted + %d counted as dropped != %d triggers" % (len(ftf), ndrop, triggers))
    check(len(recs) == len(ftf) + len(drops), "C: unexpected records %s" % [
        r for r in recs if r.get("alert") not in ("flow_table_full", "alerts_dropped")][:3])
    # <PRI>1 TS HOST APP PROCID MSGID - alert=KIND ...
    kinds = [g.split(" - ", 1)[1].split()[0] if " - " in g else g for g in grams]
    n_ftf = kinds.count("alert=flow_table_full")
    n_drop = kinds.count("alert=alerts_dropped")
    print("C: syslog over UDP received %d records: %d flow_table_full, %d alerts_dropped" % (
        len(grams), n_ftf, n_drop))
    check(n_ftf == len(ftf) and n_drop == len(drops) and len(grams) == len(recs),
          "C: syslog got %d records (%d flow_table_full, %d alerts_dropped), JSON %d (%d, %d)" % (
              len(grams), n_ftf, n_drop, len(recs), len(ftf), len(drops)))



if __name__ == "__main__":
    sys.exit(main())
