#!/usr/bin/python3
"""Issue 19: spanwatch's ClickHouse writer against a real ClickHouse server.

Every scenario starts Debian's clickhouse-server in a temporary folder on
127.0.0.1 (random free ports, a minimal config.xml), replays captures from
spanwatch-gen through spanwatch with [clickhouse] on, and compares what
ClickHouse holds with independent oracles: the generator's truth (bytes per
subscriber and step), the RRD files rrdtool reads back (every data source),
and the JSON alerts file.

    chtest.py totals    a generated day: sums per data source = truth = RRD;
                        alert rows = JSON alerts; roll-ups = steps
    chtest.py outage    ClickHouse SIGKILLed 3 times during a paced replay;
                        absent for a whole replay, then spanwatch restarted;
                        replies lost after the insert (proxy): exact, no
                        batch twice
    chtest.py spool     spool_max reached: the alert, the counter, exactly
                        the steps beyond the limit missing
    chtest.py two       two sensors, one ClickHouse
    chtest.py broken    a server that answers 500, hangs, or closes mid-reply
    chtest.py live      a live capture stopping while the server hangs:
                        bounded by [clickhouse] timeout
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402

SUB_DS = ["bytes_in", "bytes_out", "bt_in", "bt_out", "bt_allow_in", "bt_allow_out", "p2p_in", "p2p_out",
          "smtp_direct", "smtp_unauth", "smtp_tls", "smtp_rcpt", "smtp_spfpass", "flows"]
SENSOR_DS = ["packets", "bytes", "drops", "flows_new", "unknown_bytes", "bt_bytes", "smtp_sess", "alerts"]

failures = []


def check(ok, msg):
    if not ok:
        failures.append(msg)
        print("FAIL " + msg, flush=True)
    return ok


def say(msg):
    print(msg, flush=True)


def ch_server():
    for c in (["/usr/bin/clickhouse", "server"], ["/usr/sbin/clickhouse-server"], ["/usr/bin/clickhouse-server"]):
        if os.access(c[0], os.X_OK):
            return c
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class ClickHouse:
    """A real server in its own folder; kill() and start() keep its data."""

    def __init__(self, work, name="ch"):
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.http = free_port()
        self.tcp = free_port()
        self.proc = None
        with open(os.path.join(self.dir, "users.xml"), "w") as fp:
            fp.write("""<?xml version="1.0"?>
<yandex><profiles><default></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks>
<profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>
""")
        with open(os.path.join(self.dir, "config.xml"), "w") as fp:
            fp.write("""<?xml version="1.0"?>
<yandex>
 <logger><level>warning</level><log>{d}/log</log><errorlog>{d}/err</errorlog><console>0</console></logger>
 <http_port>{h}</http_port><tcp_port>{t}</tcp_port><listen_host>127.0.0.1</listen_host>
 <path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path><users_config>{d}/users.xml</users_config>
 <default_profile>default</default_profile><default_database>default</default_database>
 <timezone>UTC</timezone><mark_cache_size>5368709120</mark_cache_size>
