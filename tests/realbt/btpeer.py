#!/usr/bin/python3
"""One real BitTorrent client (libtorrent, Debian's python3-libtorrent) for
t_real_bt.sh; runs inside a network namespace.

    btpeer.py make FILE TORRENT           write FILE's v1 .torrent, print its info-hash
    btpeer.py seed TORRENT DIR ADDR PORT ENC TRANSPORT DHT_NODE
    btpeer.py fetch TORRENT DIR ADDR PORT ENC TRANSPORT DHT_NODE PEER
    btpeer.py node ADDR PORT [DHT_NODE]     a DHT node and nothing else
    btpeer.py tracker ADDR PORT PEER        an HTTP tracker naming PEER only

ENC is plain (pe_disabled both ways) or rc4 (pe_forced, RC4 only);
TRANSPORT is tcp or utp (the other one disabled both ways). DHT is on; its
only bootstrap node is DHT_NODE (ADDR:PORT, or "-" for none), never the
public routers; DHT_NODE "off" turns DHT off. LSD,
UPnP and NAT-PMP are off, so that nothing but the two peers' own traffic
leaves the namespace. "seed" checks DIR's copy, prints "ready" when it
seeds, and seeds until SIGTERM; "node" prints "ready", bootstraps from
DHT_NODE if given, and answers DHT queries until SIGTERM. "fetch" adds PEER (ADDR:PORT) as a peer,
or, when PEER is "tracker=URL", announces to that HTTP tracker instead,
downloads into DIR and prints one JSON line: done, seconds, bytes, and the
peer connections it saw (uTP or TCP, RC4 or plaintext), for the test to
confirm that the case it asked for is the one on the wire.
"""
import json
import os
import signal
import sys
import time

import libtorrent as lt

# peer_info::utp_socket (libtorrent/peer_info.hpp: bit 17, between
# i2p_socket and ssl_socket); the Python binding of 2.0 does not export it.
UTP_SOCKET = int(getattr(lt.peer_info, "utp_socket", 1 << 17))


def make(path, torrent):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    # v1 only: the info-hash on the wire (and in the allowlist) is the
    # SHA-1 one, as in the torrents the allowlist is made for.
    ct = lt.create_torrent(fs, 0, lt.create_torrent.v1_only)
    ct.set_creator("spanwatch t_real_bt")
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    with open(torrent, "wb") as fp:
        fp.write(lt.bencode(ct.generate()))
    print(str(lt.torrent_info(torrent).info_hashes().v1))


def session(addr, port, enc, transport, dht_node):
    pol = lt.enc_policy.pe_forced if enc == "rc4" else lt.enc_policy.pe_disabled
    utp = transport == "utp"
    s = lt.session({
        "listen_interfaces": "%s:%d" % (addr, port),
        "outgoing_interfaces": addr,
        "enable_dht": dht_node != "off",
        "dht_bootstrap_nodes": "" if dht_node in ("-", "off") else dht_node,
        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "out_enc_policy": int(pol), "in_enc_policy": int(pol),
        "allowed_enc_level": int(lt.enc_level.pe_rc4 if enc == "rc4" else lt.enc_level.pe_both),
        "prefer_rc4": enc == "rc4",
        "enable_outgoing_utp": utp, "enable_incoming_utp": utp,
        "enable_outgoing_tcp": not utp, "enable_incoming_tcp": not utp,
        # Both peers are on one made-up network: no ban for sharing a /24,
        # no rate limit for it either.
        "allow_multiple_connections_per_ip": True,
        # A failed connection is retried after a second, not after the
        # default minute: the fetch has 60 s in all.
        "min_reconnect_time": 1,
        "alert_mask": lt.alert_category.error | lt.alert_category.status
                      | lt.alert_category.connect | lt.alert_category.peer,
    })
    return s


def add(s, torrent, where):
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(torrent)
    p.save_path = where
    return s.add_torrent(p)


def seed(torrent, where, addr, port, enc, transport, dht_node):
    s = session(addr, int(port), enc, transport, dht_node)
    h = add(s, torrent, where) if torrent else None
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.time() + 30
    while h and not h.status().is_seeding:
        if time.time() > deadline:
            print("seed: not seeding after 30 s: %s" % h.status().state, flush=True)
            return 1
        time.sleep(0.1)

    print("ready", flush=True)
    while not stop:
        time.sleep(0.2)
    return 0


