#!/usr/bin/python3
"""The operator's views of a dashboard drawn by spanwatch-graph -c (issue
18), checked against independent oracles: the generator's truth and
configuration (subscribers.txt, the allowlist, the exempt MTA), the
sensor's alerts JSON read with Python's json module, and Debian's headless
Chromium running the page's own search. Called by t_views.sh:

    views_check.py SITE SITE_B CONF_DIR TRUTH ALERTS SENSOR GRAPH_CMD ARTIFACTS

SITE_B is the same data drawn with another -n: its images must differ
from SITE's only in the title band (the name is drawn in the title).

Exit 0 pass, 1 fail, 77 skip (no chromium: the last line says why).
"""
import html.parser
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gentruth  # noqa: E402

SITE, SITE_B, CONF, TRUTH, ALERTS, SENSOR, ARTIFACTS = sys.argv[1:8]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars"]
failures = []


def fail(msg):
    print("FAIL: " + msg)
    failures.append(msg)


def ok(msg):
    print("ok   " + msg)


class Dom(html.parser.HTMLParser):
    """Tables by class (rows of cells: text, links, mark classes), images,
    body attributes, elements by class, all text."""

    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self.body, self.text = {}, [], {}, []
        self.cls = {}
        self.meta = []
        self._t = self._r = self._c = None
        self._stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        c = a.get("class") or ""
        for k in c.split():
            self.cls.setdefault(k, []).append(a)
        if tag == "meta":
            self.meta.append(a)
        if tag == "img":
            self.imgs.append(a)
        elif tag == "body":
            self.body = a
        elif tag == "table":
            self._t = c
            self.tables.setdefault(c, [])
        elif tag == "tr" and self._t is not None:
            self._r = {"attrs": a, "cells": []}
        elif tag in ("td", "th") and self._r is not None:
            self._c = {"text": "", "href": None, "marks": [], "tag": tag}
        elif tag == "a" and self._c is not None:
            self._c["href"] = a.get("href")
        elif tag == "span" and self._c is not None and "mark" in c.split():
            self._c["marks"].append((c, a.get("title", "")))

    def handle_data(self, data):
        self.text.append(data)
        if self._c is not None:
            self._c["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._c is not None:
            self._r["cells"].append(self._c)
            self._c = None
        elif tag == "tr" and self._r is not None:
            if self._r["cells"] and self._r["cells"][0]["tag"] == "td":
                self.tables[self._t].append(self._r)
            self._r = None
        elif tag == "table":
            self._t = None


def parse(text):
    d = Dom()
    d.feed(text)
    return d


def chromium(url, log, extra=()):
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([shutil.which("chromium")] + FLAGS + [
            "--user-data-dir=" + prof, "--virtual-time-budget=10000"] +
            list(extra) + [url], stdout=subprocess.PIPE, stderr=log,
            timeout=180, check=False)
    if r.returncode != 0:
        fail("chromium exited %d on %s" % (r.returncode, url))
    return r.stdout.decode("utf-8", "replace")


def url(path, q=None):
    u = "file://" + os.path.abspath(path)
    return u + ("?q=" + q if q is not None else "")


def read_map():
    m = {}
    with open(os.path.join(CONF, "subscribers.txt")) as f:
        for line in f:
            line = line.split("#")[0].split()
            if len(line) == 2:
                m.setdefault(line[1], []).append(ipaddress.ip_network(line[0], strict=False))
    return m


def png_rows(path):
    """The filtered scanlines of a PNG (no decoder here: identical pixels
    give identical lines once the line above is identical too)."""
    d = open(path, "rb").read()
    i, idat, w = 8, b"", None
    while i < len(d):
        n, = struct.unpack(">I", d[i:i + 4])
        t = d[i + 4:i + 8]
        if t == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", d[i + 8:i + 18])
        elif t == b"IDAT":
            idat += d[i + 8:i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(idat)
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype] * depth / 8
    line = 1 + int(w * bpp + 0.999)
    return [raw[k:k + line] for k in range(0, len(raw), line)]


def main():
    comments, rows = gentruth.read(TRUTH)
    truth = gentruth.columns(rows)
    smap = read_map()
    bots = gentruth.names(comments, "bots")
    exempt = gentruth.names(comments, "exempt")
    allow = [a.split(" ", 1)[1] for a in gentruth.values(comments, "allow") if " " in a]
    with open(os.path.join(SITE, "index.html")) as f:
        index_html = f.read()
    index = parse(index_html)

    # --- one clock, refresh, sensor name ---------------------------------
    refresh = [m for m in index.meta if m.get("http-equiv") == "refresh"]
    if not refresh or refresh[0].get("content") != "60":
        fail("index: no meta refresh at the 60 s step (%s)" % refresh)
    if "graph axes included, is UTC" not in index_html:
        fail("index does not say once that every time is UTC")
    if "local time" in index_html:
        fail("index still speaks of local time")
    names = [a for a in index.cls.get("sensor", [])]
    h2 = re.findall(r'<h2 class="sensor">([^<]*)</h2>', index_html)
    if h2 != [SENSOR]:
        fail("sections named %s, expected [%s]" % (h2, SENSOR))
    else:
        ok("section named %s (from -c's [sensor] name)" % SENSOR)

    # The name is drawn in the title band: the same graphs drawn with
    # another -n differ there and only there.
    checked = 0
    for img in sorted(os.listdir(os.path.join(SITE, "img"))):
        a = png_rows(os.path.join(SITE, "img", img))
        b = png_rows(os.path.join(SITE_B, "img", img))
        diff = [y for y in range(min(len(a), len(b))) if a[y] != b[y]]
        if len(a) != len(b) or not diff or max(diff) > 40:
            fail("img/%s: with another -n, rows %s differ (expected some, all "
                 "in the title band)" % (img, diff[:3] + ["..."] + diff[-3:]))
        checked += 1
    ok("%d sensor images carry the sensor's name in their title" % checked)

    # --- the alerts: every field, linked ----------------------------------
    with open(ALERTS) as f:
        alerts = [json.loads(l) for l in f if l.strip()]
    rows = index.tables.get("alerts", [])
    if not alerts:
        fail("the alerts file is empty: no bot was alerted")
    if len(rows) != min(len(alerts), 20):
        fail("alert table has %d rows, the file %d alerts" % (len(rows), len(alerts)))
    shown = {(r["cells"][0]["text"], r["cells"][2]["text"].replace("exempt MTA", "")): r
             for r in rows}
    for a in alerts[-20:]:
        key = (a["ts"].replace("T", " ").replace("Z", " UTC"), a.get("subscriber", "–"))
        r = shown.get(key)
        if r is None:
            fail("alert %s of %s not in the table" % key)
            continue
        ev = r["cells"][3]["text"]
        for k, v in a.items():
            if k in ("ts", "alert", "subscriber", "sensor"):
                continue
            if "%s=%s" % (k, v) not in ev:
                fail("alert %s: field %s=%s not shown (%s)" % (key, k, v, ev))
        href = r["cells"][2]["href"] or ""
        if not (href == "sub/%s.html" % a["subscriber"] or
                href == "index.html?q=%s#find" % a["subscriber"]):
            fail("alert %s: subscriber link %s" % (key, href))
    ok("%d alert rows, every JSON field shown as key=value, linked" % len(rows))

    # --- exempt and allowlisted marks ----------------------------------------
    smtp = index.tables.get("top-smtp", [])
    for e in exempt:
        r = [r for r in smtp if r["cells"][1]["text"].startswith(e)]
        if not r:
            fail("exempt %s not in the SMTP table" % e)
        elif not any("exempt" in c for c, _ in r[0]["cells"][1]["marks"]):
            fail("exempt %s has no exempt mark in the SMTP table" % e)
        else:
            ok("exempt MTA %s marked in the SMTP table" % e)
    for r in smtp:
        n = r["cells"][1]["text"].replace("exempt MTA", "")
        if r["cells"][1]["marks"] and n not in exempt:
            fail("%s marked exempt but not in [smtp] exempt" % n)
    bt = index.tables.get("top-bt", [])
    marked = 0
    for r in bt:
        n = r["cells"][1]["text"]
        allowed = truth.get(n, {}).get("bt_allow_in", 0) + truth.get(n, {}).get("bt_allow_out", 0)
        m = [c for c, _ in r["cells"][5]["marks"] if "allow" in c]
        if bool(m) != (allowed > 0):
            fail("%s: allowlisted mark %s, truth's allowlisted bytes %d" % (n, bool(m), allowed))
        marked += bool(m)
    listed = [s for s in re.findall(r'<span class="torrent">([^<]*)</span>', index_html)]
    if sorted(listed) != sorted(allow):
        fail("allowlist names on the page %s, the allowlist's %s" % (listed, allow))
    else:
        ok("%d allowlisted rows marked; the allowlist's %d torrents named" % (marked, len(allow)))
    if marked == 0:
        fail("no allowlisted BitTorrent user in the BitTorrent table to mark")

    # --- scales and Hurst: words, not empty panels ---------------------------
    noscale = re.findall(r'<p class="noscale">Last (\w+):', index_html)
    scale_imgs = [i["src"] for i in index.imgs if "scale-" in i["src"]]
    if len(noscale) + len(scale_imgs) != 5 or "year" not in noscale:
        fail("scales: drawn %s, said empty %s (two hours of data: the year has none)"
             % (scale_imgs, noscale))
    else:
        ok("scales drawn %s; said in words: %s" % (
            [s.split("scale-")[1][:-4] for s in scale_imgs], noscale))
    hl = re.search(r'<p class="hurst-line[^"]*">(.*?)</p>', index_html)
    if not hl or "±" not in hl.group(1):
        fail("no one-line Hurst estimate with its standard error")
    else:
        ok("Hurst: " + re.sub("<[^>]+>", "", hl.group(1)))
    if "<details><summary>How it is estimated" not in index_html:
        fail("the Hurst method is not folded away")

    if shutil.which("chromium") is None:
        print("chromium is not installed (tests/install-deps.sh installs it): "
              "browser checks skipped")
        return 1 if failures else 77

    # --- in the browser: the search, a lazily drawn page ---------------------
    os.makedirs(ARTIFACTS, exist_ok=True)
    log = open(os.path.join(ARTIFACTS, "graphs-views-chromium.log"), "w")
    with open(os.path.join(SITE, "subindex.js")) as f:
        pages = set(re.findall(r'"([A-Za-z0-9._-]+)":1', f.read().split("SW_PAGES")[1]))
    quiet = sorted((n for n in smap if n not in pages),
                   key=lambda n: sum(truth.get(n, {}).get(k, 0) for k in ("bytes_in", "bytes_out")))
    name = quiet[0]
    nets = smap[name]
    print("a subscriber without a page: %s %s" % (name, " ".join(map(str, nets))))

    dom = chromium(url(os.path.join(SITE, "index.html"), name), log, ["--dump-dom"])
    d = parse(dom)
    hits = d.tables.get("found", [])
    if not hits or hits[0]["attrs"].get("data-name") != name:
        fail("search by name %s: rows %s" % (name, [h["attrs"].get("data-name") for h in hits]))
    else:
        pre = hits[0]["cells"][2]["text"].split()
        if sorted(pre) != sorted(map(str, nets)):
            fail("search %s: prefixes %s, the map's %s" % (name, pre, nets))
        ok("search by name %s: found, prefixes %s" % (name, " ".join(pre)))
    cmd = d.cls.get("draw")
    draw = re.search(r'<p class="note draw">[^<]*?: (spanwatch-graph [^<]*?) --subscriber NAME</p>', dom)
    if draw is None:
        fail("no command for a page not drawn yet")

    # An address inside each of its prefixes, not the first one.
    for net in nets:
        addr = str(net.network_address + (3 if net.num_addresses > 4 else 0))
        dom = chromium(url(os.path.join(SITE, "index.html"), addr), log, ["--dump-dom"])
        hits = parse(dom).tables.get("found", [])
        got = [h["attrs"].get("data-name") for h in hits]
        if got != [name]:
            fail("search by address %s: %s, expected [%s]" % (addr, got, name))
        else:
            ok("search by address %s (in %s): %s" % (addr, net, name))
    dom = chromium(url(os.path.join(SITE, "index.html"), "192.0.2.200"), log, ["--dump-dom"])
    if parse(dom).tables.get("found") or 'data-found="0"' not in dom:
        fail("an address outside every prefix found someone")
    for q, shot in ((name, "graphs-views-search.png"), (None, "graphs-views-index.png")):
        p = os.path.join(os.path.abspath(ARTIFACTS), shot)
        chromium(url(os.path.join(SITE, "index.html"), q), log,
                 ["--window-size=1400,%d" % (1400 if q else 6000), "--screenshot=" + p])
        if not os.path.isfile(p) or os.path.getsize(p) < 10000:
            fail("no screenshot " + p)

    if draw is not None:
        import html as h
        c = h.unescape(draw.group(1))
        t0 = time.time()
        r = subprocess.run(["sh", "-c", c.replace("spanwatch-graph", GRAPH, 1) +
                            " --subscriber " + name], capture_output=True, text=True)
        dt = time.time() - t0
        if r.returncode != 0:
            fail("the page's command exited %d: %s" % (r.returncode, r.stderr[-500:]))
        else:
            ok("the page's command drew sub/%s.html in %.2f s" % (name, dt))
    subs = [name] + bots[:1] + exempt[:1]
    for n in subs:
        page = os.path.join(SITE, "sub", n + ".html")
        dom = chromium(url(page), log, ["--dump-dom"])
        d = parse(dom)
        st = d.body.get("data-images")
        if st != "ok 4/4":
            fail("sub/%s.html: images %s, expected ok 4/4" % (n, st))
        if SENSOR not in re.findall(r'<h2 class="sensor">([^<]*)</h2>', dom):
            fail("sub/%s.html: no section named %s" % (n, SENSOR))
        pre = re.search(r'<code class="prefixes">([^<]*)</code>', dom)
        if not pre or sorted(pre.group(1).split()) != sorted(map(str, smap[n])):
            fail("sub/%s.html: prefixes %s, the map's %s" % (n, pre and pre.group(1), smap[n]))
        mine = [a for a in alerts if a.get("subscriber") == n]
        hist = d.tables.get("alerts", [])
        if len(hist) != min(len(mine), 50):
            fail("sub/%s.html: %d alerts in its history, the file %d" % (n, len(hist), len(mine)))
        if n in exempt and "exempt MTA" not in dom:
            fail("sub/%s.html: exempt, not marked" % n)
        ok("sub/%s.html: 4/4 images, prefixes, %d alerts in its history" % (n, len(hist)))
    p = os.path.join(os.path.abspath(ARTIFACTS), "graphs-views-sub.png")
    chromium(url(os.path.join(SITE, "sub", bots[0] + ".html")), log,
             ["--window-size=1400,1500", "--screenshot=" + p])

    # --- no nan on any page, as the browser renders it ----------------------
    pages = [os.path.join(SITE, "index.html")] + [
        os.path.join(SITE, "sub", n + ".html") for n in subs]
    for pg in pages:
        dom = chromium(url(pg), log, ["--dump-dom"])
        text = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        if re.search(r"\bnan\b", text, re.I):
            fail("%s: 'nan' on the page" % pg)
    ok("no nan on %d pages" % len(pages))
    return 1 if failures else 0


GRAPH = sys.argv[8] if len(sys.argv) > 8 else "spanwatch-graph"
if __name__ == "__main__":
    rc = main()
    print("%d problems" % len(failures) if failures else "views OK")
    sys.exit(rc)
