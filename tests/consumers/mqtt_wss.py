"""MQTT over secure WebSocket, from the client side, for the consumer
scenarios (stdlib only).

A client that connects to a broker's wss listener (mosquitto's, served by
libwebsockets), says MQTT CONNECT, publishes, and then leaves the way
devices on bad links leave:

  disconnect  MQTT DISCONNECT, then the socket is closed without a TLS
              close_notify (what most embedded stacks do)
  rst         the socket is reset (SO_LINGER {1, 0}) without DISCONNECT
  cut         the connection ends in the middle of a TLS record: half of
              a record is sent, then FIN
  stay        nothing: the caller goes on with the connection (the
              scenario sends it through lws-faultproxy, which corrupts a
              record), then waits for the broker to close it
  clean       MQTT DISCONNECT, TLS close_notify, FIN: the control case

TLS goes through memory BIOs (tests/scenarios/tls_peer.Peer), so the
client decides exactly which bytes reach the socket.
"""

import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "scenarios"))
import tls_peer  # noqa: E402
from tls_peer import ws_client_frame  # noqa: E402

LEAVE_MODES = ("disconnect", "rst", "cut", "stay", "clean")


def mqtt_string(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def mqtt_packet(ptype, body):
    """Fixed header (type, remaining length as a varint) + body."""
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            break
    return bytes([ptype]) + rl + body


def mqtt_connect(client_id, keepalive=60):
    # MQTT 3.1.1, clean session
    return mqtt_packet(0x10, mqtt_string("MQTT") + bytes([4, 0x02]) +
                       struct.pack("!H", keepalive) + mqtt_string(client_id))


def mqtt_publish(topic, payload):
    return mqtt_packet(0x30, mqtt_string(topic) + payload)


MQTT_DISCONNECT = b"\xe0\x00"


def client_context(cafile, cert=None):
    """Trust cafile; present cert = (certfile, keyfile) when given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


class WssMqttClient:
    """One client connection; every step has the deadline given."""

    def __init__(self, port, cafile, deadline, client_id, cert=None, host="127.0.0.1"):
        # the certificate is checked for the name "localhost" (tls_peer)
        self.client_id = client_id
        s = socket.create_connection((host, port),
                                     timeout=max(0.1, deadline - time.monotonic()))
        self.peer = tls_peer.Peer(s, client_context(cafile, cert), False, deadline,
                                  slow=False)

    def open(self, keepalive=60):
        """TLS handshake, WebSocket upgrade (subprotocol mqtt), CONNECT and
        CONNACK; raises on anything unexpected."""
        p = self.peer
        try:
            p.handshake()
        except ssl.SSLError:
            # the alert OpenSSL wrote for the failure (unknown_ca, ...) is
            # still in the memory BIO: send it, as a socket-based client does
            try:
                p._flush()
            except OSError:
                pass
            raise
        status = tls_peer.ws_upgrade(p, "mqtt", "/mqtt")
        if " 101 " not in status:
            raise ConnectionError("upgrade refused: %r" % status)
        p.send(ws_client_frame(mqtt_connect(self.client_id, keepalive)))
        # CONNACK in one server frame: 0x82 0x04 0x20 0x02 0x00 rc
        frame = p.recv_exact(6)
        if frame[2] != 0x20 or frame[5] != 0:
            raise ConnectionError("no CONNACK: %r" % frame)

    def publish(self, topic, payload):
        self.peer.send(ws_client_frame(mqtt_publish(topic, payload)))

    def _record_bytes(self, data):
        """The TLS record(s) carrying data, not yet sent."""
        self.peer.obj.write(data)
        return self.peer.out.read()

    def leave(self, mode):
        p, s = self.peer, self.peer.sock
        if mode == "disconnect":
            p.send(ws_client_frame(MQTT_DISCONNECT))
            s.close()
        elif mode == "rst":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        elif mode == "cut":
            rec = self._record_bytes(ws_client_frame(mqtt_publish("leave", b"x" * 64)))
            s.sendall(rec[:len(rec) // 2])
            s.shutdown(socket.SHUT_WR)
            self._wait_closed(2)
            s.close()
        elif mode == "stay":
            self._wait_closed(2)
            s.close()
        elif mode == "clean":
            p.send(ws_client_frame(MQTT_DISCONNECT))
            try:
                p.obj.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLError):
                pass
            p._flush()
            s.shutdown(socket.SHUT_WR)
            self._wait_closed(2)
            s.close()
        else:
            raise ValueError("unknown leave mode %r" % mode)

    def _wait_closed(self, wait):
        s = self.peer.sock
        s.settimeout(wait)
        end = time.monotonic() + wait
        try:
            while time.monotonic() < end and s.recv(65536):
                pass
        except OSError:
            pass


def mqtt_subscribe(topic, packet_id=1):
    return mqtt_packet(0x82, struct.pack("!H", packet_id) + mqtt_string(topic) + b"\x00")


MQTT_PINGREQ = b"\xc0\x00"


def hold(args):
    """Open --connections subscribers with a short keepalive, keep them
    alive (PINGREQ every keepalive/2 s) and discard what they receive,
    until killed.  Prints "ready N" once all are subscribed."""
    import threading
    conns = []
    for i in range(args.connections):
        c = WssMqttClient(args.port, args.cafile, time.monotonic() + 20,
                          "%s-%d" % (args.client_id, i), host=args.host)
        c.open(keepalive=args.keepalive)
        c.peer.send(ws_client_frame(mqtt_subscribe(args.topic)))
        conns.append(c)

    def drain(c):
        try:
            while c.peer.sock.recv(65536):
                pass
        except OSError:
            pass

    for c in conns:
        c.peer.sock.settimeout(None)
        threading.Thread(target=drain, args=(c,), daemon=True).start()
    print("ready %d" % len(conns), flush=True)
    while True:
        time.sleep(args.keepalive / 2)
        for c in conns:
            try:
                c.peer.obj.write(ws_client_frame(MQTT_PINGREQ))
                c.peer._flush()
            except (OSError, ssl.SSLError):
                pass


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="MQTT over wss test clients (see the module doc)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold", help="subscribers that stay, until killed")
    h.add_argument("--host", default="127.0.0.1")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--cafile", required=True)
    h.add_argument("--connections", type=int, default=5)
    h.add_argument("--keepalive", type=int, default=2)
    h.add_argument("--topic", default="lwsh/dead")
    h.add_argument("--client-id", default="held")
    a = ap.parse_args()
    hold(a)