def settled_peers(h):
    """The handle's peers as "ip:port/transport/crypto". A peer still
    connecting or in its handshake has no encryption flag yet, so its
    "plain" is not believed (an RC4 connection read "plain" that way when
    the whole transfer fitted between two samples)."""
    out = set()
    for pi in h.get_peer_info():
        unsettled = pi.flags & (lt.peer_info.connecting | lt.peer_info.handshake)
        kind = "utp" if pi.flags & UTP_SOCKET else "tcp"
        crypt = "rc4" if pi.flags & lt.peer_info.rc4_encrypted else (
            "pe-plain" if pi.flags & lt.peer_info.plaintext_encrypted else "plain")
        if unsettled and crypt == "plain":
            continue
        out.add("%s:%d/%s/%s" % (pi.ip[0], pi.ip[1], kind, crypt))
    return out


def peer_events(s):
    """Why peer connections ended, for the log when a fetch fails."""
    out = []
    for a in s.pop_alerts():
        if isinstance(a, (lt.peer_disconnected_alert, lt.peer_error_alert)):
            out.append("%.2f %s" % (time.time() % 1000, a.message()))
    return out


def tracker(addr, port, peer):
    """Answers every announce (plain HTTP, BEP 3 and 23) with PEER."""
    import http.server
    import socket
    pa, pp = peer.rsplit(":", 1)
    body = b"d8:intervali1800e5:peers6:" + socket.inet_aton(pa) + int(pp).to_bytes(2, "big") + b"e"

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.HTTPServer((addr, int(port)), H)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    srv.serve_forever()


def ask(h, peer):
    """Connects to peer, or announces to the tracker peer names."""
    if peer.startswith("tracker="):
        h.add_tracker({"url": peer[len("tracker="):], "tier": 0})
        h.force_reannounce()
    else:
        pa, pp = peer.rsplit(":", 1)
        h.connect_peer((pa, int(pp)))


def fetch(torrent, where, addr, port, enc, transport, dht_node, peer):
    s = session(addr, int(port), enc, transport, dht_node)
    h = add(s, torrent, where)
    t0 = time.time()
    ask(h, peer)
    seen = set()
    events = []
    asked = moved = t0
    done = -1
    while not h.status().is_seeding and time.time() - t0 < 60:
        seen |= settled_peers(h)
        st = h.status()
        now = time.time()
        if st.total_wanted_done != done:
            done, moved = st.total_wanted_done, now
        # No peer for three seconds, or no progress for six: start over
        # with a fresh peer list. libtorrent gives a peer three failed
        # connections, then drops it from its connect candidates for good
        # (max_failcount set on the session did not reach an existing
        # torrent), so connect_peer alone cannot bring it back. Once in
        # CI an RC4 fetch got no connection and waited out its minute.
        if (st.num_peers == 0 and now - asked > 3) or (now - max(moved, asked) > 6):
            events.append("%.2f no peer or no progress: adding the torrent again" % (now % 1000))
            s.remove_torrent(h)
            h = add(s, torrent, where)
            ask(h, peer)
            asked = now
        events.extend(peer_events(s))
        time.sleep(0.01)
    seen |= settled_peers(h)
    events.extend(peer_events(s))
    st = h.status()
    res = {"done": st.is_seeding, "seconds": round(time.time() - t0, 2),
           "bytes": st.total_wanted_done, "total_download": st.total_download, "peers": sorted(seen),
           "events": events[:20]}
    # Linger a moment so the last exchanges finish as a client would.
    time.sleep(0.5)
    print(json.dumps(res), flush=True)
    return 0 if st.is_seeding else 1


def main():
    cmd, args = sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2:]
    if cmd == "make" and len(args) == 2:
        return make(*args) or 0
    if cmd == "seed" and len(args) == 7:
        return seed(*args)
    if cmd == "node" and len(args) in (2, 3):
        return seed(None, None, args[0], args[1], "plain", "utp", args[2] if args[2:] else "-")
    if cmd == "tracker" and len(args) == 3:
        return tracker(*args)
    if cmd == "fetch" and len(args) == 8:
        return fetch(*args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
