#!/usr/bin/python3
"""A broken rrdcached on a unix socket, for tests/rrdfault: the only fake
in these tests, playing what the real daemon does not do on purpose.

    fakerrdcached.py MODE SOCKET

Every connection gets "0 PONG" for PING (so that spanwatch starts), and
then, for any other command, by MODE:

    stall     nothing, ever (the connection stays open)
    longline  a 20000-byte line of 'x' (longer than any reply buffer)
    garbage   "hello there" (no status number)

It prints "ready" on stdout once listening and counts connections in
SOCKET.count (one line per connection), so a test can tell a reconnect
storm from a backoff.
"""
import os
import socket
import sys
import threading


def serve(conn, mode, lock, count_path):
    with lock, open(count_path, "a") as fp:
        fp.write("c\n")
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip().upper() == b"PING":
                    conn.sendall(b"0 PONG\n")
                elif mode == "stall":
                    continue
                elif mode == "longline":
                    conn.sendall(b"x" * 20000 + b"\n")
                else:
                    conn.sendall(b"hello there\n")
    except OSError:
        return
    finally:
        if mode != "stall":
            conn.close()


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode not in ("stall", "longline", "garbage"):
        sys.exit("unknown mode " + mode)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    lock = threading.Lock()
    open(path + ".count", "w").close()
    print("ready", flush=True)
    held = []  # stalled connections stay open
    while True:
        conn, _ = srv.accept()
        held.append(conn)
        threading.Thread(target=serve, args=(conn, mode, lock, path + ".count"), daemon=True).start()


if __name__ == "__main__":
    main()