</yandex>
""".format(d=self.dir, h=self.http, t=self.tcp))

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.http

    def start(self):
        self.proc = subprocess.Popen(ch_server() + ["--config-file=" + os.path.join(self.dir, "config.xml")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
        for _ in range(300):
            try:
                if urllib.request.urlopen(self.url, timeout=1).read() == b"Ok.\n":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("clickhouse-server did not start: " + open(os.path.join(self.dir, "err")).read()[-500:]
                           if os.path.exists(os.path.join(self.dir, "err")) else "clickhouse-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def query(self, sql, db="spanwatch"):
        u = self.url + "?" + urllib.parse.urlencode({"database": db})
        return urllib.request.urlopen(urllib.request.Request(u, data=sql.encode()), timeout=60).read().decode()

    def rows(self, sql, db="spanwatch"):
        return [l.split("\t") for l in self.query(sql, db).splitlines()]


def gen(work, name, seed, subs, duration, rate, extra=()):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    pcap = os.path.join(d, "g.pcap")
    subprocess.run([os.path.join(SW_BIN, "spanwatch-gen"), "-q", "-w", pcap, "--truth", os.path.join(d, "truth.tsv"),
                    "--conf-dir", os.path.join(d, "conf"), "--seed", str(seed), "--subscribers", str(subs),
                    "--duration", str(duration), "--rate", str(rate)] + list(extra), check=True)
    return d, pcap


def write_conf(d, sensor, url, spool_max="1G", timeout="10s", holddown=None, name="spanwatch.conf", retention=None):
    base = open(os.path.join(d, "conf", "spanwatch.conf")).read()
    path = os.path.join(d, "conf", name)
    with open(path, "w") as fp:
        fp.write(base)
        fp.write("\n[alerts]\njson = %s\n" % os.path.join(d, "alerts.json"))
        if holddown is not None:
            fp.write("holddown = %s\n" % holddown)
        fp.write("\n[sensor]\nname = %s\n" % sensor)
        fp.write("\n[clickhouse]\nurl = %s\ndatabase = spanwatch\nspool = %s\nspool_max = %s\ntimeout = %s\n"
                 % (url, os.path.join(d, "spool"), spool_max, timeout))
        if retention:
            fp.write("retention = %s\n" % retention)
    return path


def empty_pcap(work):
    p = os.path.join(work, "empty.pcap")
    with open(p, "wb") as fp:
        fp.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    return p


def spanwatch_argv(conf, pcap, rrd):
    return [os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v", "-c", conf, "-r", pcap, "-o", rrd]


def spanwatch(conf, pcap, rrd, timeout=300, stdin=None):
    t0 = time.time()
    p = subprocess.run(spanwatch_argv(conf, pcap, rrd), capture_output=True, text=True, timeout=timeout,
                       input=stdin)
    p.elapsed = time.time() - t0
    return p


def read_truth(d):
    """{subscriber: {step_end: (bytes_in, bytes_out)}}"""
    return gentruth.steps(gentruth.read(os.path.join(d, "truth.tsv"))[1])


def truth_totals(truth):
    return {s: (sum(v[0] for v in st.values()), sum(v[1] for v in st.values())) for s, st in truth.items()}


def ch_sub_totals(ch, sensor, cols=("bytes_in", "bytes_out")):
    rows = ch.rows("SELECT subscriber, %s FROM subscriber_steps WHERE sensor = '%s' GROUP BY subscriber"
                   % (", ".join("sum(%s)" % c for c in cols), sensor))
    return {r[0]: tuple(int(x) for x in r[1:]) for r in rows}


def close(a, b):
    return abs(a - b) <= max(0.5, 1e-9 * abs(b))


def compare_truth(ch, sensor, d, label):
    want = {s: v for s, v in truth_totals(read_truth(d)).items() if v != (0, 0)}
    got = {s: v for s, v in ch_sub_totals(ch, sensor).items() if v != (0, 0)}
    bad = [s for s in set(want) | set(got) if want.get(s) != got.get(s)]
    check(not bad, "%s: %d subscribers differ from the truth, e.g. %s" %
          (label, len(bad), [(s, want.get(s), got.get(s)) for s in sorted(bad)[:3]]))
    check(len(want) >= 5, "%s: too few subscribers with traffic (%d)" % (label, len(want)))
    tin, tout = sum(v[0] for v in want.values()), sum(v[1] for v in want.values())
    say("%s: %d subscribers, bytes in %d out %d; ClickHouse %s the truth" %
        (label, len(want), tin, tout, "equals" if not bad else "DIFFERS FROM"))
    return tin, tout


def no_duplicates(ch, label):
    dup = ch.rows("SELECT sensor, subscriber, ts, count() AS c FROM subscriber_steps GROUP BY sensor, subscriber, "
                  "ts HAVING c > 1 LIMIT 5")
    dup += ch.rows("SELECT sensor, '', ts, count() AS c FROM sensor_steps GROUP BY sensor, ts HAVING c > 1 LIMIT 5")
    check(not dup, "%s: rows counted twice: %s" % (label, dup))
    b = ch.rows("SELECT count(), uniqExact(batch) FROM sensor_steps")[0]
    say("%s: no (sensor, subscriber, step) row twice; %s sensor rows from %s batches" % (label, b[0], b[1]))


def alerts_json(d):
    p = os.path.join(d, "alerts.json")
    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []


def alert_key_json(a):
    fields = tuple(sorted((k, str(v)) for k, v in a.items() if k not in ("ts", "sensor", "alert", "subscriber",
                                                                          "suppressed")))
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(a["ts"], "%Y-%m-%dT%H:%M:%SZ"))
    return (a["sensor"], ts, a["alert"], a.get("subscriber", ""), str(a.get("suppressed", 0)), fields)


def alert_keys_ch(ch, sensor):
    out = []
    for line in ch.query("SELECT sensor, toString(ts), alert, subscriber, suppressed, field_names, field_values "
                         "FROM alerts WHERE sensor = '%s' FORMAT JSONEachRow" % sensor).splitlines():
        r = json.loads(line)
        out.append((r["sensor"], r["toString(ts)"], r["alert"], r["subscriber"], str(r["suppressed"]),
                    tuple(sorted(zip(r["field_names"], r["field_values"])))))
    return out


# ------------------------------------------------------------ scenarios

def t_totals(work):
    ch = ClickHouse(work)
    ch.start()
    try:
        d, pcap = gen(work, "day", 11, 40, 86400, 1, ["--bots", "1", "--routine", "2", "--bt-share", "0.2"])
        conf = write_conf(d, "pop1", ch.url, retention="30d")
        rrd = os.path.join(d, "rrd")
        p = spanwatch(conf, pcap, rrd)
        check(p.returncode == 0, "spanwatch exit %d: %s" % (p.returncode, p.stderr[-800:]))
        ver = ch.query("SELECT version()", db="default").strip()
        major, minor = (int(x) for x in ver.split(".")[:2])
        said = p.stderr.count("has no table TTL")
        if (major, minor) < (19, 6):
            check(said == 1, "ClickHouse %s: retention without TTL said %d times, want once" % (ver, said))
        else:
            ttl = ch.query("SHOW CREATE TABLE subscriber_steps")
            check("TTL" in ttl and said == 0, "ClickHouse %s: no TTL on subscriber_steps: %s" % (ver, ttl))
        say("retention = 30d on ClickHouse %s: %s" % (ver, "said once that it has no TTL" if said else "TTL set"))
        say("replay of a generated day with ClickHouse on: %.1fs" % p.elapsed)
        compare_truth(ch, "pop1", d, "day")
        # Every data source against the RRD files, which rrdtool reads back.
        got = {r[0]: r[1:] for r in ch.rows("SELECT subscriber, %s FROM subscriber_steps GROUP BY subscriber"
                                            % ", ".join("sum(%s)" % c for c in SUB_DS))}
        ncmp, bad, nonzero = 0, [], set()
        for f in sorted(os.listdir(os.path.join(rrd, "subscribers"))):
            sub = f[:-4]
            tot = rrdsum.totals(os.path.join(rrd, "subscribers", f))
            row = got.get(sub, ["0"] * len(SUB_DS))
            for i, ds in enumerate(SUB_DS):
                ncmp += 1
                if not close(float(row[i]), tot.get(ds, 0.0)):
                    bad.append((sub, ds, row[i], tot.get(ds, 0.0)))
                if int(row[i]):
                    nonzero.add(ds)
        check(not bad, "ClickHouse differs from the RRD files in %d sums, e.g. %s" % (len(bad), bad[:4]))
        check(len(nonzero) >= 8, "too few data sources with counts to compare: %s" % sorted(nonzero))
        say("subscriber sums per data source = RRD totals: %d compared (%d data sources non-zero: %s)"
            % (ncmp, len(nonzero), ",".join(sorted(nonzero))))
        st = rrdsum.totals(os.path.join(rrd, "sensor.rrd"))
        srow = ch.rows("SELECT %s FROM sensor_steps" % ", ".join("sum(%s)" % c for c in SENSOR_DS))[0]
        sbad = [(ds, srow[i], st.get(ds, 0.0)) for i, ds in enumerate(SENSOR_DS) if not close(float(srow[i]),
                                                                                               st.get(ds, 0.0))]
        check(not sbad, "sensor_steps differs from sensor.rrd: %s" % sbad)
        say("sensor_steps sums = sensor.rrd totals (packets %s, bytes %s)" % (srow[0], srow[1]))
        nsteps = int(ch.rows("SELECT count() FROM sensor_steps")[0][0])
        check(nsteps == 1440, "sensor_steps holds %d steps of a day, want 1440" % nsteps)
        # Roll-ups: the same sums by hour and by day.
        h = ch.rows("SELECT sum(bytes_in), sum(flows), sum(steps) FROM subscriber_hours")[0]
        dd = ch.rows("SELECT sum(bytes_in), sum(flows), sum(steps) FROM subscriber_days")[0]
        s = ch.rows("SELECT sum(bytes_in), sum(flows), count() FROM subscriber_steps")[0]
        check(h == s and dd == s, "roll-ups differ: steps %s hours %s days %s" % (s, h, dd))
        sh = ch.rows("SELECT sum(packets), sum(steps) FROM sensor_hours")[0]
        check(sh == [srow[0], str(nsteps)], "sensor_hours %s, steps %s %d" % (sh, srow[0], nsteps))
        say("hourly and daily roll-ups = the steps: %s" % s)
        # Alerts: the same records as the JSON file.
        want = sorted(alert_key_json(a) for a in alerts_json(d))
        have = sorted(alert_keys_ch(ch, "pop1"))
        check(want == have, "alerts rows differ from the JSON alerts: %d vs %d, e.g. %s" %
              (len(have), len(want), sorted(set(want) ^ set(have))[:2]))
        check(len(want) >= 3, "too few alerts to compare (%d)" % len(want))
        say("alerts: %d rows = the JSON file's %d records (%s)" % (len(have), len(want),
            ",".join(sorted({a[2] for a in want}))))
        no_duplicates(ch, "day")
    finally:
        ch.stop()


def paced(proc, data, seconds, chunks):
    for i in range(chunks):
        proc.stdin.write(data[i * len(data) // chunks:(i + 1) * len(data) // chunks])
        proc.stdin.flush()
        time.sleep(seconds / chunks)
    proc.stdin.close()


class Loopback:
    """A listener on 127.0.0.1 (a free port) with a thread per connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def close(self):
        self.sock.close()


