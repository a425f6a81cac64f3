#!/usr/bin/env python3
"""wolfSSL backend scenarios (field notes W1, W2).

Cases (--case):
  w1-client-sockets  120 client connections, one after the other, each
                     closed cleanly after one echo.  Correct: the client
                     process holds no more sockets after
                     lws_context_destroy() than before lws_create_context(),
                     and the server never had more than 2 connections at
                     once.  Vanilla wolfSSL closes fd -1 instead of the
                     client's socket: one socket leaked per connection, and
                     every leaked one stays established at the server.
  w2-alpn            ALPN both ways.  Server: openssl s_client offering
                     "h2,http/1.1" gets h2, and curl --http2 gets an HTTP/2
                     answer.  Client: a Python TLS server sees the lws
                     client offer http/1.1 by ALPN.  Vanilla wolfSSL's
                     feature checks miss ALPN: neither side offers or
                     selects a protocol.
  w4-staged-close    20 TLS peers (Python's ssl module) each upgrade to
                     ws, send a ws close, read the server's answer and
                     close their socket without a close_notify, as most
                     clients do.  The server, whose close is staged (its
                     close_notify sent, waiting for the peer's), must see
                     that the peer is gone.  Correct: 1.5 s after the last
                     peer left, the server holds none of their connections
                     and its process used < 0.3 s of CPU in that time.
                     On wolfSSL, SSL_shutdown() keeps answering "not done"
                     on the dead socket: vanilla spins at full CPU and
                     holds every connection until --timeout-secs.
"""

import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["w1-client-sockets", "w2-alpn", "w4-staged-close"]
CONNS = 120


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)


def w1_client_sockets(sc):
    srv = sc.start_server([], duration=90)
    rc, c = sc.run_client(srv.port, [
        "--connections", "1", "--reconnect", "--reconnect-delay-ms", "0",
        "--close-after", "1", "--messages-per-conn", str(CONNS),
        "--max-reconnects", str(CONNS - 1)], timeout=90)
    sc.stop(srv)
    s = sc.load_json("server.json")
    socks = c["open_sockets"]
    leaked = socks["after_context_destroy"] - socks["before_context"]
    most = s["connections"]["max_concurrent_established"]
    sc.figure("client_connections", c["attempts"]["total"])
    sc.figure("client_sockets_before_context", socks["before_context"])
    sc.figure("client_sockets_after_context_destroy", socks["after_context_destroy"])
    sc.figure("server_accepted", s["connections"]["accepted"])
    sc.figure("server_max_concurrent_established", most)
    if socks["before_context"] < 0 or socks["after_context_destroy"] < 0:
        raise sl.SetupError("the client could not count its sockets (/proc/self/fd)")
    sc.require(c["attempts"]["handshake_ok"] >= 100,
               ">= 100 client connections established (%d of %d)"
               % (c["attempts"]["handshake_ok"], c["attempts"]["total"]))
    sc.require(leaked == 0, "the client holds no socket after lws_context_destroy() that it "
               "did not hold before lws_create_context() (%d more)" % leaked)
    sc.require(most <= 2, "the server never had more than 2 of the sequential connections "
               "open at once (%d)" % most)


class AlpnServer:
    """A TLS server that records the ALPN protocol it selected, then closes."""

    def __init__(self, sc):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(sc.pki, "server.pem"),
                            os.path.join(sc.pki, "server.key"))
        ctx.set_alpn_protocols(["http/1.1"])
        self.ctx = ctx
        self.selected = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(20)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(10)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                self.selected.append(tls.selected_alpn_protocol())
        except (OSError, ssl.SSLError) as e:
            self.selected.append("handshake failed: %s" % e)

    def close(self):
        self.thread.join(25)
        self.sock.close()


