#!/usr/bin/env python3
"""Error-queue scenarios (Q1, Q2, Q3) against lws-stress-server.

Cases (--case):
  q1-handshake     a user LWS_CALLBACK_SSL_INFO handler leaves an error on the
                   queue at handshake events; 20 clients reconnecting.
                   Correct: no handshake fails, no healthy connection drops.
  q1-keyupdate     the handler leaves an error at SSL_INFO events of
                   established connections while clients send a TLS 1.3
                   KeyUpdate every 10 messages.  Correct: nothing drops.
  q1-all-keyupdate every SSL_INFO event plants (handshake and KeyUpdate).
  q2-reload-ec     lws_tls_cert_updated() with an EC (SEC1) key in memory:
                   correct: lws leaves nothing on the queue.
  q2-reload-fail   lws_tls_cert_updated() with a missing certificate file:
                   correct: nothing left on the queue.
  q2-peer-eof      peers that end without close_notify (dirty EOF) and peers
                   that reset: correct: no user callback sees an lws entry.
  q2-connect-fail  client side: handshakes that fail in lws's FIRST
                   SSL_connect() (openssl-client.c:528-543 pops one entry of
                   several).  Peers that speak first (a TLS 1.2 ServerHello +
                   a malformed Certificate, or an SSH banner) while the client
                   blocks 20 ms after each connect, so the bytes are waiting
                   when lws's first SSL_connect() runs; plus, as a control,
                   handshakes broken later (lws-faultproxy corrupts the
                   server's first encrypted record: bad_record_mac).
                   Correct: no client callback (CLIENT_CONNECTION_ERROR
                   included) sees an entry lws left, nothing is left after
                   lws_service() returns.
  q3-guard         errors planted from ordinary callbacks (timer, WRITEABLE,
                   RECEIVE, ESTABLISHED, CLOSED) while every connection goes
                   through lws-faultproxy in tiny segments, so SSL_read often
                   returns WANT_READ.  Upstream's clear-before-call makes this
                   pass; the mutant build without it must fail.
  client-vs-failing-server
                   this variant's client against a server that fails many
                   TLS handshakes after the client thinks they completed
                   (use --server-apps with a vanilla build planting at
                   SSL_INFO).  Correct: the client survives every failure
                   (no crash, no sanitizer report: vanilla frees the wsi and
                   reads it again when writing the request fails).
Figures are per run; --duration sets the client's run time.
"""

import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["client-vs-failing-server", "q1-handshake", "q1-keyupdate", "q1-all-keyupdate", "q2-reload-ec",
         "q2-reload-fail", "q2-peer-eof", "q2-connect-fail", "q3-guard"]


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--duration", type=float, default=8, help="client run time, s (default 8)")
    p.add_argument("--connections", type=int, default=20, help="concurrent clients (default 20)")


def client_ends(sc, summary, duration):
    ends = summary["ends"]
    att = summary["attempts"]
    sc.figure("attempts", att["total"])
    sc.figure("handshake_failures", ends["collateral_handshake_failures"])
    sc.figure("established_drops", ends["collateral_established_drops"])
    sc.figure("collateral_per_10s", round(ends["collateral"] * 10.0 / duration, 1))
    sc.figure("messages_lost", summary["messages"]["lost"])
    reasons = ends["by_reason"]["collateral"]
    if reasons:
        top = sorted(reasons.items(), key=lambda kv: -kv[1])[:2]
        sc.figure("collateral_reasons", dict(top))
    sc.require(ends["collateral"] == 0,
               "no collateral end (%d handshake failures, %d established drops)"
               % (ends["collateral_handshake_failures"], ends["collateral_established_drops"]))
    sc.require(summary["messages"]["lost"] == 0 and summary["messages"]["corrupted"] == 0,
               "no lost or corrupted message")
    sc.require(att["handshake_ok"] > 0, "the run established connections (%d)" % att["handshake_ok"])


def plant_run(sc, plants, client_extra, via_proxy=False):
    d = sc.args.duration
    extra = []
    for p in plants:
        extra += ["--plant", p]
    srv = sc.start_server(extra + ["--plant-interval-ms", "1"], duration=d + 30)
    port = srv.port
    if via_proxy:
        port = start_split_proxy(sc, srv.port, d + 30)
    rc, summary = sc.run_client(port, ["--connections", str(sc.args.connections),
                                       "--duration", str(d), "--reconnect"] + client_extra,
                                timeout=d + 60)
    sc.stop(srv)
    server = sc.load_json("server.json")
    planted = sum(v.get("planted", 0) for k, v in server["plants"].items() if isinstance(v, dict))
    sc.figure("errors_planted", planted)
    sc.require(planted > 0, "errors were really planted (%d)" % planted)
    client_ends(sc, summary, d)


