#!/usr/bin/python3
"""Issue 19: spanwatch-graph's top tables from a real ClickHouse.

A generated capture goes through spanwatch with [clickhouse] on; then the
RRD files of two of the truth's top BitTorrent users are deleted and
spanwatch-graph draws the site with the same configuration. Oracle: the
generator's truth (bt_plain + bt_enc per subscriber: what bt_in + bt_out
count).

- ClickHouse up: the BitTorrent table lists the truth's top five in its
  order with its byte counts (within 1%), the two without a file among
  them marked "from ClickHouse", without a link or a page; exit 0.
  Bytes within 3% + 10 kB (the sensor counts a flow once identified),
  and for subscribers with a file the same figure the files give.
- a broken server (bad field, missing field, overlong line, bad name,
  HTTP 500): the error with its line number, exit 1, the files' tables.
- ClickHouse stopped: a warning naming ClickHouse, exit 1, and the table
  drawn from the files (the truth's order without the two deleted).

Uses chtest.py's server and helpers.
"""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chtest  # noqa: E402
from chtest import check, say  # noqa: E402


# dashboard_check.py reads its arguments when imported; its parser, truth
# reader and byte parser are what this test needs too.
_argv, sys.argv = sys.argv, [sys.argv[0], "", "", ""]
sys.path.insert(0, os.path.join(chtest.TOP, "tests", "graphs"))
import dashboard_check  # noqa: E402
sys.argv = _argv


def truth_bt(d):
    return dashboard_check.read_truth(os.path.join(d, "truth.tsv"))[1]


bytes_of = dashboard_check.bytes_of


def graph(conf, rrd, site):
    shutil.rmtree(site, ignore_errors=True)
    p = subprocess.run([os.path.join(chtest.SW_BIN, "spanwatch-graph"), "-c", conf, "-o", rrd, "-w", site],
                       capture_output=True, text=True, timeout=600)
    ix = os.path.join(site, "index.html")
    t = dashboard_check.parse(open(ix).read() if os.path.exists(ix) else "")
    rows = [(r[1]["text"], r[1]["href"], bytes_of(r[2]["text"])) for r in t.tables["top-bt"]]
    return p, rows


def same_order(label, rows, want, bt):
    """The i-th row holds the truth's i-th amount (two within 1% may swap)."""
    got = [n.replace("from ClickHouse", "") for n, _, _ in rows]
    for i, name in enumerate(want):
        if i >= len(got) or abs(bt.get(got[i], 0) - bt[name]) > 0.01 * bt[name]:
            check(False, "%s: BitTorrent table %s, truth's order %s" % (label, got, want))
            return
    for n, _, v in rows[:len(want)]:
        n = n.replace("from ClickHouse", "")
        # The sensor counts a BitTorrent flow from its first identified
        # packet on: a few percent under the generator's whole flows.
        check(v is not None and abs(v - bt[n]) <= 0.03 * bt[n] + 10000,
              "%s: BitTorrent bytes of %s: page %s, truth %d" % (label, n, v, bt[n]))
    say("%s: top BitTorrent %s = the truth's order and bytes" % (label, ", ".join(
        "%s %d" % (n, bt[n]) for n in want)))