class LosingProxy(Loopback):
    """Forwards to the real server, and for every other INSERT drops the
    reply once ClickHouse has taken the rows: the sensor cannot know."""

    def __init__(self, target_port):
        self.target = target_port
        self.inserts = 0
        self.lost = 0
        Loopback.__init__(self)

    def conn(self, c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, rest = buf.split(b"\r\n\r\n", 1)
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":")[1])
                while len(rest) < n:
                    d = c.recv(65536)
                    if not d:
                        return
                    rest += d
                body, buf = rest[:n], rest[n:]
                reqline = head.split(b"\r\n")[0].decode()
                path = reqline.split(" ")[1]
                r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%d%s" % (self.target, path),
                                                                  data=body), timeout=30)
                reply = r.read()
                if "INSERT" in urllib.parse.unquote(path):
                    self.inserts += 1
                    if self.inserts % 2 == 1:
                        self.lost += 1
                        c.close()
                        return
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))
        except (OSError, ValueError):
            pass
        finally:
            c.close()


def t_outage(work):
    ch = ClickHouse(work)
    ch.start()
    try:
        # 1. SIGKILL three times while a paced replay runs.
        d, pcap = gen(work, "paced", 21, 30, 3600, 15)
        conf = write_conf(d, "pop1", ch.url, timeout="2s")
        data = open(pcap, "rb").read()
        proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v", "-c", conf, "-r",
                                 "-", "-o", os.path.join(d, "rrd")], stdin=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        feeder = threading.Thread(target=paced, args=(proc, data, 9.0, 90))
        feeder.start()
        for _ in range(3):
            time.sleep(1.8)
            ch.kill()
            time.sleep(0.7)
            ch.start()
        feeder.join()
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait(120)
        check(rc == 0, "paced run exit %d: %s" % (rc, err[-800:]))
        check(err.count("batches wait in the spool") >= 1, "the outages were not noticed: %s" % err[-800:])
        say("paced replay, ClickHouse SIGKILLed 3 times: %d outages logged" % err.count("batches wait in the spool"))
        compare_truth(ch, "pop1", d, "SIGKILL x3")
        no_duplicates(ch, "SIGKILL x3")
        left = os.listdir(os.path.join(d, "spool"))
        check(not left, "spool not empty after the run: %s" % left[:3])

        # 2. Absent for a whole replay; then started, and spanwatch restarted.
        d2, pcap2 = gen(work, "absent", 22, 30, 3600, 15)
        ch2 = ClickHouse(work, "ch2")
        conf2 = write_conf(d2, "pop2", ch2.url, timeout="2s")
        p = spanwatch(conf2, pcap2, os.path.join(d2, "rrd"))
        check(p.returncode == 0, "replay without ClickHouse exit %d: %s" % (p.returncode, p.stderr[-800:]))
        n = len(os.listdir(os.path.join(d2, "spool")))
        check(n == 60 and "stay in the spool" in p.stderr, "spool holds %d batches, want 60 (one per step): %s"
              % (n, p.stderr[-500:]))
        ch2.start()
        try:
            p = spanwatch(conf2, empty_pcap(work), os.path.join(d2, "rrd"))
            check(p.returncode == 0, "restart exit %d: %s" % (p.returncode, p.stderr[-800:]))
            check("from an earlier run" in p.stderr, "restart did not take up the spool: %s" % p.stderr[-500:])
            check(not os.listdir(os.path.join(d2, "spool")), "spool not drained")
            say("absent for the whole replay: %d batches spooled, sent after the restart" % n)
            compare_truth(ch2, "pop2", d2, "absent")
            no_duplicates(ch2, "absent")
        finally:
            ch2.stop()

        # 3. Replies lost after ClickHouse took the rows: resent batches are
        #    recognised, not counted twice.
        d3, pcap3 = gen(work, "lost", 23, 30, 3600, 15)
        proxy = LosingProxy(ch.http)
        conf3 = write_conf(d3, "pop3", "http://127.0.0.1:%d/" % proxy.port, timeout="2s")
        p = spanwatch(conf3, pcap3, os.path.join(d3, "rrd"))
        check(p.returncode == 0, "lossy-reply run exit %d: %s" % (p.returncode, p.stderr[-800:]))
        found = int(p.stderr.split(" found there already")[0].rsplit(",", 1)[1]) if " found there already" in \
            p.stderr else -1
        # A run may end with its spool kept (a failure while stopping): send it.
        if os.listdir(os.path.join(d3, "spool")):
            p = spanwatch(conf3, empty_pcap(work), os.path.join(d3, "rrd"))
            if " found there already" in p.stderr:
                found += int(p.stderr.split(" found there already")[0].rsplit(",", 1)[1])
        # What proves it is the truth and no row twice, below; this only
        # shows that retries did find rows there. How many depends on where
        # the lost replies fall (a retry asks for every table of its
        # group, after one loss or two): at least one.
        check(proxy.lost >= 2 and found >= 1, "too few lost replies to prove it: %d lost, %d found" %
              (proxy.lost, found))
        say("%d INSERT replies lost after the insert; %d tables of batches found there on retry" %
            (proxy.lost, found))
        compare_truth(ch, "pop3", d3, "lost replies")
        no_duplicates(ch, "lost replies")
    finally:
        ch.stop()


