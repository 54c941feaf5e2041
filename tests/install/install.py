#!/usr/bin/python3
"""Issue 13: spanwatch installed as a Debian-style service.

1. `make install DESTDIR=ROOT PREFIX=/usr` (and PREFIX=/usr/local): every
   file in its place, units pointing at the prefix's binaries, nothing in
   /lib/systemd whatever the prefix.
2. The man pages render without a warning and name every option of
   --help, every key of the example configuration, every alert kind raised
   in the sources, exit statuses, signals and files.
3. systemd-sysusers --root makes the spanwatch system user,
   systemd-tmpfiles --root makes its folders with the owner and modes an
   operator expects; the unit's ReadWritePaths all exist then and hold
   every path the installed configuration writes.
4. systemd-analyze verify passes on the installed units (paths pointed into
   ROOT, since no systemd runs here), and systemd-analyze security rates
   the sensor's unit "OK".
5. The unit's ExecStart, run as the unit would run it (its
   CapabilityBoundingSet and NoNewPrivileges through setpriv, its UMask,
   the installed configuration with paths moved into ROOT and the two
   EDIT THIS lines set, a throwaway system user in place of spanwatch), in
   a network namespace fed by tcpreplay with a generated capture in three
   parts (each with one spam bot):
     * unedited, it exits 2 with one line naming the interface;
     * -D returns 0 with the sensor dropped: no uid 0, no capability,
       NoNewPrivs; a second start exits 1 naming the first one's pid;
     * each part's bot is alerted (smtp_direct), nobody else;
     * `mv` + SIGHUP, then the installed logrotate file (run for real),
       each put the next part's alerts and flow lines in the new files and
       none in the rotated ones;
     * SIGTERM removes the pidfile; sensor.rrd packets equal the
       generator's total and every subscriber's bytes its truth.
6. `make uninstall` removes what install put: all of it, except the state
   and a configuration the operator edited.
Needs root; prints SKIP otherwise.
"""
import glob
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "live"))
import gentruth  # noqa: E402
import rrdsum  # noqa: E402
import live  # noqa: E402  (its two namespaces joined by a veth pair)

TAG = live.TAG
USER = TAG + "u"            # the throwaway stand-in for spanwatch
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)
    return ok


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def sh(*args, **kw):
    r = run(*args, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode, (r.stdout + r.stderr).strip()))
    return r


# ---- 1. the files ---------------------------------------------------------

INSTALLED = {   # path under ROOT with PREFIX=/usr: mode
    "usr/bin/spanwatch": 0o755,
    "usr/bin/spanwatch-graph": 0o755,
    "usr/share/man/man8/spanwatch.8": 0o644,
    "usr/share/man/man8/spanwatch-graph.8": 0o644,
    "usr/lib/systemd/system/spanwatch.service": 0o644,
    "usr/lib/systemd/system/spanwatch-graph.service": 0o644,
    "usr/lib/systemd/system/spanwatch-graph.timer": 0o644,
    "usr/lib/sysusers.d/spanwatch.conf": 0o644,
    "usr/lib/tmpfiles.d/spanwatch.conf": 0o644,
    "etc/logrotate.d/spanwatch": 0o644,
    "etc/spanwatch/spanwatch.conf": 0o644,
    "etc/default/spanwatch": 0o644,
    "usr/share/doc/spanwatch/examples/spanwatch.conf": 0o644,
    "usr/share/doc/spanwatch/examples/subscribers.txt": 0o644,
    "usr/share/doc/spanwatch/examples/torrent-allowlist.txt": 0o644,
    "usr/share/doc/spanwatch/examples/clickhouse.sql": 0o644,
}


def make(target, root, prefix, extra=()):
    return run("make", "-C", TOP, "--no-print-directory", target, "DESTDIR=" + root, "PREFIX=" + prefix, *extra)


