#!/usr/bin/python3
"""make bench, ClickHouse part: what the writer costs and what it stores.

Against a local clickhouse-server started here (tests/clickhouse/chtest.py's
ClickHouse class), on one generated capture (SEED, SUBS, DURATION, RATE below):

  rows/s     the writer draining a spool of the whole capture's batches
             (spooled with ClickHouse down, then sent by a restart)
  pps        spanwatch -r on the capture with [clickhouse] on and off
             (median of CH_BENCH_RUNS runs each), per wall and per CPU
             second; and the CPU of the threads ClickHouse adds work to
             (the capture thread formats the rows, the writer's thread
             sends them, the alerts' thread taps alerts): want within 5 %.
             The RRD writer's thread, which does the same librrd work
             either way, is left out of that comparison and printed: its
             file updates take most of the sensor's CPU on this capture
             and swing by a factor of two from run to run.
  bytes/row  subscriber_steps on disk after OPTIMIZE ... FINAL
             (system.parts data_compressed_bytes / rows), and from it the
             paper estimate per subscriber and year against an RRD file
             (1.07 MiB), and the rows/s a million subscribers at a 60 s
             step need.
"""
import os
import resource
import statistics
import sys
import tempfile
import shutil
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "clickhouse"))
sys.path.insert(0, os.path.join(TOP, "tests", "bench"))
import chtest  # noqa: E402
import thread_cpu  # noqa: E402
import swsummary  # noqa: E402  (tests/lib, on the path chtest set)

SEED, SUBS, DURATION, RATE = 19, 3000, 900, 1500	# spanwatch-gen options
RUNS = int(os.environ.get("CH_BENCH_RUNS", "3"))
RRD_MIB = 1.07


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_sw(conf, pcap, rrd):
    """Packets, wall seconds, CPU seconds of the sensor (user + system:
    what it costs on a machine where ClickHouse is elsewhere), and its
    threads' CPU by name (sampled every 10 ms)."""
    shutil.rmtree(rrd, ignore_errors=True)
    c0 = cpu_children()
    with tempfile.TemporaryFile("w+") as err:
        rc, wall, by, _ = thread_cpu.run(chtest.spanwatch_argv(conf, pcap, rrd), interval=0.01, stderr=err)
        err.seek(0)
        text = err.read()
    cpu = cpu_children() - c0
    if rc != 0:
        raise RuntimeError("spanwatch exit %d: %s" % (rc, text[-500:]))
    return int(swsummary.of(text)["packets"]), wall, cpu, by