def t_spool(work):
    d, pcap = gen(work, "spool", 31, 60, 7200, 20)
    dead = "http://127.0.0.1:%d/" % free_port()
    conf = write_conf(d, "pop1", dead, spool_max="60k", timeout="1s", holddown="0")
    mport = free_port()
    with open(conf, "a") as fp:
        fp.write("\n[sensor]\nmetrics = 127.0.0.1:%d\n" % mport)
    # Read from a pipe held open, so that the health endpoint can be asked
    # while the sensor runs; then the end of the input ends the run.
    proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v", "-c", conf, "-r", "-",
                             "-o", os.path.join(d, "rrd")], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(open(pcap, "rb").read())
    proc.stdin.flush()
    health = {}
    for _ in range(100):
        time.sleep(0.2)
        try:
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read().decode()
        except OSError:
            continue
        health = dict(l.split(" ", 1) for l in text.splitlines() if l.startswith("spanwatch_clickhouse_"))
        if int(health.get("spanwatch_clickhouse_dropped_total", "0")) >= 60:
            break
    proc.stdin.close()
    err = proc.stderr.read().decode(errors="replace")
    rc = proc.wait(120)
    say("health while running: " + ", ".join("%s=%s" % (k[len("spanwatch_clickhouse_"):], v.strip())
                                              for k, v in sorted(health.items())))
    check(health.get("spanwatch_clickhouse_up", "").strip() == "0", "health says ClickHouse is up: %s" % health)
    check(int(health.get("spanwatch_clickhouse_dropped_total", "0")) >= 60 and
          int(health.get("spanwatch_clickhouse_rows_dropped_total", "0")) > 0,
          "health does not count the dropped batches: %s" % health)
    check(int(health.get("spanwatch_clickhouse_spool_bytes", "0")) <= 60000 and
          int(health.get("spanwatch_clickhouse_spool_batches", "0")) > 10, "health's spool figures: %s" % health)
    check(rc == 1, "a run that lost rows must not exit 0 (exit %d)" % rc)
    line = [l for l in err.splitlines() if " dropped (" in l and "batches (" in l]
    check(bool(line), "no ClickHouse summary: %s" % err[-500:])
    dropped = int(line[0].split(" found there already, ")[1].split(" ")[0]) if line else -1
    rows_dropped = int(line[0].split(" dropped (")[1].split(" ")[0]) if line else -1
    logged = [l for l in err.splitlines() if "dropped: the spool is full" in l]
    logged_rows = sum(int(l.split("(")[1].split(" ")[0]) for l in logged)
    full_alerts = [a for a in alerts_json(d) if a["alert"] == "clickhouse_spool_full"]
    spooled = len(os.listdir(os.path.join(d, "spool")))
    say("spool_max 60k, ClickHouse down: %d batches spooled, %d dropped (%d rows), %d alerts" %
        (spooled, dropped, rows_dropped, len(full_alerts)))
    check(dropped > 10 and spooled > 10, "the limit should keep some batches and drop others")
    # 120 steps, and at the end the alerts raised after the last one (the
    # spool-full alerts themselves) in a batch of their own.
    check(spooled + dropped in (120, 121), "spooled %d + dropped %d: not the 120 steps (+1)" % (spooled, dropped))
    check(len(full_alerts) == dropped, "%d clickhouse_spool_full alerts for %d dropped batches" %
          (len(full_alerts), dropped))
    check(len(logged) == dropped and logged_rows == rows_dropped, "log lines %d (%d rows) vs counter %d (%d)" %
          (len(logged), logged_rows, dropped, rows_dropped))
    # The spool never passed its limit.
    size = sum(os.path.getsize(os.path.join(d, "spool", f)) for f in os.listdir(os.path.join(d, "spool")))
    check(size <= 60000, "spool holds %d bytes, limit 60000" % size)

    ch = ClickHouse(work)
    ch.start()
    try:
        conf2 = write_conf(d, "pop1", ch.url, spool_max="60k", timeout="1s", holddown="0", name="up.conf")
        p = spanwatch(conf2, empty_pcap(work), os.path.join(d, "rrd"))
        check(p.returncode == 0, "restart exit %d: %s" % (p.returncode, p.stderr[-500:]))
        steps = [int(r[0]) for r in ch.rows("SELECT toUInt32(ts) FROM sensor_steps ORDER BY ts")]
        truth = read_truth(d)
        first = min(min(st) for st in truth.values())
        cut = first + 60 * (spooled - 1)
        check(steps == list(range(first, cut + 1, 60)), "ClickHouse holds steps %s..%s (%d), want the first %d"
              % (steps[:1], steps[-1:], len(steps), spooled))
        # Exactly the rows of the kept steps: per subscriber and step, the
        # truth's bytes up to the cut, nothing after.
        got = {(r[0], int(r[1])): (int(r[2]), int(r[3])) for r in
               ch.rows("SELECT subscriber, toUInt32(ts), bytes_in, bytes_out FROM subscriber_steps")}
        want = {(s, t): v for s, st in truth.items() for t, v in st.items() if t <= cut and v != (0, 0)}
        gotnz = {k: v for k, v in got.items() if v != (0, 0)}
        check(gotnz == want, "rows up to the cut differ from the truth: %d vs %d, e.g. %s" %
              (len(gotnz), len(want), sorted(set(gotnz.items()) ^ set(want.items()))[:3]))
        beyond = sum(v[0] + v[1] for s, st in truth.items() for t, v in st.items() if t > cut)
        check(beyond > 0, "nothing beyond the cut")
        nrows = len(got) + len(steps) + int(ch.rows("SELECT count() FROM alerts")[0][0])
        say("kept: %d steps, %d rows (= truth up to the cut); missing: %d batches, %d rows, %d bytes of traffic"
            % (len(steps), nrows, dropped, rows_dropped, beyond))
    finally:
        ch.stop()