def files_under(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def unit_service(path):
    """The [Service] (or [Timer]) settings of a unit file: {key: [values]}."""
    res = {}
    with open(path) as fp:
        for line in fp:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            res.setdefault(k.strip(), []).append(v.strip())
    return res


def check_install(root, prefix):
    r = make("install", root, prefix)
    if not check(r.returncode == 0, "make install PREFIX=%s exits 0" % prefix):
        print(r.stdout[-2000:] + r.stderr[-2000:])
        return False
    sub = prefix.strip("/")
    missing, badmode = [], []
    for p, mode in INSTALLED.items():
        q = os.path.join(root, p.replace("usr/", sub + "/", 1) if p.startswith("usr/") else p)
        if not os.path.isfile(q):
            missing.append(q)
        elif os.stat(q).st_mode & 0o7777 != mode:
            badmode.append("%s %o" % (q, os.stat(q).st_mode & 0o7777))
    check(not missing, "PREFIX=%s: every file installed (%s)" % (prefix, ", ".join(missing) or len(INSTALLED)))
    check(not badmode, "PREFIX=%s: modes 755 for programs, 644 for the rest (%s)" % (prefix, ", ".join(badmode)))
    check(not os.path.exists(os.path.join(root, "lib")), "PREFIX=%s: nothing in /lib (units under the prefix)" % prefix)
    udir = os.path.join(root, sub, "lib/systemd/system")
    for u in ("spanwatch.service", "spanwatch-graph.service"):
        if os.path.exists(os.path.join(udir, u)):
            ex = unit_service(os.path.join(udir, u)).get("ExecStart", [""])[0]
            check(ex.startswith("/%s/bin/" % sub), "PREFIX=%s: %s runs /%s/bin/: %s" % (prefix, u, sub, ex.split()[0]))
    return not missing


# ---- 2. the man pages -----------------------------------------------------

def man_text(path):
    """The page as plain text, unhyphenated, on long lines; groff's
    warnings (there should be none) as well."""
    warn = run("groff", "-man", "-ww", "-z", "-Tutf8", path).stderr.strip()
    txt = run("groff", "-man", "-Tascii", "-rHY=0", "-rLL=250n", "-P-c", "-P-b", "-P-u", path).stdout
    return txt, warn


def check_manpages(root):
    man8 = os.path.join(root, "usr/share/man/man8")
    sw, warn = man_text(os.path.join(man8, "spanwatch.8"))
    check(warn == "", "spanwatch.8 renders without a groff warning (%s)" % warn[:300])
    gr, warn = man_text(os.path.join(man8, "spanwatch-graph.8"))
    check(warn == "", "spanwatch-graph.8 renders without a groff warning (%s)" % warn[:300])

    def options(prog):
        h = run(os.path.join(root, "usr/bin", prog), "--help").stdout
        return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[A-Za-z])\b", h)))

    for prog, txt in (("spanwatch", sw), ("spanwatch-graph", gr)):
        opts = options(prog)
        miss = [o for o in opts if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), txt)]
        check(opts and not miss, "%s(8) names every option of --help (%d; missing %s)" % (prog, len(opts), miss))
    # Every key of the example configuration, under its section.
    keys, sec = [], None
    with open(os.path.join(root, "etc/spanwatch/spanwatch.conf")) as fp:
        for line in fp:
            m = re.match(r"^\[(\w+)\]", line)
            if m:
                sec = m.group(1)
            m = re.match(r"^#?([a-z_]+) = ", line)
            if m and sec:
                keys.append((sec, m.group(1)))
    secs = {s: txt_section(sw, "[%s]" % s) for s, _ in keys}
    miss = ["[%s] %s" % (s, k) for s, k in keys if not re.search(r"\b%s\b" % k, secs[s] or "")]
    check(len(keys) >= 33 and not miss, "spanwatch(8) describes every key of spanwatch.conf (%d; missing %s)"
          % (len(keys), miss))
    kinds = set()
    for f in glob.glob(os.path.join(TOP, "sensor/**/*.c"), recursive=True) + glob.glob(os.path.join(TOP, "collectors/**/*.c"), recursive=True):
        with open(f) as fp:
            kinds |= set(re.findall(r'alerts_raise\([^,]+,\s*"([a-z_]+)"', fp.read()))
    kinds.add("alerts_dropped")
    miss = sorted(k for k in kinds if k not in sw)
    check(len(kinds) >= 6 and not miss, "spanwatch(8) describes every alert kind (%s; missing %s)"
          % (", ".join(sorted(kinds)), miss))
    need = ["EXIT STATUS", "SIGNALS", "FILES", "SIGHUP", "SIGTERM", "SIGINT", "/etc/spanwatch/spanwatch.conf",
            "/var/lib/spanwatch/rrd", "/var/log/spanwatch/alerts.json", "/var/log/spanwatch/flows.tsv",
            "/run/spanwatch/spanwatch.pid", "/etc/default/spanwatch", "spanwatch.service",
            "spanwatch-graph.timer", "/etc/logrotate.d/spanwatch"]
    miss = [n for n in need if n not in sw]
    check(not miss, "spanwatch(8) has exit statuses, signals and every installed file (missing %s)" % miss)
    return sw