def start_split_proxy(sc, upstream, duration):
    """Every connection through lws-faultproxy, split into 1-7 byte segments."""
    return start_proxy(sc, upstream, duration, ["--split-all", "--segment", "1-7"])


def start_proxy(sc, upstream, duration, plan, tag="proxy"):
    """lws-faultproxy in front of upstream with the fault plan given; returns its port."""
    return sc.start_proxy(upstream, plan, duration, tag=tag)[1]


def reload_run(sc, cert, key, mode, failing=False):
    d = sc.args.duration
    srv = sc.start_server(["--check-queue", "--reload-certs-ms", "300",
                           "--reload-cert", cert, "--reload-key", key,
                           "--reload-mode", mode], duration=d + 30)
    rc, summary = sc.run_client(srv.port, ["--connections", "4", "--duration", str(d),
                                           "--reconnect", "--close-after", "20"],
                                timeout=d + 60)
    sc.stop(srv)
    server = sc.load_json("server.json")
    rl = server["cert_reload"]
    eq = server["error_queue"]
    sc.figure("reloads", rl["count"])
    sc.figure("reload_nonzero_returns", rl["nonzero_returns"])
    sc.figure("lws_entries_left_by_reloads", rl["lws_entries_left_total"])
    sc.figure("lws_entries_seen_in_callbacks", eq["lws_left_total"])
    if eq["distinct_entries"]:
        sc.figure("first_entry", "%s @ %s" % (eq["distinct_entries"][0].get("entry"), eq["distinct_entries"][0].get("site")))
    sc.require(rl["count"] > 0, "certificates were reloaded (%d times)" % rl["count"])
    if failing:
        # reloads alternate: the failing set first, then the good one
        want = (rl["count"] + 1) // 2
        sc.require(rl["nonzero_returns"] == want,
                   "lws_tls_cert_updated() reported each failed reload (%d of %d)"
                   % (rl["nonzero_returns"], want))
    else:
        sc.require(rl["nonzero_returns"] == 0,
                   "lws_tls_cert_updated() reported every reload of a valid "
                   "certificate and key as done (%d reported failed)" % rl["nonzero_returns"])
    sc.require(rl["lws_entries_left_total"] == 0,
               "lws_tls_cert_updated() left nothing on the queue (%d entries)"
               % rl["lws_entries_left_total"])
    sc.require(eq["lws_left_total"] == 0,
               "no user callback saw an entry lws left (%d)" % eq["lws_left_total"])
    return summary


def ws_upgrade(host, port):
    return ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (host, port)).encode()