def t_two(work):
    ch = ClickHouse(work)
    ch.start()
    try:
        tot = [0, 0]
        truths = []
        for i, (seed, name) in enumerate(((41, "east"), (42, "west"))):
            d, pcap = gen(work, name, seed, 25, 3600, 15)
            conf = write_conf(d, name, ch.url)
            p = spanwatch(conf, pcap, os.path.join(d, "rrd"))
            check(p.returncode == 0, "%s exit %d: %s" % (name, p.returncode, p.stderr[-500:]))
            tin, tout = compare_truth(ch, name, d, "sensor " + name)
            tot[0] += tin
            tot[1] += tout
            truths.append(truth_totals(read_truth(d)))
        allrow = ch.rows("SELECT sum(bytes_in), sum(bytes_out), uniqExact(sensor) FROM subscriber_steps")[0]
        check([int(allrow[0]), int(allrow[1])] == tot and allrow[2] == "2",
              "both sensors together %s, truths' sum %s" % (allrow, tot))
        # The same subscriber names behind both sensors stay apart.
        common = set(truths[0]) & set(truths[1])
        per = {(r[0], r[1]): int(r[2]) for r in
               ch.rows("SELECT sensor, subscriber, sum(bytes_in) FROM subscriber_steps GROUP BY sensor, subscriber")}
        bad = [s for s in common if per.get(("east", s), 0) != truths[0][s][0] or
               per.get(("west", s), 0) != truths[1][s][0]]
        check(not bad, "subscribers of both sensors mixed: %s" % bad[:3])
        say("two sensors, one ClickHouse: together in %d out %d = the truths' sum; %d names in both kept apart"
            % (tot[0], tot[1], len(common)))
        no_duplicates(ch, "two sensors")
    finally:
        ch.stop()