def txt_section(txt, head):
    """The text from the line that is head alone (a config section's
    heading in the man page) to the next heading."""
    m = re.search(r"^\s*%s\s*$.*?(?=^\s*\[\w+\]\s*$|^[A-Z]|\Z)" % re.escape(head), txt, re.S | re.M)
    return m.group(0) if m else None


# ---- 3., 4. users, folders, units -----------------------------------------

# What an operator expects, independent of the tmpfiles file: path, mode,
# kind (d folder, f file).
FOLDERS = [("var/lib/spanwatch/rrd", 0o750, "d"), ("var/lib/spanwatch/www", 0o755, "d"),
           ("var/log/spanwatch", 0o750, "d"), ("run/spanwatch", 0o755, "d"),
           ("var/log/spanwatch/alerts.json", 0o640, "f")]


def check_sysusers_tmpfiles(root):
    r = run("systemd-sysusers", "--root=" + root)
    check(r.returncode == 0, "systemd-sysusers --root exits 0 (%s)" % r.stderr.strip()[:200])
    ent = None
    with open(os.path.join(root, "etc/passwd")) as fp:
        for line in fp:
            f = line.rstrip("\n").split(":")
            if f[0] == "spanwatch":
                ent = f
    check(ent is not None, "spanwatch user in ROOT/etc/passwd")
    if ent is None:
        return None
    uid, gid = int(ent[2]), int(ent[3])
    check(0 < uid < 1000 and ent[6].endswith("nologin"), "spanwatch is a system user without login (%s)" % ":".join(ent))
    r = run("systemd-tmpfiles", "--create", "--root=" + root)
    check(r.returncode == 0, "systemd-tmpfiles --create --root exits 0 (%s)" % r.stderr.strip()[:200])
    for p, mode, kind in FOLDERS:
        q = os.path.join(root, p)
        ok = os.path.isdir(q) if kind == "d" else os.path.isfile(q)
        st = os.stat(q) if os.path.exists(q) else None
        check(ok and st.st_uid == uid and st.st_gid == gid and st.st_mode & 0o7777 == mode,
              "/%s: %s, spanwatch:spanwatch, %o (%s)" % (p, "folder" if kind == "d" else "file", mode,
                                                        "%d:%d %o" % (st.st_uid, st.st_gid, st.st_mode & 0o7777)
                                                        if st else "missing"))
    unit = unit_service(os.path.join(root, "usr/lib/systemd/system/spanwatch.service"))
    rw = " ".join(unit.get("ReadWritePaths", [])).split()
    check(rw and all(os.path.isdir(os.path.join(root, p.lstrip("/-"))) for p in rw),
          "the unit's ReadWritePaths exist after tmpfiles (%s)" % " ".join(rw))
    # Every path the installed configuration writes is inside them.
    conf = open(os.path.join(root, "etc/spanwatch/spanwatch.conf")).read()
    written = [m.group(2) for m in re.finditer(r"^(dir|json|pidfile) = (\S+)", conf, re.M)]
    opts = default_opts(root)
    written += [a for a in opts if a.startswith("/")]
    outside = [w for w in written if not any(w.startswith(p.rstrip("/") + "/") for p in rw)]
    check(len(written) >= 4 and not outside, "everything the service writes is in ReadWritePaths (%s; outside: %s)"
          % (", ".join(written), outside))
    return uid


def default_opts(root):
    """SPANWATCH_OPTS of /etc/default/spanwatch with its commented example
    taken, as an operator who wants the flow log does."""
    with open(os.path.join(root, "etc/default/spanwatch")) as fp:
        for line in fp:
            m = re.match(r'^#\s*SPANWATCH_OPTS="(.*)"', line)
            if m:
                return shlex.split(m.group(1))
    return []


def check_units(root, work):
    """systemd-analyze on copies of the installed units whose programs
    point into ROOT (verify checks that ExecStart is executable)."""
    d = os.path.join(work, "units")
    os.makedirs(d)
    units = []
    for u in ("spanwatch.service", "spanwatch-graph.service", "spanwatch-graph.timer"):
        with open(os.path.join(root, "usr/lib/systemd/system", u)) as fp:
            txt = fp.read()
        with open(os.path.join(d, u), "w") as fp:
            fp.write(re.sub(r"=/usr/bin/", "=%s/usr/bin/" % root, txt))
        units.append(os.path.join(d, u))
    env = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"))
    r = run("systemd-analyze", "verify", *units, env=env, cwd=d)
    check(r.returncode == 0 and r.stderr.strip() == "", "systemd-analyze verify: no complaint (%s)"
          % r.stderr.strip()[:600])
    for u, limit in (("spanwatch.service", 3.0), ("spanwatch-graph.service", 1.5)):
        r = run("systemd-analyze", "security", "--offline=yes", "--no-pager", os.path.join(d, u))
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        lvl = float(m.group(1)) if m else 99
        check(lvl <= limit, "systemd-analyze security %s: exposure %.1f <= %.1f" % (u, lvl, limit))


