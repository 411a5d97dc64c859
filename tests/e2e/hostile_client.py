#!/usr/bin/env python3
"""Raw-socket clients for tests/e2e/hostile_client.sh: what the docker CLI never sends.

  slowloris HOST PORT CERTDIR   TLS with the client certificate, then a request header
                                trickled a byte a second; prints the seconds until the server
                                closed the connection
  slowhello HOST PORT           a TLS ClientHello that never completes (no certificate
                                needed); prints the seconds until the server closed it
  idle HOST PORT N READYFILE HOLD
                                N silent TCP connections held HOLD seconds; writes how many
                                are open to READYFILE once connected, and how many the server
                                had closed when the time is up
"""
import os
import socket
import ssl
import sys
import time


def wait_closed(sock, trickle, limit):
    """Sends `trickle` a byte a second until the peer closes; the seconds it took."""
    start = time.monotonic()
    sock.settimeout(1.0)
    i = 0
    while time.monotonic() - start < limit:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            pass
        except (ConnectionError, ssl.SSLError, OSError):
            return time.monotonic() - start
        try:
            sock.send(trickle[i % len(trickle):i % len(trickle) + 1])
            i += 1
        except (ConnectionError, ssl.SSLError, OSError):
            return time.monotonic() - start
    return -1.0


def slowloris(host, port, certdir):
    ctx = ssl.create_default_context(cafile=os.path.join(certdir, "ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(certdir, "cert.pem"), os.path.join(certdir, "key.pem"))
    raw = socket.create_connection((host, port))
    sock = ctx.wrap_socket(raw, server_hostname=host)
    sock.send(b"GET /_ping HTTP/1.1\r\nHost: vch\r\n")
    print("%.1f" % wait_closed(sock, b"X-Slow: aaaaaaaaaaaaaaaa\r\n", 300))


def slowhello(host, port):
    sock = socket.create_connection((host, port))
    sock.send(b"\x16\x03\x01\x02\x00")  # a handshake record header announcing 512 bytes
    print("%.1f" % wait_closed(sock, b"\x01", 300))


def idle(host, port, n, readyfile, hold):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(10)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    with open(readyfile, "w") as f:
        f.write("%d\n" % len(socks))
    time.sleep(hold)
    closed = 0
    for s in socks:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    with open(readyfile, "a") as f:
        f.write("closed %d\n" % closed)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "slowloris":
        slowloris(args[0], int(args[1]), args[2])
    elif cmd == "slowhello":
        slowhello(args[0], int(args[1]))
    elif cmd == "idle":
        idle(args[0], int(args[1]), int(args[2]), args[3], float(args[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