def rude_peer(sc, port, how):
    """TLS + ws upgrade, then vanish without close_notify.

    how: "eof"     close the socket (dirty EOF)
         "rst"     close with SO_LINGER {1,0} (reset)
         "ws-eof"  send a ws close, wait for the server's, then dirty EOF,
                   so the server's TLS shutdown meets a vanished peer
    """
    ctx = ssl.create_default_context(cafile=os.path.join(sc.pki, "ca.pem"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    tls.sendall(ws_upgrade("localhost", port))
    got = tls.recv(4096)
    if b" 101 " not in got.split(b"\r\n")[0]:
        raise sl.SetupError("no ws upgrade: %r" % got[:80])
    if how == "ws-eof":
        mask = b"\x11\x22\x33\x44"
        payload = struct.pack("!H", 1000)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        tls.sendall(b"\x88\x82" + mask + masked)
        try:
            tls.recv(64)  # the server's close frame
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        # let the server send its close_notify and wait for ours, so the
        # EOF lands in its TLS shutdown
        time.sleep(0.2)
    if how == "rst":
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()  # Python's close() never sends close_notify: a dirty EOF


def peer_eof_run(sc):
    srv = sc.start_server(["--check-queue"], duration=60)
    kinds = ["eof", "rst", "ws-eof"]
    n = 7 * len(kinds)
    for i in range(n):
        rude_peer(sc, srv.port, kinds[i % len(kinds)])
    time.sleep(1.0)
    # a healthy client afterwards, so the server runs callbacks after the
    # rude closes and would see anything left behind
    rc, summary = sc.run_client(srv.port, ["--connections", "2", "--messages-per-conn", "20"],
                                timeout=60)
    sc.stop(srv)
    server = sc.load_json("server.json")
    eq = server["error_queue"]
    sc.figure("rude_peers", n)
    sc.figure("server_closed", server["connections"]["closed"])
    sc.figure("lws_entries_seen_in_callbacks", eq["lws_left_total"])
    if eq["distinct_entries"]:
        sc.figure("entries", ["%s @ %s" % (e.get("entry"), e.get("site")) for e in eq["distinct_entries"][:3]])
    sc.require(server["connections"]["established"] >= n,
               "the rude peers were established first (%d)" % server["connections"]["established"])
    sc.require(eq["lws_left_total"] == 0,
               "no user callback saw an entry lws left after a dirty EOF / reset (%d)"
               % eq["lws_left_total"])
    sc.require(rc == 0, "the healthy client afterwards was unaffected")


def tls_record(ctype, body):
    return struct.pack("!BHH", ctype, 0x0303, len(body)) + body


def tls_handshake(htype, body):
    return struct.pack("!B", htype) + struct.pack("!I", len(body))[1:] + body


def speak_first_bytes(kind):
    """What a peer that speaks first sends on accept.

    bad-cert  a TLS 1.2 ServerHello (ECDHE-ECDSA-AES128-GCM-SHA256, secure
              renegotiation, no session id) and a Certificate message whose
              DER is malformed: OpenSSL fails with a stack of ASN1 entries +
              "ASN1 lib" (3 entries), the shape lws's single pop leaves behind
    banner    an SSH banner (a plain-text service on a TLS port): one entry
    """
    if kind == "banner":
        return b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
    ext = struct.pack("!HH", 0xff01, 1) + b"\x00"
    sh = (struct.pack("!H", 0x0303) + os.urandom(32) + b"\x00" + struct.pack("!H", 0xc02b) +
          b"\x00" + struct.pack("!H", len(ext)) + ext)
    der = b"\x30\x03\x02\x01\x01"  # X509 whose cert_info is an INTEGER
    certs = struct.pack("!I", len(der))[1:] + der
    cert = struct.pack("!I", len(certs))[1:] + certs
    return tls_record(22, tls_handshake(2, sh)) + tls_record(22, tls_handshake(11, cert))


class SpeakFirstPeer:
    """TCP listener that sends its bytes at once on accept (kinds rotate by
    accept order), then reads until the client goes.  Records, per
    connection, whether the client's first bytes (the ClientHello, written
    by lws's first SSL_connect) arrived after ours had been sent."""

    def __init__(self, kinds):
        self.kinds = kinds
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(256)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0
        self.hello_after = 0      # ClientHello arrived after our bytes
        self.hello_before = 0     # it was already there: precondition missed
        self.no_hello = 0
        self.by_kind = {}
        self.stop = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                kind = self.kinds[self.accepted % len(self.kinds)]
                self.accepted += 1
                self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            threading.Thread(target=self.serve, args=(c, kind), daemon=True).start()

    def serve(self, c, kind):
        try:
            c.setblocking(False)
            try:
                early = c.recv(1)   # anything already here came first
            except BlockingIOError:
                early = None
            c.setblocking(True)
            c.sendall(speak_first_bytes(kind))
            c.settimeout(10)
            got = early or c.recv(4096)
            with self.lock:
                if early:
                    self.hello_before += 1
                elif got:
                    self.hello_after += 1
                else:
                    self.no_hello += 1
            while c.recv(4096):
                pass
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.ls.close()


def client_queue_figures(sc, summary, prefix):
    eq = summary.get("error_queue")
    if not eq or not eq.get("checked"):
        raise sl.SetupError("client summary has no checked error_queue (--check-queue)")
    at = eq["lws_left_at_callback"]
    sites = [k for k in at if k.startswith("after ")]
    in_cb = sum(v for k, v in at.items() if k not in sites)
    after_service = at.get("after lws_service", 0)
    sc.figure(prefix + "attempts", summary["attempts"]["total"])
    sc.figure(prefix + "handshake_failures", summary["attempts"]["handshake_failed"])
    sc.figure(prefix + "lws_entries_in_callbacks", in_cb)
    sc.figure(prefix + "lws_entries_at_connection_error", at.get("CLIENT_CONNECTION_ERROR", 0))
    sc.figure(prefix + "lws_entries_after_api_returns", sum(at[k] for k in sites))
    if eq["distinct_entries"]:
        sc.figure(prefix + "entries", ["%s @ %s (%d)" % (e.get("entry"), e.get("site"), e.get("count", 0))
                                       for e in eq["distinct_entries"][:4]])
    reasons = {}
    for cls in summary["ends"]["by_reason"].values():
        for r, n in cls.items():
            reasons[r] = reasons.get(r, 0) + n
    sc.figure(prefix + "end_reasons", reasons)
    return in_cb, after_service, sum(at[k] for k in sites) - after_service


def connect_fail_run(sc):
    if sc.backend == "mbedtls":
        raise sl.SetupError("q2-connect-fail needs the OpenSSL API (client --check-queue)")
    conns, reconnects = 10, 4
    attempts = conns * (reconnects + 1)

    # 1. the first SSL_connect() fails: peers that speak first
    peer = SpeakFirstPeer(["bad-cert", "banner"])
    try:
        rc, summary = sc.run_client(peer.port, [
            "--connections", str(conns), "--reconnect", "--max-reconnects", str(reconnects),
            "--messages-per-conn", "1", "--connect-stall-ms", "20", "--check-queue"],
            tag="client-first", timeout=60)
        time.sleep(0.2)
    finally:
        peer.close()
    sc.figure("first_connect_peers", peer.by_kind)
    sc.figure("first_connect_peer_bytes_waiting", "%d/%d" % (peer.hello_after, peer.accepted))
    if peer.hello_before or peer.accepted < attempts:
        raise sl.SetupError("the peer's bytes were not always waiting before the first "
                            "SSL_connect (%d of %d connections had the ClientHello first, "
                            "%d accepted)" % (peer.hello_before, peer.accepted, peer.accepted))
    in_cb, after_svc, after_other = client_queue_figures(sc, summary, "first_connect_")

    # 2. control: the handshake breaks later (lws's second SSL_connect and on)
    d = 30
    srv = sc.start_server([], duration=d + 30)
    pport = start_proxy(sc, srv.port, d + 30,
                        ["--fraction", "1", "--faults", "corrupt", "--dir", "s2c"])
    rc2, summary2 = sc.run_client(pport, [
        "--connections", str(conns), "--reconnect", "--max-reconnects", str(reconnects),
        "--messages-per-conn", "1", "--check-queue",
        "--proxy-events", sc.path("proxy.events")], tag="client-mid", timeout=60)
    sc.stop(srv)
    in_cb2, after_svc2, after_other2 = client_queue_figures(sc, summary2, "mid_handshake_")

    sc.require(summary["attempts"]["handshake_failed"] == attempts and
               summary["attempts"]["handshake_ok"] == 0,
               "every first-SSL_connect handshake failed as planned (%d of %d)"
               % (summary["attempts"]["handshake_failed"], attempts))
    sc.require(summary2["attempts"]["handshake_failed"] == attempts,
               "every corrupted handshake failed as planned (%d of %d)"
               % (summary2["attempts"]["handshake_failed"], attempts))
    sc.require(in_cb == 0,
               "first SSL_connect failure: no client callback (CLIENT_CONNECTION_ERROR "
               "included) saw an entry lws left (%d)" % in_cb)
    sc.require(after_svc + after_other == 0,
               "first SSL_connect failure: nothing left after lws_service() / "
               "lws_client_connect_via_info() returned (%d)" % (after_svc + after_other))
    sc.require(in_cb2 + after_svc2 + after_other2 == 0,
               "later handshake failure (bad_record_mac): no entry lws left seen "
               "anywhere (%d)" % (in_cb2 + after_svc2 + after_other2))


def failing_server_run(sc):
    d = sc.args.duration
    srv = sc.start_server(["--plant", "ssl-info-handshake"], duration=d + 30)
    rc, summary = sc.run_client(srv.port, ["--connections", str(sc.args.connections),
                                           "--duration", str(d), "--reconnect",
                                           "--close-after", "10"], timeout=d + 60)
    sc.stop(srv)
    failed = summary["attempts"]["handshake_failed"]
    sc.figure("attempts", summary["attempts"]["total"])
    sc.figure("handshake_failures", failed)
    sc.require(failed > 0, "the server really failed handshakes (%d)" % failed)
    sc.require(summary["attempts"]["handshake_ok"] > 0,
               "the client went on connecting (%d established)" % summary["attempts"]["handshake_ok"])


def body(sc):
    a = sc.args
    sc.name = a.case
    if a.case == "client-vs-failing-server":
        failing_server_run(sc)
    elif a.case == "q1-handshake":
        plant_run(sc, ["ssl-info-handshake"], ["--close-after", "10"])
    elif a.case == "q1-keyupdate":
        plant_run(sc, ["ssl-info-established"], ["--key-update", "10", "--close-after", "200"])
    elif a.case == "q1-all-keyupdate":
        plant_run(sc, ["ssl-info-all"], ["--key-update", "10", "--close-after", "200"])
    elif a.case == "q2-reload-ec":
        reload_run(sc, os.path.join(sc.pki, "server.pem"),
                   os.path.join(sc.pki, "server-sec1.key"), "mem")
    elif a.case == "q2-reload-fail":
        reload_run(sc, os.path.join(sc.dir, "missing-cert.pem"),
                   os.path.join(sc.pki, "server.key"), "file", failing=True)
    elif a.case == "q2-peer-eof":
        peer_eof_run(sc)
    elif a.case == "q2-connect-fail":
        connect_fail_run(sc)
    elif a.case == "q3-guard":
        plant_run(sc, ["timer", "writeable", "receive", "established", "closed"],
                  ["--close-after", "50"], via_proxy=True)


if __name__ == "__main__":
    sl.main("errq", __doc__.split("\n")[0], body, add_args)