# ---- 5. the service, run ---------------------------------------------------

def kill_netns_procs():
    """Whatever this test started in the sensor's namespace (a sensor that
    a failed check left running)."""
    for p in run("ip", "netns", "pids", live.NS_SW).stdout.split():
        try:
            os.kill(int(p), signal.SIGKILL)
        except OSError:
            pass


def read_truth(path):
    """(bots, per-subscriber [bytes_in, bytes_out, unauth, rcpt], total
    packets) from spanwatch-gen's truth."""
    comments, rows = gentruth.read(path)
    return (gentruth.names(comments, "bots"),
            gentruth.sums(rows, ("bytes_in", "bytes_out", "smtp_direct_unauth", "smtp_rcpt")),
            int(gentruth.totals(comments).get("packets", 0)))


PROTO = {"tcp": "6", "udp": "17", "icmp": "1", "ipv6-icmp": "58", "icmp6": "58"}


def flow_key(proto, a, ap, b, bp):
    """Either direction of a flow; the flow log names protocols, the
    truth numbers them."""
    return (PROTO.get(proto, proto),) + tuple(sorted([(a, ap), (b, bp)]))


def truth_flows(path):
    return [(flow_key(r["proto"], r["src"], r["sport"], r["dst"], r["dport"]), r["subscriber"])
            for r in gentruth.read(path)[1]]


def split_capture(work, pcap, subs_file, groups):
    """Three captures, one per group of subscribers (by their prefixes):
    every packet in exactly one of them."""
    pref = {}
    with open(subs_file) as fp:
        for line in fp:
            f = line.split("#")[0].split()
            if len(f) == 2:
                pref.setdefault(f[1], []).append(f[0])
    exprs = ["(" + " or ".join("net " + p for s in g for p in pref[s]) + ")" for g in groups[:2]]
    filters = [exprs[0], "%s and not %s" % (exprs[1], exprs[0]), "not %s and not %s" % (exprs[0], exprs[1])]
    out = []
    for i, flt in enumerate(filters):
        p = os.path.join(work, "part%d.pcap" % i)
        sh("tcpdump", "-r", pcap, "-w", p, flt)
        out.append(p)
    return out


def alerts_in(path):
    res = []
    try:
        with open(path) as fp:
            for line in fp:
                try:
                    res.append(json.loads(line))
                except ValueError:
                    res.append({"alert": "BAD LINE " + line[:80]})
    except OSError:
        pass
    return res