def main():
    if chtest.ch_server() is None:
        print("clickhouse bench: skipped (no clickhouse-server)")
        return 0
    work = tempfile.mkdtemp(prefix="sw-chbench-")
    try:
        d, pcap = chtest.gen(work, "bench", SEED, SUBS, DURATION, RATE)
        ch = chtest.ClickHouse(work)
        dead = "http://127.0.0.1:%d/" % chtest.free_port()
        # 1. a spool of the whole capture, then drained by a restart
        conf_dead = chtest.write_conf(d, "bench", dead, timeout="1s", name="dead.conf")
        for i in range(4):	# four runs' batches: a drain long enough to time
            run_sw(conf_dead, pcap, os.path.join(d, "rrd-dead%d" % i))
        spool = os.path.join(d, "spool")
        nb = len(os.listdir(spool))
        ch.start()
        try:
            conf_on = chtest.write_conf(d, "bench", ch.url, name="on.conf")
            t0 = time.time()
            p = chtest.spanwatch(conf_on, chtest.empty_pcap(work), os.path.join(d, "rrd-drain"))
            drain_s = time.time() - t0
            rows = int(ch.rows("SELECT count() FROM subscriber_steps")[0][0])
            allrows = rows + int(ch.rows("SELECT count() FROM sensor_steps")[0][0])
            print("clickhouse writer: %d batches, %d rows sent in %.2fs: %.0f rows/s (spool drained by a "
                  "restart, ClickHouse %s on this machine)" % (nb, allrows, drain_s, allrows / drain_s,
                                                              ch.query("SELECT version()").strip()))
            if p.returncode != 0 or os.listdir(spool):
                print("clickhouse bench: the drain failed: " + p.stderr[-300:])
                return 1
            # 2. packet rate, ClickHouse on and off
            conf_off = os.path.join(d, "conf", "spanwatch.conf")
            rate, cpu, near, rrdw, chw = ({"off": [], "on": []} for _ in range(5))
            for _ in range(RUNS):
                for mode, conf in (("off", conf_off), ("on", conf_on)):
                    n, s, c, by = run_sw(conf, pcap, os.path.join(d, "rrd-" + mode))
                    rate[mode].append(n / s)
                    cpu[mode].append(n / c)
                    near[mode].append(sum(v for k, v in by.items() if k != "rrdw"))
                    rrdw[mode].append(by.get("rrdw", 0.0))
                    chw[mode].append(by.get("chw", 0.0))
            med = {k: {m: statistics.median(v[m]) for m in v} for k, v in
                   (("rate", rate), ("cpu", cpu), ("near", near), ("chw", chw))}
            off, on = med["rate"]["off"], med["rate"]["on"]
            coff, con = med["cpu"]["off"], med["cpu"]["on"]
            noff, non = med["near"]["off"], med["near"]["on"]
            print("packet rate, median of %d, wall clock (ClickHouse's server on the same cores): off %.0f pps, "
                  "on %.0f pps: %+.1f %%" % (RUNS, off, on, 100 * (on - off) / off))
            print("packets per CPU second of the whole sensor: off %.0f, on %.0f: %+.1f %% (information: its RRD "
                  "writer's thread took %.2f-%.2f s of CPU over these runs, on or off)"
                  % (coff, con, 100 * (con - coff) / coff, min(rrdw["off"] + rrdw["on"]),
                     max(rrdw["off"] + rrdw["on"])))
            print("CPU of the threads ClickHouse adds work to (capture, alerts, the writer's): off %.3f s, on %.3f s "
                  "(the writer's thread %.3f s): %+.1f %%  target within 5 %%  %s"
                  % (noff, non, med["chw"]["on"], 100 * (non - noff) / noff,
                     "pass" if non <= 1.05 * noff else "miss"))
            # 3. bytes per row on disk
            ch.query("OPTIMIZE TABLE subscriber_steps FINAL")
            parts = ch.rows("SELECT sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM "
                            "system.parts WHERE database = 'spanwatch' AND table = 'subscriber_steps' AND active",
                            db="system")[0]
            prow, comp, unc = int(parts[0]), int(parts[1]), int(parts[2])
            per_row = comp / prow
            hours = ch.rows("SELECT sum(data_compressed_bytes) / sum(rows) FROM system.parts WHERE database = "
                            "'spanwatch' AND table = 'subscriber_hours' AND active", db="system")[0][0]
            steps_year = 365 * 1440
            year = per_row * steps_year + float(hours) * (365 * 24 + 365)
            print("subscriber_steps: %d rows, %.1f bytes/row compressed (%.1f uncompressed, x%.1f); "
                  "subscriber_hours %.1f bytes/row" % (prow, per_row, unc / prow, unc / comp, float(hours)))
            rrdlike = per_row * 1440 + float(hours) * 24 * 62 + float(hours) * 731
            print("estimate, RRD's own retention (steps 1 day, hours 62 days, days 2 years): %.2f MiB per "
                  "subscriber" % (rrdlike / 2**20))
            print("estimate, 60 s step, a subscriber active every step for a year: %.1f MiB in ClickHouse "
                  "(steps + hourly/daily roll-ups; a subscriber silent in a step costs no row) vs %.2f MiB "
                  "per RRD file" % (year / 2**20, RRD_MIB))
            print("estimate, 1,000,000 subscribers at 60 s: %.0f rows/s at most (every one active), %.1f TiB a "
                  "year in ClickHouse before replication vs %.2f TiB of RRD files"
                  % (1e6 / 60, year * 1e6 / 2**40, RRD_MIB * 1e6 / 2**20))
        finally:
            ch.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
