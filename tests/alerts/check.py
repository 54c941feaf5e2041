#!/usr/bin/python3
"""check.py — the alert script tests' helper (see t_rsyslog.sh, t_devlog.sh).

  check.py recv SOCKET OUT READY COUNT   receive COUNT datagrams (or stop
      after 5 s of silence) on a unix datagram socket, as syslog(3) sends
      them to /dev/log; write each as a JSON string per line, raw bytes
      kept (latin-1), and touch READY once bound.
  check.py rsyslog LOG RUN JSON          check what rsyslog wrote for run RUN
  check.py devlog OUT RUN JSON           check what syslog(3) sent for RUN

Both checks also validate the driver's JSON file. What alertdrv.c raises,
and so what must arrive, is spelled out in expected() below.
"""
import json
import os
import re
import socket
import sys
import time


def expected(run):
    """The logfmt lines of alertdrv's alerts, in order, as bytes."""
    ehlo = ('ehlo="evil\\x0d\\x0a<13>1 2026-01-01T00:00:00Z forged app - - - '
            'alert=fake subscriber=x\\" q=\\"%n%s%x\\\\ \\x1b[2J\\xff\\xfe\\x09"')
    lines = [
        ("smtp_direct", "alert=smtp_direct subscriber=cust-0042 ip=100.64.0.42 sessions=37 "
                        "mx=21 rcpt=412 window=300 run=%s" % run),
        ("smtp_direct", "alert=smtp_direct subscriber=cust-0043 ip=100.64.0.43 %s run=%s"
                        % (ehlo, run)),
        ("smtp_direct", "alert=smtp_direct subscriber=cust-0042 ip=100.64.0.42 sessions=38 "
                        "mx=21 rcpt=413 window=300 run=%s suppressed=1" % run),
        ("capture_drops", "alert=capture_drops count=5 run=%s" % run),
        ("bt_volume", "alert=bt_volume subscriber=cust-0044 bytes=12000000000 note=%s... run=%s"
                      % ("B" * 256, run)),
    ]
    lines += [("smtp_direct", "alert=smtp_direct subscriber=flood-%d run=%s" % (i, run))
              for i in range(20)]
    lines.append(("alerts_dropped", "alert=alerts_dropped count=30"))
    return lines


# Packet times of the records above (T0 = 2026-01-01T00:05:00Z).
TIMES = (["00:05:00"] * 2 + ["00:10:00"] * 3 + ["00:11:40"] * 21)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_json(path, run):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        fail("%s: not UTF-8: %s" % (path, e))
    lines = text.split("\n")
    if lines[-1] != "":
        fail("%s: last line not terminated" % path)
    objs = []
    for i, line in enumerate(lines[:-1]):
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            fail("%s:%d: not JSON: %s: %r" % (path, i + 1, e, line))
    exp = expected(run)
    if len(objs) != len(exp):
        fail("%s: %d objects, want %d" % (path, len(objs), len(exp)))
    for o, (kind, _), t in zip(objs, exp, TIMES):
        if o.get("alert") != kind or o.get("sensor") != "pop-" + run or \
                o.get("ts") != "2026-01-01T%sZ" % t:
            fail("%s: bad object %r" % (path, o))
        if kind != "alerts_dropped" and o.get("run") != run:
            fail("%s: no run field in %r" % (path, o))
    ehlo = objs[1]["ehlo"]
    want = ("evil\r\n<13>1 2026-01-01T00:00:00Z forged app - - - alert=fake subscriber=x\" "
            "q=\"%n%s%x\\ \x1b[2J\u00ff\u00fe\t")
    if ehlo != want:
        fail("JSON ehlo %r, want %r" % (ehlo, want))
    if objs[2].get("suppressed") != 1 or "suppressed" in objs[0]:
        fail("JSON suppressed wrong: %r %r" % (objs[0], objs[2]))
    if objs[4]["note"] != "B" * 256 + "..." or objs[4]["bytes"] != 12000000000:
        fail("JSON big value not bounded: %d chars" % len(objs[4]["note"]))
    if objs[-1].get("count") != 30:
        fail("JSON dropped summary wrong: %r" % objs[-1])
    print("ok: %s: %d valid JSON objects" % (path, len(objs)))


def check_rsyslog(log, run, js):
    """The template writes FAC|SEV|TIMESTAMP|HOST|APP|PROCID|MSGID|MSG."""
    with open(log, "rb") as f:
        rows = f.read().split(b"\n")
    host = ("pop-" + run).encode()
    ours = [r for r in rows if r.split(b"|")[3:4] == [host]]
    exp = expected(run)
    if len(ours) != len(exp):
        for r in ours:
            print("  got: %r" % r)
        fail("%d lines from %s, want %d (one per alert)" % (len(ours), host, len(exp)))
    for row, (kind, line), t in zip(ours, exp, TIMES):
        fac, sev, ts, _, app, procid, msgid, msg = row.split(b"|", 7)
        if msg != line.encode():
            fail("message\n  got  %r\n  want %r" % (msg, line))
        if (fac, sev, app, msgid) != (b"local3", b"warning", b"spanwatch", kind.encode()):
            fail("header fields wrong: %r" % row)
        if not procid.isdigit():
            fail("PROCID %r" % procid)
        if not re.match(rb"2026-01-01T" + t.encode() + rb"(Z|\+00:00|\.0+(Z|\+00:00))$", ts):
            fail("TIMESTAMP %r is not the packet time 2026-01-01T%sZ" % (ts, t))
        if re.search(rb"#[0-9]{3}", msg):
            fail("rsyslog had to escape a control character: %r" % msg)
    print("ok: rsyslog wrote %d lines for run %s, escaped, fields and RFC 5424 header right"
          % (len(ours), run))
    check_json(js, run)


def check_devlog(out, run, js):
    """syslog(3) sends <PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG."""
    with open(out) as f:
        grams = [json.loads(l).encode("latin-1") for l in f if l.strip()]
    exp = expected(run)
    if len(grams) != len(exp):
        for g in grams:
            print("  got: %r" % g)
        fail("%d datagrams, want %d" % (len(grams), len(exp)))
    pri = b"<%d>" % (19 * 8 + 4)	# local3.warning
    for g, (_, line) in zip(grams, exp):
        m = re.match(rb"(<\d+>)[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d spanwatch\[(\d+)\]: (.*)$",
                     g, re.S)
        if not m or m.group(1) != pri:
            fail("not a local3.warning syslog(3) datagram from spanwatch: %r" % g)
        if m.group(3) != line.encode():
            fail("message\n  got  %r\n  want %r" % (m.group(3), line))
    print("ok: /dev/log got %d datagrams, local3.warning, ident spanwatch, escaped" % len(grams))
    check_json(js, run)


def recv(path, out, ready, count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    open(ready, "w").close()
    n = 0
    with open(out, "w") as f:
        while n < count:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            f.write(json.dumps(d.decode("latin-1")) + "\n")
            f.flush()
            n += 1
    s.close()
    os.unlink(path)


def main():
    cmd = sys.argv[1]
    if cmd == "recv":
        recv(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "rsyslog":
        check_rsyslog(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "devlog":
        check_devlog(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "count":
        # lines of LOG whose HOST field is pop-RUN (for waiting)
        host = ("pop-" + sys.argv[3]).encode()
        with open(sys.argv[2], "rb") as f:
            print(sum(1 for r in f.read().split(b"\n") if r.split(b"|")[3:4] == [host]))
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
