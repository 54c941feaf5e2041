#!/usr/bin/python3
"""smtp_overlap.py -- issue 15.5: a command the client sent is counted
whatever the server's side looks like. Builds a capture with scapy whose
server direction is broken in the ways a mirror port breaks it, runs
spanwatch over it and checks smtp_rcpt against the RCPT commands each
session's client sent (the script's own ground truth: it wrote them):

  cust-5989     the pattern of suricata-verify's smtp-bug-5989: the
                server's first segment (greeting and a 5000-byte line)
                covers the sequence space its later replies are then
                retransmitted at, so TCP-wise every later reply is old
                bytes; the client does AUTH LOGIN, MAIL, RCPT, DATA.
                Before the fix its RCPT was read as SASL: 0, not 1.
  cust-overlap  each server reply retransmitted in a segment that also
                covers the previous one (overlap), AUTH PLAIN without an
                initial response; 3 RCPT. The 235 is each overlapping
                segment's new tail: authenticated
  cust-lost     server reply segments lost (every other one) and the
                rest swapped in pairs (out of order); AUTH LOGIN; 4 RCPT
  cust-pipe     RFC 2920 pipelining and no server reply at all after the
                SYN-ACK: EHLO, then MAIL, 5 RCPT, DATA in one segment,
                the body, a second MAIL/RCPT; 6 RCPT
  cust-smuggle  a DATA body holding a bare-LF dot line and a smuggled
                MAIL, 2 RCPT, DATA after it (SMTP smuggling): the RCPTs
                after a lax dot line count (issue 16): 1 + 2

Each must show smtp_direct 1 and smtp_rcpt as written, and smtp_unauth 1
but for cust-overlap: the others show no 235 the sensor can read as
answering an AUTH (cust-5989's lies under older bytes, cust-lost's is
lost, the rest never say one). Exit 0 pass, 1 fail, 77 skip (no rrdtool or scapy).
"""
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SW_BIN = os.environ.get("SW_BIN") or os.path.join(TOP, "bin")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import rrdsum  # noqa: E402

T0 = 1767225600
STEP = 60
failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


class Session:
    """One TCP connection: each direction's stream is laid out by offset,
    and segments are emitted at any offset (overlapping, lost, swapped)."""

    def __init__(self, out, t, cli, srv, sport):
        self.out, self.t, self.cli, self.srv, self.sport = out, t, cli, srv, sport
        self.isn = {"C": 1000, "S": 50000}
        self.off = {"C": 0, "S": 0}

    def _pkt(self, d, seq, payload, flags="PA"):
        from scapy.all import IP, TCP, Ether
        src, dst = (self.cli, self.srv) if d == "C" else (self.srv, self.cli)
        sp, dp = (self.sport, 25) if d == "C" else (25, self.sport)
        o = "S" if d == "C" else "C"
        p = (Ether() / IP(src=src, dst=dst) /
             TCP(sport=sp, dport=dp, flags=flags, seq=seq,
                 ack=self.isn[o] + 1 + self.off[o]) / payload)
        p.time = self.t
        self.t += 0.002
        self.out.append(p)

    def open(self):
        self._pkt("C", self.isn["C"], b"", "S")
        self._pkt("S", self.isn["S"], b"", "SA")

    def send(self, d, data):
        """The next bytes of direction d, sent in order."""
        self._pkt(d, self.isn[d] + 1 + self.off[d], data)
        self.off[d] += len(data)

    def at(self, d, off, data):
        """Bytes at offset off of direction d (may overlap, may skip):
        the stream position becomes the furthest byte sent."""
        self._pkt(d, self.isn[d] + 1 + off, data)
        self.off[d] = max(self.off[d], off + len(data))

    def close(self):
        self._pkt("C", self.isn["C"] + 1 + self.off["C"], b"", "FA")
        self._pkt("S", self.isn["S"] + 1 + self.off["S"], b"", "FA")


def rcpts(lines):
    return sum(1 for l in lines if l.upper().startswith(b"RCPT TO:"))