def t_graph(work):
    ch = chtest.ClickHouse(work)
    ch.start()
    try:
        d, pcap = chtest.gen(work, "g", 7, 60, 7200, 50, ["--bt-share", "0.3"])
        conf = chtest.write_conf(d, "pop1", ch.url)
        rrd, site = os.path.join(d, "rrd"), os.path.join(d, "site")
        p = chtest.spanwatch(conf, pcap, rrd)
        check(p.returncode == 0, "spanwatch exit %d: %s" % (p.returncode, p.stderr[-800:]))
        bt = truth_bt(d)
        top = [n for n, v in bt.most_common(5) if v > 0]
        check(len(top) == 5, "the truth has %d BitTorrent users, want 5" % len(top))
        gone = [top[0], top[2]]
        for n in gone:
            os.unlink(os.path.join(rrd, "subscribers", n + ".rrd"))
        say("deleted the RRD files of %s (truth's #1 and #3)" % ", ".join(gone))

        p, rows = graph(conf, rrd, site)
        check(p.returncode == 0, "spanwatch-graph with ClickHouse: exit %d: %s" % (p.returncode, p.stderr[-800:]))
        same_order("ClickHouse up", rows, top, bt)
        for n, href, _ in rows:
            name = n.replace("from ClickHouse", "")
            if name in gone:
                check(n.endswith("from ClickHouse") and href is None,
                      "%s (no file) is not marked from ClickHouse without a link: %r %r" % (name, n, href))
                check(not os.path.exists(os.path.join(site, "sub", name + ".html")),
                      "a page was drawn for %s, which has no file" % name)
            else:
                check(href == "sub/%s.html" % name and "ClickHouse" not in n,
                      "%s has a file but no page link: %r %r" % (name, n, href))
        check(all(any(r[0].startswith(g) for r in rows) for g in gone), "a deleted subscriber is missing")
        say("subscribers without a file: listed, marked from ClickHouse, no link, no page")

        ch_rows = {n: v for n, _, v in rows}
        other = chtest.write_conf(d, "pop9", ch.url, name="other.conf")
        p, rows9 = graph(other, rrd, site)
        check(p.returncode == 1 and "no rows of sensor 'pop9'" in p.stderr and len(rows9) >= 3,
              "a sensor ClickHouse does not know: exit %d, %d rows: %s" % (p.returncode, len(rows9), p.stderr[-500:]))
        say("a sensor name ClickHouse has no rows for: exit %d, warned, tables from the files" % p.returncode)
        ch.stop()
        p, rows = graph(conf, rrd, site)
        check(p.returncode == 1, "spanwatch-graph with ClickHouse stopped: exit %d, want 1" % p.returncode)
        warned = [l for l in p.stderr.splitlines() if "ClickHouse" in l and "RRD files" in l]
        check(len(warned) == 1, "no single warning about ClickHouse: %s" % p.stderr[-800:])
        say("ClickHouse stopped: exit %d, warned: %s" % (p.returncode, warned[:1]))
        same_order("ClickHouse stopped", rows, [n for n in top if n not in gone], bt)
        check(not any(r[0] in gone for r in rows), "deleted subscribers still listed without ClickHouse")
        diff = [(n, v, ch_rows.get(n)) for n, _, v in rows if n in ch_rows and ch_rows[n] != v]
        check(not diff and len(rows) >= 3, "ClickHouse and the files differ: %s" % diff)
        say("ClickHouse's amounts = the files' for the %d subscribers with a file" % len(rows))
        # A broken server (the only fake here): bad replies are errors
        # with their line number, the files' tables, exit 1.
        for label, body, want in (
                ("a field not a count", b"cust-0001" + b"\t1" * 14 + b"\ncust-0002\t1\tx" + b"\t1" * 12 + b"\n",
                 "reply line 2: field 3 (bytes_out) is not a count"),
                ("a field missing", b"cust-0001" + b"\t1" * 13 + b"\n", "reply line 1: fewer fields"),
                ("an overlong line", b"cust-0001" + b"\t1" * 2000 + b"\n", "reply line 1: longer than"),
                ("a bad name", b"a b" + b"\t1" * 14 + b"\n", "reply line 1: subscriber name refused"),
                ("HTTP 500", None, "HTTP 500")):
            srv = fake_server(body)
            bad = chtest.write_conf(d, "pop1", "http://127.0.0.1:%d/" % srv.server_port, name="bad.conf")
            p, rows = graph(bad, rrd, site)
            srv.shutdown()
            check(p.returncode == 1 and want in p.stderr and len(rows) >= 3,
                  "%s: exit %d, %d rows, stderr %s" % (label, p.returncode, len(rows), p.stderr[-500:]))
            say("reply with %s: exit %d, '%s', tables from the files" % (label, p.returncode, want))
    finally:
        ch.stop()


def fake_server(body):
    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200 if body is not None else 500)
            self.end_headers()
            self.wfile.write(body if body is not None else b"Code: 60. DB::Exception: no such table\n")

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    if chtest.ch_server() is None:
        print("SKIP: no ClickHouse server binary (/usr/bin/clickhouse or /usr/sbin/clickhouse-server): "
              "install clickhouse-server")
        return 77
    work = tempfile.mkdtemp(prefix="sw-chg-")
    t0 = time.time()
    try:
        t_graph(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say("clickhouse graph: %s (%.0fs)" % ("pass" if not chtest.failures else "FAIL (%d)" % len(chtest.failures),
                                         time.time() - t0))
    return 0 if not chtest.failures else 1


if __name__ == "__main__":
    sys.exit(main())
