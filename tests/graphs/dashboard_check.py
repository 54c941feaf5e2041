#!/usr/bin/python3
"""Checks a dashboard drawn by spanwatch-graph against the generator's truth
and in a real browser. Called by t_dashboard.sh:

    dashboard_check.py SITE TRUTH_TSV ARTIFACT_DIR

- every <img> of index.html and of the subscriber pages names a PNG that
  exists (static check, no browser needed);
- the BitTorrent table names the truth's top five BitTorrent users
  (bt_plain_in + bt_plain_out + bt_enc_in + bt_enc_out: non-allowlisted,
  what the sensor's bt_in + bt_out count) in the truth's order, with their
  byte counts within 1%, and the SMTP table names every bot of the truth
  header (`# bots=`), each with a page;
- Debian's headless Chromium, loading the site from a loopback web server
  and from the file system, finds every image of the index page and of a
  bot's page loaded (the pages' own script writes
  <body data-images="ok N/M"> once loaded), and keeps screenshots in
  ARTIFACT_DIR.

Exit 0 pass, 1 fail, 77 skip (no chromium: the last line says why).
"""
import collections
import functools
import html.parser
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gentruth  # noqa: E402

SITE, TRUTH, ARTIFACTS = sys.argv[1:4]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]
failures = []


def fail(msg):
    print("FAIL: " + msg)
    failures.append(msg)


class Page(html.parser.HTMLParser):
    """The parts of a page the test reads: images, body attributes, and
    the rows of the tables with a class (cells as text, plus links)."""

    def __init__(self):
        super().__init__()
        self.imgs = []
        self.body = {}
        self.tables = collections.defaultdict(list)
        self._table = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "body":
            self.body = a
        elif tag == "table":
            self._table = a.get("class")
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"text": "", "href": None}
        elif tag == "a" and self._cell is not None:
            self._cell["href"] = a.get("href")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row and self._row[0]["text"] != "#":
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def parse(text):
    p = Page()
    p.feed(text)
    return p


def read_truth(path):
    """The bots and each subscriber's BitTorrent bytes (plain and
    encrypted, both ways) of the generator's truth."""
    comments, rows = gentruth.read(path)
    bt = collections.Counter({s: sum(v) for s, v in gentruth.sums(rows, (
        "bt_plain_in", "bt_plain_out", "bt_enc_in", "bt_enc_out")).items()})
    return gentruth.names(comments, "bots"), bt


def bytes_of(text):
    """'19.32 MB' -> 19320000 (the page's powers of 1000)."""
    m = re.match(r"([\d.]+) ([kMGTPE]?)B$", text.strip())
    if not m:
        return None
    return float(m.group(1)) * 1000 ** " kMGTPE".index(m.group(2) or " ")


def static_checks():
    with open(os.path.join(SITE, "index.html")) as f:
        text = f.read()
    index = parse(text)
    # A scale without data yet is said in words, not drawn.
    scales = len([i for i in index.imgs if "-scale-" in i])
    words = text.count('<p class="noscale">')
    if len(index.imgs) - scales < 6 or scales + words != 5:
        fail("index.html has %d images (%d scales, %d scales in words), "
             "expected 6 overview and 5 scales" % (len(index.imgs), scales,
                                                   words))
    for src in index.imgs:
        if not os.path.isfile(os.path.join(SITE, src)):
            fail("index.html: image %s does not exist" % src)
    subdir = os.path.join(SITE, "sub")
    for name in sorted(os.listdir(subdir)):
        if not name.endswith(".html"):
            continue
        with open(os.path.join(subdir, name)) as f:
            page = parse(f.read())
        if len(page.imgs) != 4:
            fail("sub/%s has %d images, expected 4" % (name, len(page.imgs)))
        for src in page.imgs:
            if not os.path.isfile(os.path.join(subdir, src)):
                fail("sub/%s: image %s does not exist" % (name, src))

    bots, bt = read_truth(TRUTH)
    rows = index.tables["top-bt"]
    page_bt = [(r[1]["text"], bytes_of(r[2]["text"])) for r in rows]
    want = [n for n, v in bt.most_common(5) if v > 0]
    print("truth top BitTorrent: " + ", ".join(
        "%s %d" % (n, bt[n]) for n in want))
    print("page  top BitTorrent: " + ", ".join(
        "%s %s" % (n, r[2]["text"]) for (n, _), r in zip(page_bt, rows[:5])))
    # In the truth's order, but two subscribers within 1% of each other
    # may swap: the i-th row must hold the truth's i-th amount.
    got = [n for n, _ in page_bt[:len(want)]]
    for i, name in enumerate(want):
        if i >= len(got) or abs(bt[got[i]] - bt[name]) > 0.01 * bt[name]:
            fail("BitTorrent table starts %s, truth's top %d is %s" %
                 (got, len(want), want))
            break
    for name, val in page_bt:
        if name in want and (val is None or abs(val - bt[name]) >
                             0.01 * bt[name] + 10000):
            fail("BitTorrent bytes of %s: page %s, truth %d" %
                 (name, val, bt[name]))
    for r in rows:
        if not (r[1]["href"] or "").startswith("sub/"):
            fail("BitTorrent row %s has no subscriber page link"
                 % r[1]["text"])

    smtp = {r[1]["text"]: r for r in index.tables["top-smtp"]}
    print("truth bots: %s; SMTP table: %s" % (
        ",".join(bots), ", ".join(
            "%s %s" % (r[1]["text"], r[2]["text"])
            for r in index.tables["top-smtp"][:5])))
    if not bots:
        fail("the truth header names no bots")
    for b in bots:
        if b not in smtp:
            fail("bot %s is not in the direct-SMTP table" % b)
        elif smtp[b][1]["href"] != "sub/%s.html" % b:
            fail("bot %s has no page link" % b)
        elif smtp[b][-1]["text"].strip() in ("", "0", "–"):
            fail("bot %s has no alerts in the table" % b)
    return len(index.imgs), bots