class BrokenServer(Loopback):
    """Plays a ClickHouse gone wrong: '500' answers every request with an
    error, 'hang' reads the request and never answers, 'close' sends half
    a reply and closes."""

    def __init__(self, mode):
        self.mode = mode
        self.requests = 0
        self.held = []
        Loopback.__init__(self)

    def conn(self, c):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                if b"\r\n\r\n" not in d:
                    continue
                self.requests += 1
                if self.mode == "500":
                    body = b"Code: 1000, e.displayText() = DB::Exception: injected failure\n"
                    c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n%s"
                              % (len(body), body))
                elif self.mode == "hang":
                    self.held.append(c)
                    time.sleep(600)
                elif self.mode == "close":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n18.16")
                    break
        except OSError:
            pass
        finally:
            if self.mode != "hang":
                c.close()


def t_broken(work):
    d, pcap = gen(work, "broken", 51, 20, 1200, 15)
    ch = None
    for mode in ("500", "hang", "close"):
        srv = BrokenServer(mode)
        conf = write_conf(d, "pop1", "http://127.0.0.1:%d/" % srv.port, timeout="1s")
        shutil.rmtree(os.path.join(d, "spool"), ignore_errors=True)
        shutil.rmtree(os.path.join(d, "rrd"), ignore_errors=True)
        p = spanwatch(conf, pcap, os.path.join(d, "rrd"), timeout=120)
        n = len([f for f in os.listdir(os.path.join(d, "spool")) if f.endswith(".chb")])
        check(p.returncode == 0, "%s: exit %d: %s" % (mode, p.returncode, p.stderr[-500:]))
        check("runtime error" not in p.stderr and "Sanitizer" not in p.stderr, "%s: %s" % (mode, p.stderr[-800:]))
        check(n == 20, "%s: spool holds %d batches, want all 20" % (mode, n))
        check(srv.requests >= 1, "%s: the server was never asked" % mode)
        check(p.elapsed < 40, "%s: the run took %.0fs" % (mode, p.elapsed))
        check("stay in the spool" in p.stderr, "%s: the log does not say the spool keeps them" % mode)
        say("server that %s: exit %d after %.1fs, %d requests, spool keeps %d of 20 batches" %
            ({"500": "answers 500", "hang": "hangs", "close": "closes mid-reply"}[mode], p.returncode, p.elapsed,
             srv.requests, n))
        srv.close()
    # The batches the broken servers kept reach a real one, each once.
    ch = ClickHouse(work)
    ch.start()
    try:
        conf = write_conf(d, "pop1", ch.url, name="real.conf")
        p = spanwatch(conf, empty_pcap(work), os.path.join(d, "rrd"))
        check(p.returncode == 0, "real server: exit %d: %s" % (p.returncode, p.stderr[-500:]))
        compare_truth(ch, "pop1", d, "after the broken servers")
        no_duplicates(ch, "after the broken servers")
    finally:
        ch.stop()