def s_5989(w):
    """Returns the RCPT commands the client sent."""
    big = b"220 mx.test ESMTP\r\n" + b"A" * 4983
    w.send("S", big)                      # no LF at its end
    soff = len(b"220 mx.test ESMTP\r\n")  # replies "retransmitted" from here
    cmds = [b"EHLO Percival\r\n", b"AUTH LOGIN\r\n", b"Z2FsdW50\r\n", b"VjF2MXRyMG4=\r\n",
            b"MAIL FROM: <someone@example.co.uk>\r\n", b"RCPT TO: <x@example.co.uk>\r\n",
            b"DATA\r\n"]
    replies = [b"250-mx.test\r\n250 AUTH LOGIN\r\n", b"334 VXNlcm5hbWU6\r\n",
               b"334 UGFzc3dvcmQ6\r\n", b"235 2.7.0 ok\r\n", b"250 ok\r\n", b"250 ok\r\n",
               b"354 go\r\n"]
    for c, r in zip(cmds, replies):
        w.send("C", c)
        w.at("S", soff, r)
        soff += len(r)
    w.send("C", b"Subject: test\r\n\r\nhello\r\n.\r\n")
    w.at("S", soff, b"250 queued\r\n")
    w.send("C", b"QUIT\r\n")
    return rcpts(cmds)


def s_overlap(w):
    w.send("S", b"220 mx.test ESMTP\r\n")
    cmds = [b"EHLO overlap.example\r\n", b"AUTH PLAIN\r\n", b"AHVzZXIAcGFzcw==\r\n",
            b"MAIL FROM:<a@overlap.example>\r\n", b"RCPT TO:<1@r.test>\r\n",
            b"RCPT TO:<2@r.test>\r\n", b"RCPT TO:<3@r.test>\r\n", b"QUIT\r\n"]
    replies = [b"250 AUTH PLAIN\r\n", b"334 \r\n", b"235 ok\r\n", b"250 ok\r\n",
               b"250 ok\r\n", b"250 ok\r\n", b"250 ok\r\n", b"221 bye\r\n"]
    prev = None
    for c, r in zip(cmds, replies):
        w.send("C", c)
        if prev is None:
            w.send("S", r)
        else:
            # The previous reply again, with this one: overlap.
            w.at("S", prev[0], prev[1] + r)
        prev = (w.off["S"] - len(r), r)
    return rcpts(cmds)


def s_lost(w):
    w.send("S", b"220 mx.test ESMTP\r\n")
    cmds = [b"EHLO lost.example\r\n", b"AUTH LOGIN\r\n", b"dXNlcg==\r\n", b"cGFzcw==\r\n",
            b"MAIL FROM:<a@lost.example>\r\n"] + \
        [b"RCPT TO:<%d@r.test>\r\n" % i for i in range(4)] + [b"QUIT\r\n"]
    replies = [b"250 AUTH LOGIN\r\n", b"334 VXNlcm5hbWU6\r\n", b"334 UGFzc3dvcmQ6\r\n",
               b"235 ok\r\n", b"250 ok\r\n"] + [b"250 ok\r\n"] * 4 + [b"221 bye\r\n"]
    # Lay the server stream out, then drop every other segment from the
    # second on (the 235 among them) and swap the rest in pairs.
    offs, o = [], w.off["S"]
    for r in replies:
        offs.append(o)
        o += len(r)
    kept = [i for i in range(len(replies)) if i % 2 == 0]
    for k in range(0, len(kept) - 1, 2):
        kept[k], kept[k + 1] = kept[k + 1], kept[k]
    order = iter(kept)
    for i, c in enumerate(cmds):
        w.send("C", c)
        if i % 2 == 1:
            j = next(order, None)
            if j is not None:
                w.at("S", offs[j], replies[j])
    return rcpts(cmds)