def w2_alpn(sc):
    srv = sc.start_server([], duration=60)
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
                        "-alpn", "h2,http/1.1", "-CAfile", os.path.join(sc.pki, "ca.pem")],
                       input="", capture_output=True, text=True, timeout=20)
    m = re.search(r"ALPN protocol: (\S+)", r.stdout)
    server_alpn = m.group(1) if m else None
    r = subprocess.run(["curl", "-s", "--http2", "-o", "/dev/null", "-w", "%{http_version}",
                        "--cacert", os.path.join(sc.pki, "ca.pem"), "--max-time", "10",
                        "https://localhost:%d/" % srv.port],
                       capture_output=True, text=True, timeout=20)
    http_version = r.stdout.strip()
    sc.stop(srv)

    peer = AlpnServer(sc)
    try:
        # the ws upgrade fails (the peer only does TLS): the offer is what counts
        sc.run_client(peer.port, ["--connections", "1", "--messages-per-conn", "1"],
                      timeout=40)
    finally:
        peer.close()
    client_alpn = peer.selected[0] if peer.selected else None

    sc.figure("server_selected_alpn", server_alpn)
    sc.figure("curl_http_version", http_version)
    sc.figure("client_offer_selected_by_peer", client_alpn)
    sc.require(server_alpn == "h2", "the server selects h2 from the ALPN offer "
               "\"h2,http/1.1\" (%s)" % server_alpn)
    sc.require(http_version == "2", "curl --http2 gets its answer over HTTP/2 (HTTP/%s)"
               % (http_version or "-"))
    sc.require(client_alpn == "http/1.1", "the client offers http/1.1 by ALPN (peer selected %s)"
               % client_alpn)


def ws_close_and_leave(port, ca):
    """Upgrade, send a ws close, read the server's close frame, then close
    the socket without a TLS close_notify (CPython's close() sends none)."""
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: lws-stress\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            d = tls.recv(4096)
            if not d:
                raise sl.SetupError("the server closed before answering the upgrade")
            head += d
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            raise sl.SetupError("ws upgrade refused: %r" % head.split(b"\r\n")[0])
        rest = head.split(b"\r\n\r\n", 1)[1]
        mask = b"\x01\x02\x03\x04"
        code = struct.pack("!H", 1000)
        tls.sendall(b"\x88\x82" + mask + bytes(c ^ mask[i] for i, c in enumerate(code)))
        # the server's close frame (opcode 8) follows any echo in flight
        while b"\x88" not in rest:
            d = tls.recv(4096)
            if not d:
                break
            rest += d
        return b"\x88" in rest
    finally:
        tls.close()


def server_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / float(os.sysconf("SC_CLK_TCK"))


def live_connections(sc, tag="server"):
    """The server's last status line: live connections."""
    with open(sc.path(tag + ".log"), errors="replace") as f:
        live = re.findall(r"\] live (\d+) ", f.read())
    return int(live[-1]) if live else None


def w4_staged_close(sc):
    peers = 20
    srv = sc.start_server(["--timeout-secs", "30", "--stats-interval", "0.25"], duration=90)
    answered = sum(ws_close_and_leave(srv.port, os.path.join(sc.pki, "ca.pem"))
                   for _ in range(peers))
    cpu0 = server_cpu_s(srv.pid)
    time.sleep(1.5)
    cpu = server_cpu_s(srv.pid) - cpu0
    live = live_connections(sc)
    sc.stop(srv)
    s = sc.load_json("server.json")
    sc.figure("peers", peers)
    sc.figure("server_close_frames_seen", answered)
    sc.figure("server_accepted", s["connections"]["accepted"])
    sc.figure("server_live_1_5s_after", live)
    sc.figure("server_cpu_s_in_1_5s_after", round(cpu, 3))
    if answered != peers or s["connections"]["accepted"] != peers or live is None:
        raise sl.SetupError("setup: %d of %d peers saw the server's ws close, %d accepted, "
                            "status line %s" % (answered, peers, s["connections"]["accepted"],
                                                live))
    sc.require(live == 0, "1.5 s after the peers left the server holds none of their "
               "connections (%d live)" % live)
    sc.require(cpu < 0.3, "the server idled meanwhile (%.2f s CPU in 1.5 s)" % cpu)


def body(sc):
    sc.name = sc.args.case
    # w4's staged close is the same upstream code on every backend: a guard
    if sc.backend != "wolfssl" and sc.args.case != "w4-staged-close":
        raise sl.SetupError("%s runs on wolfSSL variants only" % sc.args.case)
    {"w1-client-sockets": w1_client_sockets, "w2-alpn": w2_alpn,
     "w4-staged-close": w4_staged_close}[sc.args.case](sc)


if __name__ == "__main__":
    sl.main("wolfssl", __doc__.split("\n")[0], body, add_args)