def t_live(work):
    """A live capture (on lo) stopping while ClickHouse hangs: the stop waits
    at most [clickhouse] timeout, and the batches stay in the spool."""
    if os.geteuid() != 0:
        print("SKIP: a live capture needs root")
        sys.exit(77)
    d, _ = gen(work, "live", 61, 5, 60, 5)
    srv = BrokenServer("hang")
    conf = write_conf(d, "pop1", "http://127.0.0.1:%d/" % srv.port, timeout="3s")
    with open(conf, "a") as fp:
        fp.write("\n[rrd]\nstep = 20\n[capture]\ninterface = lo\nfilter = udp port 9\n")
    proc = subprocess.Popen([os.path.join(SW_BIN, "spanwatch"), "--no-syslog", "-v", "-c", conf, "-o",
                             os.path.join(d, "rrd")], stderr=subprocess.PIPE)
    # Two steps of 20 s end (the sensor's rows), then the stop.
    t_end = (int(time.time()) // 20 + 2) * 20 + 2
    while time.time() < t_end:
        time.sleep(0.5)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read().decode(errors="replace")
    rc = proc.wait(60)
    took = time.time() - t0
    n = len([f for f in os.listdir(os.path.join(d, "spool")) if f.endswith(".chb")])
    check(rc == 0, "live stop exit %d: %s" % (rc, err[-500:]))
    check(took < 3 + 4, "the stop took %.1fs with timeout = 3s" % took)
    check(n >= 2, "spool holds %d batches, want the two steps' at least" % n)
    check("stay in the spool" in err, "the log does not say what stays: %s" % err[-500:])
    say("live capture, ClickHouse hanging: stopped %.1fs after SIGTERM (timeout 3s), %d batches stay in the "
        "spool" % (took, n))
    srv.close()


def main():
    name = sys.argv[1]
    if ch_server() is None:
        print("SKIP: no ClickHouse server binary (/usr/bin/clickhouse or /usr/sbin/clickhouse-server): "
              "install clickhouse-server")
        return 77
    work = tempfile.mkdtemp(prefix="sw-ch-")
    t0 = time.time()
    try:
        {"totals": t_totals, "outage": t_outage, "spool": t_spool, "two": t_two, "broken": t_broken,
         "live": t_live}[name](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say("clickhouse %s: %s (%.0fs)" % (name, "pass" if not failures else "FAIL (%d)" % len(failures),
                                       time.time() - t0))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