def serve(directory):
    handler = functools.partial(QuietHandler, directory=directory)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def chromium(args, log):
    """Runs headless Chromium with a fresh profile; returns stdout."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [shutil.which("chromium")] + CHROMIUM_FLAGS + [
            "--user-data-dir=" + profile] + args
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log,
                           timeout=180, check=False)
    if r.returncode != 0:
        fail("chromium exited %d (%s)" % (r.returncode, " ".join(args)))
    return r.stdout.decode("utf-8", "replace")


def images_state(dom):
    m = re.search(r'<body[^>]*data-images="([^"]*)"', dom)
    return m.group(1) if m else None


def browser_checks(nimg, bots):
    os.makedirs(ARTIFACTS, exist_ok=True)
    srv = serve(SITE)
    base = "http://127.0.0.1:%d/" % srv.server_address[1]
    sub = "sub/%s.html" % bots[0]
    with open(os.path.join(ARTIFACTS, "graphs-dashboard-chromium.log"),
              "w") as log:
        for url, want in (
                (base + "index.html", nimg),
                ("file://" + os.path.abspath(os.path.join(SITE, "index.html")),
                 nimg),
                (base + sub, 4)):
            dom = chromium(["--virtual-time-budget=10000", "--dump-dom", url],
                           log)
            state = images_state(dom)
            print("chromium %s: data-images=%r" % (url, state))
            if state != "ok %d/%d" % (want, want):
                fail("%s: images %r, expected 'ok %d/%d'" %
                     (url, state, want, want))
            page = parse(dom)
            if url.endswith("index.html"):
                names = [r[1]["text"] for r in page.tables["top-smtp"]]
                for b in bots:
                    if b not in names:
                        fail("%s as rendered: bot %s not in the SMTP table"
                             % (url, b))
        for url, shot, size in (
                (base + "index.html", "graphs-dashboard.png", "1400,5200"),
                (base + sub, "graphs-dashboard-sub.png", "1400,1500")):
            path = os.path.join(os.path.abspath(ARTIFACTS), shot)
            if os.path.exists(path):
                os.unlink(path)
            chromium(["--virtual-time-budget=10000", "--window-size=" + size,
                      "--screenshot=" + path, url], log)
            if not os.path.isfile(path) or os.path.getsize(path) < 10000:
                fail("no screenshot %s" % path)
            else:
                print("screenshot: %s" % path)
    srv.shutdown()


def main():
    nimg, bots = static_checks()
    if shutil.which("chromium") is None:
        if failures:
            return 1
        print("chromium is not installed (tests/install-deps.sh installs "
              "it): browser checks skipped")
        return 77
    browser_checks(nimg, bots)
    if failures:
        print("%d problems" % len(failures))
        return 1
    print("dashboard OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