def wait_alert(path, sub, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if any(a.get("subscriber") == sub for a in alerts_in(path)):
            return True
        time.sleep(0.2)
    return False


def flow_lines(path):
    try:
        with open(path) as fp:
            lines = fp.read().splitlines()
    except OSError:
        return None, []
    return (lines[0] if lines else None), [l.split("\t") for l in lines[1:] if l and not l.startswith("first_ts")]


def service_argv(root, conf, opts):
    """The unit's ExecStart as this machine runs it: the installed binary,
    conf for /etc/spanwatch/spanwatch.conf, ROOT's /run, opts for
    $SPANWATCH_OPTS; wrapped in setpriv with the unit's bounding set and
    no_new_privs, as systemd would start it."""
    unit = unit_service(os.path.join(root, "usr/lib/systemd/system/spanwatch.service"))
    argv = []
    for a in shlex.split(unit["ExecStart"][0]):
        if a == "$SPANWATCH_OPTS":
            argv += opts
        elif a == "/etc/spanwatch/spanwatch.conf":
            argv.append(conf)
        elif a.startswith("/"):
            argv.append(root + a)
        else:
            argv.append(a)
    caps = " ".join(unit.get("CapabilityBoundingSet", [])).split()
    bset = "-all" + "".join(",+" + c[4:].lower() for c in caps)
    pre = ["setpriv", "--bounding-set=" + bset]
    if unit.get("NoNewPrivileges", ["no"])[0] == "yes":
        pre.append("--no-new-privs")
    umask = int(unit.get("UMask", ["0022"])[0], 8)
    return pre + ["--"] + argv, umask, unit


def start(argv, umask, ns=None):
    full = (["ip", "netns", "exec", ns] if ns else []) + argv
    return subprocess.run(full, capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(umask))


def edited_conf(root, work, subs_file, iface, genconf):
    """The installed configuration as this test's operator edits it:
    folders moved into ROOT, the throwaway user for spanwatch; with iface
    and subs_file also the two EDIT THIS lines, and the generated
    network's relays and exempt subscriber."""
    with open(os.path.join(root, "etc/spanwatch/spanwatch.conf")) as fp:
        txt = fp.read()
    for d in ("/var/lib/spanwatch", "/var/log/spanwatch", "/run/spanwatch"):
        txt = re.sub(r"(?m)^(\w+ = )%s" % d, r"\g<1>%s%s" % (root, d), txt)
    txt = re.sub(r"(?m)^user = spanwatch$", "user = " + USER, txt)
    name = "unedited"
    if iface:
        name = "edited"
        n = 0
        txt, k = re.subn(r"(?m)^#interface = .*$", "interface = " + iface, txt)
        n += k
        txt, k = re.subn(r"(?m)^#file = .*$", "file = " + subs_file, txt)
        n += k
        check(n == 2, "the installed configuration has the two lines to edit (#interface, #file)")
        smtp = [l for l in open(genconf).read().splitlines() if re.match(r"^(relays|ports|exempt) = ", l)]
        txt = txt.replace("\n[smtp]\n", "\n[smtp]\n" + "\n".join(smtp + ["spf = off"]) + "\n", 1)
    path = os.path.join(work, "spanwatch-%s.conf" % name)
    with open(path, "w") as fp:
        fp.write(txt)
    os.chmod(path, 0o644)
    return path


def run_service(root, work, uid_root):
    gen = os.path.join(SW_BIN, "spanwatch-gen")
    pcap = os.path.join(work, "g.pcap")
    sh(gen, "-q", "-w", pcap, "--truth", os.path.join(work, "truth.tsv"), "--conf-dir", os.path.join(work, "gen"),
       "--seed", "9", "--subscribers", "30", "--duration", "60", "--rate", "25", "--v6-share", "0", "--bots", "3")
    bots, truth, total = read_truth(os.path.join(work, "truth.tsv"))
    subs_file = os.path.join(work, "gen", "subscribers.txt")
    names = sorted(truth)
    others = [s for s in names if s not in bots]
    groups = [[bots[i]] + others[i::3] for i in range(3)]
    parts = split_capture(work, pcap, subs_file, groups)
    tf = truth_flows(os.path.join(work, "truth.flows.tsv"))
    group_of = {s: i for i, g in enumerate(groups) for s in g}
    flow_part = {}
    for k, s in tf:
        flow_part.setdefault(k, set()).add(group_of.get(s, 2))
    max_sessions, max_rcpt = 20, 100       # the installed defaults
    must = {b for b in bots if truth[b][2] > max_sessions or truth[b][3] > max_rcpt}
    check(must == set(bots), "every bot passes the alert limits in the truth (%s)"
          % ", ".join("%s unauth=%d rcpt=%d" % (b, truth[b][2], truth[b][3]) for b in bots))

    # The folders as tmpfiles made them, given to the stand-in user.
    pw = pwd.getpwnam(USER)
    for p, _, _ in FOLDERS:
        q = os.path.join(root, p)
        if os.path.exists(q) and os.stat(q).st_uid == uid_root:
            os.chown(q, pw.pw_uid, pw.pw_gid)
    for d in (work, os.path.join(work, "gen")):
        os.chmod(d, 0o755)
    run_dir, log_dir = os.path.join(root, "run/spanwatch"), os.path.join(root, "var/log/spanwatch")
    rrd = os.path.join(root, "var/lib/spanwatch/rrd")
    pidfile = os.path.join(run_dir, "spanwatch.pid")
    alerts, flows = os.path.join(log_dir, "alerts.json"), os.path.join(log_dir, "flows.tsv")
    opts = [root + a if a.startswith("/") else a for a in default_opts(root)]
    check(opts == ["--flow-log", flows], "/etc/default/spanwatch offers the flow log (%s)" % opts)

    # Before the two edits: one line, exit 2.
    argv, umask, unit = service_argv(root, edited_conf(root, work, None, None, None), opts)
    r = start(argv, umask)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 2 and len(lines) == 1 and "interface" in r.stderr,
          "unedited configuration: exit 2 with one line naming the interface (exit %d, %d lines: %s)"
          % (r.returncode, len(lines), " | ".join(lines[:3])))

    conf = edited_conf(root, work, subs_file, TAG + "b", os.path.join(work, "gen", "spanwatch.conf"))
    r = run(root + "/usr/bin/spanwatch", "-n", "-c", conf)
    check(r.returncode == 0 and r.stdout.strip() == "configuration OK",
          "the installed configuration with its two lines set: -n says configuration OK (%s)"
          % (r.stdout + r.stderr).strip()[:300])
    argv, umask, unit = service_argv(root, conf, opts)
    print("# ExecStart as run here: " + " ".join(argv))
    live.setup()
    t0 = time.time()
    r = start(argv, umask, live.NS_SW)
    check(r.returncode == 0, "-D returns 0 (%.1f s; %s)" % (time.time() - t0, r.stderr.strip()[:300]))
    pid = None
    for _ in range(50):
        try:
            pid = int(open(pidfile).read().split()[0])
            break
        except (OSError, ValueError, IndexError):
            time.sleep(0.1)
    if not check(pid is not None and os.path.exists("/proc/%d" % pid), "pidfile names a running sensor"):
        return
    st = live.status(pid)
    check(all(int(u) == pw.pw_uid for u in st["Uid"].split()) and all(int(g) == pw.pw_gid for g in st["Gid"].split()),
          "when -D returns, the sensor runs as the configured user (Uid %s, Gid %s)" % (st["Uid"], st["Gid"]))
    check(st.get("Groups", "").strip() == "", "no supplementary groups")
    capz = {k: int(st[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb") if k in st}
    check(all(v == 0 for v in capz.values()), "no capability left: %s" % capz)
    check(st.get("NoNewPrivs", "0").strip() == "1", "NoNewPrivs 1")

    # A second start on the same pidfile and folder.
    pids0 = set(run("ip", "netns", "pids", live.NS_SW).stdout.split())
    r = start(argv, umask, live.NS_SW)
    check(r.returncode == 1 and str(pid) in r.stderr,
          "a second start exits 1 naming pid %d (exit %d: %s)" % (pid, r.returncode, r.stderr.strip()[:200]))
    if r.returncode == 0:           # it started: stop it, keep the first
        time.sleep(1)
        for p in set(run("ip", "netns", "pids", live.NS_SW).stdout.split()) - pids0:
            os.kill(int(p), signal.SIGKILL)
        with open(pidfile, "w") as fp:
            fp.write("%d\n" % pid)

    def replay(i, settle):
        """Part i sent, then settle seconds for the sensor: to take what is
        still in its ring, or to end the part's TCP flows (5 s after FIN),
        so that their lines are due before the files are rotated."""
        sh("ip", "netns", "exec", live.NS_GEN, "tcpreplay", "-q", "-i", TAG + "a", "--pps", "4000", parts[i])
        time.sleep(settle)

    # Part 0, then rotation by hand: mv and SIGHUP.
    replay(0, 7)
    check(wait_alert(alerts, bots[0]), "part 0: %s alerted in alerts.json" % bots[0])
    os.rename(alerts, alerts + ".moved")
    os.rename(flows, flows + ".moved") if os.path.exists(flows) else check(False, "flow log %s exists" % flows)
    os.kill(pid, signal.SIGHUP)
    time.sleep(1.5)
    replay(1, 7)
    ok = wait_alert(alerts, bots[1])
    check(ok, "after mv + SIGHUP, part 1's %s alerted in the new alerts.json%s" % (
        bots[1], "" if ok or not any(a.get("subscriber") == bots[1] for a in alerts_in(alerts + ".moved"))
        else " (it went to the moved file: SIGHUP did not reopen)"))

    # Then the installed logrotate file, for real.
    if shutil.which("logrotate"):
        with open(os.path.join(root, "etc/logrotate.d/spanwatch")) as fp:
            lr = fp.read()
        lr = lr.replace("/var/log/spanwatch/", log_dir + "/").replace("/run/spanwatch/", run_dir + "/")
        lr = re.sub(r"\bspanwatch spanwatch\b", "%s %s" % (USER, USER), lr)
        lrconf = os.path.join(work, "logrotate.conf")
        with open(lrconf, "w") as fp:
            fp.write(lr)
        r = run("logrotate", "-f", "-s", os.path.join(work, "logrotate.state"), lrconf)
        check(r.returncode == 0, "logrotate -f with the installed file exits 0 (%s)" % r.stderr.strip()[:300])
        st = os.stat(alerts) if os.path.exists(alerts) else None
        check(st is not None and st.st_uid == pw.pw_uid and st.st_mode & 0o777 == 0o640,
              "logrotate created a new alerts.json, the user's, 0640")
        time.sleep(1.5)
        replay(2, 1)
        ok = wait_alert(alerts, bots[2])
        check(ok, "after logrotate, part 2's %s alerted in the new alerts.json" % bots[2])
        files = [alerts + ".moved", alerts + ".1", alerts]
        # (file, the part it was opened for, the last part it may hold)
        ffiles = [(flows + ".moved", 0, 0), (flows + ".1", 1, 1), (flows, 2, 2)]
        if not os.path.exists(flows + ".1"):
            # Lines not yet written out leave a file empty on disk, and
            # logrotate (notifempty) leaves an empty file alone.
            print("note: flows.tsv was empty on disk at logrotate: not rotated")
            ffiles = [(flows + ".moved", 0, 0), (flows, 1, 2)]
    else:
        print("note: logrotate is not installed: its file is not run; part 2 goes to the same files as part 1")
        replay(2, 1)
        wait_alert(alerts, bots[2])
        files = [alerts + ".moved", alerts, alerts]
        ffiles = [(flows + ".moved", 0, 0), (flows, 1, 2)]

    # Stop.
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 30
    while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
        time.sleep(0.1)
    check(not os.path.exists("/proc/%d" % pid), "SIGTERM: the sensor stops (%.1f s)" % (time.time() - deadline + 30))
    check(not os.path.exists(pidfile), "SIGTERM: the pidfile is removed")

    # Alerts: each part's bot in its part's file, nobody but bots.
    for i in range(3):
        got = alerts_in(files[i])
        direct = {a.get("subscriber") for a in got if a.get("alert") == "smtp_direct"}
        wrong = {a.get("subscriber") for a in got if a.get("alert", "").startswith("smtp")} - set(bots)
        check(bots[i] in direct and not wrong and not (direct & set(bots[i + 1:])),
              "%s: smtp_direct for %s, for no later part's bot, for no non-bot (got %s)"
              % (os.path.basename(files[i]), bots[i], sorted(direct | wrong)))
    all_alerts = [a for f in set(files) for a in alerts_in(f)]
    # Every field of every alert is in the man page.
    sw = man_text(os.path.join(root, "usr/share/man/man8/spanwatch.8"))[0]
    fields = sorted({k for a in all_alerts for k in a})
    miss = [k for k in fields if not re.search(r"\b%s\b" % k, sw)]
    check(fields and not miss, "spanwatch(8) names every field of the alerts seen (%s; missing %s)"
          % (", ".join(fields), miss))

    # Flow lines: no part's flow in an earlier part's file.
    seen = {}
    for i, (f, first, last) in enumerate(ffiles):
        head, rows = flow_lines(f)
        check(head is not None and head.startswith("first_ts\t"), "%s starts with the header" % os.path.basename(f))
        parts_here = {}
        for r in rows:
            k = flow_key(r[2], r[3], r[4], r[5], r[6]) if len(r) > 6 else None
            for p in flow_part.get(k, ()):
                parts_here[p] = parts_here.get(p, 0) + 1
            seen.setdefault(k, set()).add(i)
        later = sum(n for p, n in parts_here.items() if p > last)
        check(parts_here.get(first, 0) > 0 and later == 0, "%s: part %d's flows and none of a part after %d (%s)"
              % (os.path.basename(f), first, last, parts_here))
    lost = [k for k in flow_part if k not in seen]
    check(not lost, "every flow of the truth is in some flow log (%d flows, %d missing)" % (len(flow_part), len(lost)))

    # RRDs against the generator's truth.
    end = int(time.time()) + 120
    sensor = rrdsum.totals(os.path.join(rrd, "sensor.rrd"), end=end)
    check(abs(sensor.get("packets", 0) - total) <= 1 and sensor.get("drops", 0) == 0,
          "sensor.rrd packets = packets sent (%.0f, %d), drops 0" % (sensor.get("packets", 0), total))
    bad = []
    for s, t in truth.items():
        p = os.path.join(rrd, "subscribers", s + ".rrd")
        g = rrdsum.totals(p, end=end) if os.path.exists(p) else {}
        if abs(g.get("bytes_in", 0) - t[0]) > 1 or abs(g.get("bytes_out", 0) - t[1]) > 1:
            bad.append("%s: in %.0f out %.0f, truth %d %d" % (s, g.get("bytes_in", 0), g.get("bytes_out", 0), t[0], t[1]))
    check(not bad, "every subscriber's RRD bytes equal the truth (%d subscribers; %s)" % (len(truth), bad[:3]))

    # The dashboard's unit, run as it says (User=, its ExecStart) on what
    # the sensor wrote.
    g = unit_service(os.path.join(root, "usr/lib/systemd/system/spanwatch-graph.service"))
    gargv = [root + a if a.startswith("/") else a for a in shlex.split(g["ExecStart"][0])]
    gargv = [a.replace(root + "/var/log/spanwatch/alerts.json", files[2]) for a in gargv]
    check(g.get("User") == ["spanwatch"], "the dashboard runs as spanwatch (User=%s)" % g.get("User"))
    r = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups", "--no-new-privs",
                        "--bounding-set=-all", "--"] + gargv, capture_output=True, text=True, timeout=120,
                       preexec_fn=lambda: os.umask(int(g.get("UMask", ["0022"])[0], 8)))
    page = os.path.join(root, "var/lib/spanwatch/www/index.html")
    check(r.returncode == 0 and os.path.exists(page) and bots[2] in open(page).read(),
          "spanwatch-graph.service draws www/index.html with part 2's alert as the user (exit %d: %s)"
          % (r.returncode, r.stderr.strip()[:300]))
    if files[1] == alerts + ".1" and os.path.exists(page):
        # Part 1's alert is in the file logrotate renamed: still the last
        # day's, so still in the index's table of alerts.
        table = re.search(r'<table class="alerts">.*?</table>', open(page).read(), re.S)
        check(table is not None and bots[1] in table.group(0),
              "after logrotate, the index's alert table still lists part 1's %s (from alerts.json.1)" % bots[1])


# ---- 6. uninstall ------------------------------------------------------------

def check_uninstall(root, before):
    r = make("uninstall", root, "/usr")
    check(r.returncode == 0, "make uninstall exits 0 (%s)" % r.stderr.strip()[-300:])
    left = sorted(p for p in files_under(root) if p in before)
    check(not left, "make uninstall removes every installed file (left: %s)" % left)
    # Installed again, the configuration edited: kept.
    make("install", root, "/usr")
    conf = os.path.join(root, "etc/spanwatch/spanwatch.conf")
    with open(conf, "a") as fp:
        fp.write("# edited\n")
    r = make("uninstall", root, "/usr")
    left = sorted(p for p in files_under(root) if p in before)
    check(left == ["etc/spanwatch/spanwatch.conf"] and "kept" in r.stdout,
          "an edited configuration is kept, and said so (left: %s)" % left)
    folders = [p for p, _, k in FOLDERS if k == "d"]
    state = [p for p in folders if os.path.isdir(os.path.join(root, p))]
    check(state == folders and os.path.exists(os.path.join(root, "var/lib/spanwatch/rrd/sensor.rrd")),
          "the state stays: %s and the RRDs" % ", ".join(state))


def main():
    if os.geteuid() != 0:
        print("SKIP: installing into a root, users and network namespaces need root")
        return 77
    for tool in ("systemd-sysusers", "systemd-tmpfiles", "systemd-analyze", "tcpreplay", "tcpdump", "rrdtool",
                 "ip", "setpriv", "useradd", "userdel", "groff", "make"):
        if shutil.which(tool) is None:
            print("SKIP: %s is not installed" % tool)
            return 77
    for prog in ("spanwatch", "spanwatch-graph", "spanwatch-gen"):
        if not os.access(os.path.join(TOP, "bin", prog), os.X_OK):
            print("no bin/%s: run make first" % prog)
            return 1
    work = tempfile.mkdtemp(prefix="sw-install-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "root")
    t0 = time.time()
    try:
        sh("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
           "--shell", "/usr/sbin/nologin", USER)
        check_install(os.path.join(work, "local"), "/usr/local")
        if not check_install(root, "/usr"):
            return 1
        before = files_under(root)
        check_manpages(root)
        uid = check_sysusers_tmpfiles(root)
        check_units(root, work)
        if uid is not None:
            run_service(root, work, uid)
        check_uninstall(root, before)
    finally:
        kill_netns_procs()
        live.teardown()
        run("userdel", USER)
        run("groupdel", USER)
        shutil.rmtree(work, ignore_errors=True)
    print("install: %s in %.0f s" % ("pass" if not failures else "FAIL (%d)" % len(failures), time.time() - t0))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
