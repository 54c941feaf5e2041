"""spf_pcap.py -- crafted SMTP sessions as a pcap (Ethernet, IPv4 or IPv6,
TCP with handshake, data, ACKs and FIN), written with struct alone, for
tests/spf/spf_test.py.

    w = Writer(fileobj)
    t = w.smtp(t, "100.64.0.1", "198.51.100.7", smtp_plain("host", "a@x.example"))
    t = w.udp_burst(t, "100.64.0.1", "203.0.113.9", 1000)
"""
import struct

ETH_SRC = b"\x02\x00\x00\x00\x00\x01"
ETH_DST = b"\x02\x00\x00\x00\x00\x02"


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _addr(a):
    import ipaddress
    return ipaddress.ip_address(a)


class Writer:
    """A pcap file (microsecond timestamps, DLT_EN10MB)."""

    def __init__(self, fp):
        self.fp = fp
        self.sport = 40000
        self.packets = 0
        fp.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def frame(self, t, data):
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        self.fp.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)
        self.packets += 1

    def ip(self, t, src, dst, proto, l4):
        s, d = _addr(src), _addr(dst)
        if s.version == 4:
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self.packets & 0xFFFF, 0x4000, 64,
                              proto, 0, s.packed, d.packed)
            hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
            pseudo = s.packed + d.packed + struct.pack("!BBH", 0, proto, len(l4))
            eth = 0x0800
        else:
            hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, s.packed, d.packed)
            pseudo = s.packed + d.packed + struct.pack("!IxxxB", len(l4), proto)
            eth = 0x86DD
        off = 16 if proto == 6 else 6
        l4 = l4[:off] + struct.pack("!H", _csum(pseudo + l4)) + l4[off + 2:]
        self.frame(t, ETH_DST + ETH_SRC + struct.pack("!H", eth) + hdr + l4)

    def tcp(self, t, src, dst, sport, dport, seq, ack, flags, payload=b""):
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                         65535, 0, 0) + payload
        self.ip(t, src, dst, 6, l4)

    def smtp(self, t, cli, srv, dialogue, port=25, gap=0.002):
        """One TCP connection cli -> srv:port carrying dialogue, a list of
        ("C" or "S", bytes). Returns the time after its last packet."""
        self.sport += 1
        sp = self.sport
        cs, ss = 1000 + sp * 7919, 5000 + sp * 104729
        self.tcp(t, cli, srv, sp, port, cs, 0, 0x02)
        t += gap
        self.tcp(t, srv, cli, port, sp, ss, cs + 1, 0x12)
        t += gap
        cs += 1
        ss += 1
        self.tcp(t, cli, srv, sp, port, cs, ss, 0x10)
        for who, data in dialogue:
            t += gap
            if who == "C":
                self.tcp(t, cli, srv, sp, port, cs, ss, 0x18, data)
                cs += len(data)
                t += gap
                self.tcp(t, srv, cli, port, sp, ss, cs, 0x10)
            else:
                self.tcp(t, srv, cli, port, sp, ss, cs, 0x18, data)
                ss += len(data)
                t += gap
                self.tcp(t, cli, srv, sp, port, cs, ss, 0x10)
        t += gap
        self.tcp(t, cli, srv, sp, port, cs, ss, 0x11)
        t += gap
        self.tcp(t, srv, cli, port, sp, ss, cs + 1, 0x11)
        t += gap
        self.tcp(t, cli, srv, sp, port, cs + 1, ss + 1, 0x10)
        return t + gap

    def udp_burst(self, t, src, dst, n, gap=0.0001, size=200):
        """n UDP datagrams src -> dst (background traffic)."""
        payload = b"x" * size
        for i in range(n):
            l4 = struct.pack("!HHHH", 50000, 40000 + (i % 50), 8 + size, 0) + payload
            self.ip(t, src, dst, 17, l4)
            t += gap
        return t


def smtp_plain(helo, mail_from, rcpt="bob@rcpt.test"):
    """An unauthenticated session that hands over one message; mail_from
    is the whole path ("" for the null sender <>)."""
    return [
        ("S", b"220 mx.test ESMTP\r\n"),
        ("C", b"EHLO " + helo.encode() + b"\r\n"),
        ("S", b"250-mx.test\r\n250 PIPELINING\r\n"),
        ("C", b"MAIL FROM:<" + mail_from.encode() + b">\r\n"),
        ("S", b"250 2.1.0 Ok\r\n"),
        ("C", b"RCPT TO:<" + rcpt.encode() + b">\r\n"),
        ("S", b"250 2.1.5 Ok\r\n"),
        ("C", b"DATA\r\n"),
        ("S", b"354 End data with <CR><LF>.<CR><LF>\r\n"),
        ("C", b"Subject: test\r\n\r\nhello\r\n.\r\n"),
        ("S", b"250 2.0.0 Ok: queued\r\n"),
        ("C", b"QUIT\r\n"),
        ("S", b"221 2.0.0 Bye\r\n"),
    ]


def smtp_starttls(helo):
    """A session that turns to TLS after EHLO: MAIL FROM is never seen."""
    hello = b"\x16\x03\x01\x00\x31\x01\x00\x00\x2d\x03\x03" + b"\x11" * 32 + b"\x00\x00\x02\x13\x01\x01\x00"
    return [
        ("S", b"220 mx.test ESMTP\r\n"),
        ("C", b"EHLO " + helo.encode() + b"\r\n"),
        ("S", b"250-mx.test\r\n250 STARTTLS\r\n"),
        ("C", b"STARTTLS\r\n"),
        ("S", b"220 2.0.0 Ready to start TLS\r\n"),
        ("C", hello),
    ]
