"""A slow TLS 1.2 peer for the mbedTLS scenarios (stdlib only).

The peer drives TLS through memory BIOs over a socket whose receive buffer
is tiny, and pauses before each socket read of at most READ_CHUNK bytes: a
sender's handshake flight larger than its own (tiny) send buffer and our
receive window then stops half-written, so the sender has to wait for
POLLOUT (field notes M3).  It speaks just enough WebSocket for
lws-stress-client / lws-stress-server: an upgrade, and echo of frames.
It also reports the TLS records a peer sends after our close_notify
(field notes M2: answered with one close_notify, then FIN).
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import time

READ_CHUNK = 1024
PAUSE = 0.02            # s before each socket read: a slow reader
RCVBUF = 1              # the kernel rounds this up to its minimum
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Peer:
    """One TLS connection over sock; every call has a deadline."""

    def __init__(self, sock, ctx, server_side, deadline, slow=True):
        self.sock, self.deadline, self.slow = sock, deadline, slow
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=server_side,
                                server_hostname=None if server_side else "localhost")
        self.plain = b""

    def _flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def _feed(self):
        if self.slow:
            time.sleep(PAUSE)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("peer deadline passed")
        self.sock.settimeout(left)
        d = self.sock.recv(READ_CHUNK if self.slow else 65536)
        if not d:
            raise EOFError("peer closed the connection")
        self.inc.write(d)

    def pump(self, fn):
        while True:
            try:
                r = fn()
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()

    def handshake(self):
        self.pump(self.obj.do_handshake)

    def send(self, data):
        self.pump(lambda: self.obj.write(data))

    def recv_until(self, marker):
        while marker not in self.plain:
            self.plain += self.pump(lambda: self.obj.read(65536))
        head, _, self.plain = self.plain.partition(marker)
        return head

    def recv_exact(self, n):
        while len(self.plain) < n:
            self.plain += self.pump(lambda: self.obj.read(65536))
        d, self.plain = self.plain[:n], self.plain[n:]
        return d

    def close_notify_then_records(self, wait):
        """Send our close_notify; return (record types the peer sent after
        it, how its side ended: 'fin', 'rst' or 'timeout')."""
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self._flush()
        buf, end = b"", "timeout"
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    end = "fin"
                    break
                buf += d
        except ConnectionResetError:
            end = "rst"
        except socket.timeout:
            pass
        types, i = [], 0
        while i + 5 <= len(buf):
            types.append(buf[i])
            i += 5 + struct.unpack("!H", buf[i + 3:i + 5])[0]
        return types, end


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def server_context(pki, require_client_cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"))
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(pki, "ca.pem"))
    return ctx


def connect(port, deadline, slow):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if slow:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    s.settimeout(max(0.1, deadline - time.monotonic()))
    s.connect(("127.0.0.1", port))
    return Peer(s, client_context(), False, deadline, slow)


def ws_upgrade(peer, protocol="lws-stress", path="/"):
    """Client side: upgrade to `protocol`; the status line."""
    key = base64.b64encode(os.urandom(16)).decode()
    peer.send(("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n"
               % (path, key, protocol)).encode())
    return peer.recv_until(b"\r\n\r\n").split(b"\r\n")[0].decode(errors="replace")


def ws_accept(peer):
    """Server side: answer a client's upgrade request."""
    head = peer.recv_until(b"\r\n\r\n").decode(errors="replace")
    key = ""
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "sec-websocket-key":
            key = v.strip()
    acc = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    peer.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
               "Sec-WebSocket-Protocol: lws-stress\r\n\r\n" % acc).encode())


def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return hdr + payload


def ws_client_frame(payload, opcode=2):
    """A masked (client to server) frame, binary by default."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    else:
        hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_echo(peer, max_frames=100000, stop_after=None):
    """Server side: echo data frames (unmasked) until the client's close,
    answered, or until stop_after messages are echoed; return the number of
    messages echoed."""
    echoed = 0
    for _ in range(max_frames):
        if stop_after is not None and echoed >= stop_after:
            return echoed
        b0, b1 = peer.recv_exact(2)
        op, ln = b0 & 0x0f, b1 & 0x7f
        if ln == 126:
            ln = struct.unpack("!H", peer.recv_exact(2))[0]
        elif ln == 127:
            ln = struct.unpack("!Q", peer.recv_exact(8))[0]
        mask = peer.recv_exact(4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(peer.recv_exact(ln)))
        if op == 8:
            peer.send(ws_frame(8, data[:2]))
            return echoed
        if op == 9:
            peer.send(ws_frame(10, data))
        elif op in (0, 1, 2):
            peer.send(bytes([b0]) + ws_frame(op, data)[1:])
            echoed += b0 >> 7
    return echoed


def listen_slow(slow=True):
    """A listening socket; slow: its accepted sockets have a tiny receive window."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if slow:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def serve_one(lsock, ctx, deadline, res, slow=True, close_notify_after=None):
    """Accept one client, TLS handshake (slow: see Peer), ws upgrade, echo
    until its close; or, with close_notify_after=K, end with our
    close_notify after K echoes and see what the client answers.  Fills
    res: handshake_s, client_cert, echoed, error (and records_after_close,
    client_end)."""
    res.update({"handshake_s": None, "client_cert": None, "echoed": None, "error": None})
    conn = None
    try:
        lsock.settimeout(max(0.1, deadline - time.monotonic()))
        conn, _ = lsock.accept()
        t0 = time.monotonic()
        peer = Peer(conn, ctx, True, deadline, slow=slow)
        peer.handshake()
        res["handshake_s"] = round(time.monotonic() - t0, 3)
        res["client_cert"] = peer.obj.getpeercert() is not None
        peer.slow = False
        ws_accept(peer)
        res["echoed"] = ws_echo(peer, stop_after=close_notify_after)
        if close_notify_after is not None:
            res["records_after_close"], res["client_end"] = \
                peer.close_notify_then_records(wait=5)
    except (OSError, EOFError, TimeoutError, ValueError, ssl.SSLError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if conn:
            conn.close()