def s_pipe(w):
    cmds = [b"MAIL FROM:<a@pipe.example>\r\n"] + \
        [b"RCPT TO:<%d@r.test>\r\n" % i for i in range(5)] + [b"DATA\r\n"]
    w.send("C", b"EHLO pipe.example\r\n")
    w.send("C", b"".join(cmds))
    w.send("C", b"Subject: x\r\n\r\nRCPT TO:<text@r.test>\r\n.\r\n")
    more = [b"MAIL FROM:<b@pipe.example>\r\n", b"RCPT TO:<5@r.test>\r\n", b"QUIT\r\n"]
    w.send("C", b"".join(more))
    return rcpts(cmds) + rcpts(more)


def s_smuggle(w):
    w.send("S", b"220 mx.test ESMTP\r\n")
    env = [b"EHLO smuggle.example\r\n", b"MAIL FROM:<a@smuggle.example>\r\n",
           b"RCPT TO:<victim@r.test>\r\n", b"DATA\r\n"]
    for c, r in zip(env, [b"250 ok\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"]):
        w.send("C", c)
        w.send("S", r)
    smuggled = [b"MAIL FROM:<ceo@bank.example>\r\n", b"RCPT TO:<s1@r.test>\r\n",
                b"RCPT TO:<s2@r.test>\r\n", b"DATA\r\n"]
    w.send("C", b"Subject: hi\r\n\r\ntext\n.\r\n" + b"".join(smuggled) +
           b"From: ceo@bank.example\r\n\r\npay now\r\n.\r\n")
    w.send("S", b"250 queued\r\n")
    w.send("C", b"QUIT\r\n")
    return rcpts(env) + rcpts(smuggled)


# (subscriber, dialogue, smtp_unauth)
SESSIONS = [("cust-5989", s_5989, 1), ("cust-overlap", s_overlap, 0), ("cust-lost", s_lost, 1),
            ("cust-pipe", s_pipe, 1), ("cust-smuggle", s_smuggle, 1)]


def main():
    if shutil.which("rrdtool") is None:
        print("SKIP: rrdtool is not installed")
        return 77
    try:
        from scapy.all import wrpcap
    except ImportError:
        print("SKIP: scapy is not installed for /usr/bin/python3")
        return 77
    work = tempfile.mkdtemp(prefix="sw-smtp-overlap-")
    pkts, truth, subs = [], {}, []
    t = T0 + 5
    for i, (sub, fn, _) in enumerate(SESSIONS):
        cli = "100.64.0.%d" % (i + 1)
        w = Session(pkts, t, cli, "198.51.100.%d" % (i + 1), 40000 + i)
        w.open()
        truth[sub] = fn(w)
        w.close()
        t = w.t + 1
        subs.append("%s/32 %s\n" % (cli, sub))
    pcap = os.path.join(work, "overlap.pcap")
    wrpcap(pcap, pkts)
    with open(os.path.join(work, "subscribers.txt"), "w") as fp:
        fp.writelines(subs)
    conf = os.path.join(work, "spanwatch.conf")
    with open(conf, "w") as fp:
        fp.write("[subscribers]\nfile = %s/subscribers.txt\n[rrd]\nstep = %d\n[smtp]\n"
                 "spf = off\n" % (work, STEP))
    rrd = os.path.join(work, "rrd")
    p = subprocess.run([os.path.join(SW_BIN, "spanwatch"), "-c", conf, "-r", pcap, "-o", rrd,
                        "--no-syslog"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "spanwatch exit 0 (got %d)%s"
          % (p.returncode, p.returncode and ": " + p.stderr[-500:] or ""))
    bad = [l for l in p.stderr.splitlines() if "Sanitizer" in l or "runtime error" in l]
    check(not bad, "no sanitizer report" + (": " + bad[0] if bad else ""))
    for sub, _, unauth in SESSIONS:
        path = os.path.join(rrd, "subscribers", sub + ".rrd")
        tot = rrdsum.totals(path) if os.path.exists(path) else {}
        got = [round(tot.get(k, -1)) for k in ("smtp_direct", "smtp_unauth", "smtp_rcpt")]
        check(got == [1, unauth, truth[sub]], "%s: smtp_direct=1 smtp_unauth=%d smtp_rcpt=%d (got %s)"
              % (sub, unauth, truth[sub], got))
    if failures:
        print("%d failed; files in %s" % (len(failures), work))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
