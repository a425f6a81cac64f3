#!/usr/bin/env python3
"""Clean closes stay graceful (D3): ws close, TLS close_notify, FIN, no RST.

A guard for the dead-link fixes (D1/D2): aborting a connection (SO_LINGER
{1,0}, no close_notify) is right for a dead link and wrong for a healthy one.
Passes on vanilla 4.3.5; it must keep passing on lws-hardened.

  a1  a stdlib-ssl ws client (the "probe", run in the client namespace) sends
      a ws close 1000 to lws-stress-server: the server must answer with a ws
      close, then a TLS close_notify (the probe reads SSL_ERROR_ZERO_RETURN,
      not an unexpected EOF), then FIN (not RST).
  a2  the server initiates (SIGTERM: ws close 1001 to every client): same
      checks on the probe's side.
  a3  lws-stress-client <-> lws-stress-server, 5 connections that each close
      after 20 echoes: every end intended, the server saw ws close 1000 from
      each, the server sent no RST.
  b   a large response (--large-response, 4 MB) to a slow but live reader
      (--large-request --slow-read-ms) arrives whole and intact, followed by
      a graceful close, the server sent no RST.
  c   an HTTPS GET with keep-alive, then silence: when lws's keep-alive idle
      timeout (5 s) ends the connection, the probe reads the response, then
      a TLS close_notify and FIN, no RST (an idle end is not a dead link).

RSTs are counted by the TCP MIB (TcpOutRsts) of each namespace; on loopback
(--ns loopback, or no namespaces) the machine's counters are shared with
other tests, so only what the peers observe is checked there.
(The lws client sends no close_notify of its own: that is S1, not checked.)
"""

import base64
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import time

import netns
import scenario_lib as sl

PROBE_TIMEOUT = 15      # s, a whole probe run
LARGE_BYTES = 4000000


def add_args(p):
    p.add_argument("--ns", choices=["auto", "netns", "loopback"], default="auto",
                   help="network namespaces (auto: if possible) or loopback")
    p.add_argument("--large-bytes", type=int, default=LARGE_BYTES,
                   help="size of the large response (default %d)" % LARGE_BYTES)


# ---- the probe: a minimal wss client on the stdlib ------------------------------

def ws_frame(opcode, payload=b""):
    """A masked client frame (payload < 126 bytes)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask + body


class FrameReader:
    def __init__(self, tls):
        self.tls, self.buf = tls, b""

    def _need(self, n):
        while len(self.buf) < n:
            d = self.tls.recv(65536)
            if not d:
                raise EOFError("TLS closed in the middle of a ws frame")
            self.buf += d

    def frame(self):
        self._need(2)
        op, ln = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        hdr = 2
        if ln == 126:
            self._need(4)
            ln, hdr = struct.unpack("!H", self.buf[2:4])[0], 4
        elif ln == 127:
            self._need(10)
            ln, hdr = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(hdr + ln)
        payload, self.buf = self.buf[hdr:hdr + ln], self.buf[hdr + ln:]
        return op, payload


def probe(host, port, mode):
    """Connect, upgrade, close (mode 'client') or await the server's close
    (mode 'server'); or (mode 'keepalive') send one HTTP GET and wait for
    the server's idle close.  Report what the peer did: one JSON line."""
    res = {"upgrade": False, "ws_close_code": None, "close_notify": False,
           "fin": False, "rst": False, "error": None}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=PROBE_TIMEOUT)
    # an unexpected EOF must raise, not read as a clean end
    tls = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    if mode == "keepalive":
        keepalive_probe(tls, host, port, res)
        print(json.dumps(res), flush=True)
        return
    try:
        upgrade(tls, host, port, res)
        rd = FrameReader(tls)
        if mode == "client":
            tls.sendall(ws_frame(8, struct.pack("!H", 1000)))
        print("READY", flush=True, file=sys.stderr)   # the server may be stopped now
        await_close(tls, rd, mode, res)
        # after the ws close the server owes us close_notify: recv -> b''
        res["close_notify"] = tls.recv(65536) == b"" and not rd.buf
        if res["close_notify"]:
            res["fin"] = await_fin(tls)
    except ConnectionResetError as e:
        res["rst"], res["error"] = True, str(e)
    except (ssl.SSLError, OSError, EOFError, ValueError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(res), flush=True)


def read_head(tls, missing):
    """An HTTP response head (and whatever came with it); EOFError(missing) if none."""
    head = b""
    while b"\r\n\r\n" not in head:
        d = tls.recv(4096)
        if not d:
            raise EOFError(missing)
        head += d
    return head


def keepalive_probe(tls, host, port, res):
    res.update({"http_status": None, "idle_close_s": None})
    try:
        tls.sendall(("GET / HTTP/1.1\r\nHost: %s:%d\r\nConnection: keep-alive\r\n\r\n"
                     % (host, port)).encode())
        head = read_head(tls, "no HTTP response")
        res["http_status"] = int(head.split(b"\r\n")[0].split()[1])
        t0 = time.monotonic()
        # the rest of the response body, then the idle close: b'' only for
        # a close_notify (suppress_ragged_eofs=False)
        while tls.recv(65536):
            pass
        res["idle_close_s"] = round(time.monotonic() - t0, 2)
        res["close_notify"] = True
        res["fin"] = await_fin(tls)
    except ConnectionResetError as e:
        res["rst"], res["error"] = True, str(e)
    except (ssl.SSLError, OSError, EOFError, ValueError, IndexError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)


def await_fin(tls):
    """After the server's close_notify: its FIN (True) or a timeout (False).

    Servers that do not wait for our close_notify (lws on mbedTLS) send FIN
    at once; we then close without answering, because a close_notify sent
    into their closed socket only provokes an RST that says nothing about
    them.  Servers that wait for it (lws on OpenSSL, LRS_SHUTDOWN) get it
    after a second, then must FIN.  A reset raises ConnectionResetError."""
    raw = socket.socket(fileno=os.dup(tls.fileno()))   # TCP level, no TLS
    try:
        raw.settimeout(1.0)
        try:
            return raw.recv(1) == b""
        except socket.timeout:
            pass
        tls.unwrap()
        raw.settimeout(PROBE_TIMEOUT / 3)
        return raw.recv(1) == b""
    finally:
        raw.close()


def upgrade(tls, host, port, res):
    key = base64.b64encode(os.urandom(16)).decode()
    tls.sendall(("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: lws-stress\r\n\r\n"
                 % (host, port, key)).encode())
    head = read_head(tls, "no upgrade response")
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise ValueError("upgrade refused: %r" % head.split(b"\r\n")[0])
    res["upgrade"] = True


def await_close(tls, rd, mode, res):
    while True:
        op, payload = rd.frame()
        if op == 8:
            res["ws_close_code"] = struct.unpack("!H", payload[:2])[0] if payload else 1005
            if mode == "server":            # answer the server's close
                tls.sendall(ws_frame(8, payload[:2]))
            return
        if op == 9:                         # ping -> pong
            tls.sendall(ws_frame(10, payload))


# ---- the scenario -----------------------------------------------------------------

class RstMeter:
    """TcpOutRsts of both namespaces over a step (None on loopback)."""

    def __init__(self, place):
        self.place = place
        self.before = self._read()

    def _read(self):
        m = {s: self.place.tcp_mib(s) for s in ("server", "client")}
        return None if None in m.values() else m

    def delta(self):
        after = self._read()
        if after is None or self.before is None:
            return None
        return {s: {k: after[s][k] - self.before[s][k]
                    for k in ("TcpOutRsts", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnData")}
                for s in after}


def run_probe(sc, place, port, mode, server=None):
    argv = place.prefix("client") + [sys.executable, os.path.abspath(__file__),
                                    "--probe", place.server_host, str(port), mode]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if server is not None:              # server-initiated close: stop it now
            if p.stderr.readline().strip() != "READY":
                raise sl.SetupError("probe not connected")
            sc.stop(server)
        out, err = p.communicate(timeout=PROBE_TIMEOUT + 5)
    except subprocess.TimeoutExpired:
        p.kill()
        raise sl.SetupError("probe hung")
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise sl.SetupError("probe failed: %s" % err.strip()[-600:])


def check_probe(sc, tag, res, code, rsts, rst_sides):
    sc.figure(tag, {"probe": res, "rst_delta": rsts})
    print("  %s: %s; RST delta %s" % (tag, res, rsts))
    sc.require(res["ws_close_code"] == code,
               "%s: the server sent a ws close (%s; wanted %d)" % (tag, res["ws_close_code"], code))
    sc.require(res["close_notify"],
               "%s: then a TLS close_notify (error: %s)" % (tag, res["error"]))
    sc.require(res["fin"] and not res["rst"], "%s: then FIN, no RST" % tag)
    require_no_rst(sc, tag, rsts, rst_sides)


def require_no_rst(sc, tag, rsts, sides):
    """No RST sent from `sides` (the others' RSTs are figures only)."""
    if rsts is not None:
        sent = {s: rsts[s]["TcpOutRsts"] for s in sides}
        sc.require(not any(sent.values()), "%s: no RST sent by %s (%s)"
                   % (tag, " or ".join(sides), sent))


def step_probe_close(sc, place):
    server = netns.start_server(sc, place, [], tag="server-a1")
    m = RstMeter(place)
    res = run_probe(sc, place, server.port, "client")
    time.sleep(0.3)
    check_probe(sc, "a1_client_closes", res, 1000, m.delta(), ("server", "client"))
    sc.stop(server)


def step_server_closes(sc, place):
    server = netns.start_server(sc, place, [], tag="server-a2")
    m = RstMeter(place)
    res = run_probe(sc, place, server.port, "server", server=server)
    time.sleep(0.3)
    # the exiting server may reset after its close_notify and FIN (mbedTLS:
    # the probe's ws close answer is still unread when it closes, TcpExtTCP-
    # AbortOnClose; 3 of 4 runs): the probe's checks above see the order, so
    # only the probe's side is held to "no RST"; the server's is a figure
    check_probe(sc, "a2_server_closes", res, 1001, m.delta(), ("client",))


def run_pair(sc, place, tag, sextra, cextra, timeout=60):
    server = netns.start_server(sc, place, sextra, tag="server-" + tag)
    m = RstMeter(place)
    client = sc.start("client-" + tag, netns.client_argv(sc, place, server.port, cextra,
                                                         tag="client-" + tag))
    rc = sc.wait(client, timeout)
    time.sleep(0.5)                     # let the last FINs cross
    rsts = m.delta()
    sc.stop(server)
    return rc, sc.load_json("client-%s.json" % tag), sc.load_json("server-%s.json" % tag), rsts


def step_pair_close(sc, place):
    n = 5
    rc, cj, sj, rsts = run_pair(sc, place, "a3", [], [
        "--connections", str(n), "--messages-per-conn", "20", "--window", "2"])
    codes = sj["close_reasons"]["peer_close_codes"]
    fig = {"client_exit": rc, "ends": cj["ends"], "server_close_reasons": sj["close_reasons"],
           "rst_delta": rsts}
    sc.figure("a3_pair_client_closes", fig)
    print("  a3_pair_client_closes: %s" % fig)
    sc.require(rc == 0 and cj["ends"]["collateral"] == 0,
               "a3: client exit 0, no collateral end (exit %d)" % rc)
    sc.require(codes.get("1000") == n,
               "a3: the server saw ws close 1000 from each of %d clients (%s)" % (n, codes))
    # the vanilla lws client close()s with the server's close_notify unread,
    # so its kernel resets (TcpExtTCPAbortOnClose, one per connection; it
    # never reads or sends close_notify, S1): only the server side is checked
    require_no_rst(sc, "a3", rsts, ("server",))


def step_large(sc, place):
    rc, cj, sj, rsts = run_pair(sc, place, "b", ["--large-response", str(sc.args.large_bytes)], [
        "--connections", "1", "--messages-per-conn", "3", "--large-request",
        "--slow-read-ms", "2"], timeout=120)
    msgs = cj["messages"]
    fig = {"client_exit": rc, "large_ok": msgs["large_responses_ok"], "lost": msgs["lost"],
           "corrupted": msgs["corrupted"], "server_large": sj["messages"]["large_responses"],
           "server_close_reasons": sj["close_reasons"], "rst_delta": rsts}
    sc.figure("b_large_slow_reader", fig)
    print("  b_large_slow_reader: %s" % fig)
    sc.require(rc == 0 and msgs["large_responses_ok"] == 1 and not msgs["lost"]
               and not msgs["corrupted"],
               "b: the %d-byte response arrived whole to the slow reader (ok %d, lost %d, "
               "corrupted %d, exit %d)" % (sc.args.large_bytes, msgs["large_responses_ok"],
                                           msgs["lost"], msgs["corrupted"], rc))
    sc.require(sj["close_reasons"]["peer_close_codes"].get("1000") == 1,
               "b: then a graceful close (ws close 1000 seen by the server)")
    require_no_rst(sc, "b", rsts, ("server",))


def step_keepalive_idle(sc, place):
    server = netns.start_server(sc, place, [], tag="server-c")
    m = RstMeter(place)
    res = run_probe(sc, place, server.port, "keepalive")
    time.sleep(0.3)
    rsts = m.delta()
    sc.figure("c_keepalive_idle", {"probe": res, "rst_delta": rsts})
    print("  c_keepalive_idle: %s; RST delta %s" % (res, rsts))
    sc.require(res["http_status"] is not None,
               "c: the HTTP request was answered (%s; error %s)" % (res["http_status"],
                                                                   res["error"]))
    sc.require(res["close_notify"],
               "c: the idle close came with a TLS close_notify (error: %s)" % res["error"])
    sc.require(res["fin"] and not res["rst"], "c: then FIN, no RST")
    require_no_rst(sc, "c", rsts, ("server",))
    sc.stop(server)


def body(sc):
    try:
        place, note = netns.make_place(sc.args.ns)
    except netns.PlaceError as e:
        raise sl.SetupError(str(e))
    print(note)
    sc.figure("place", place.kind)
    try:
        for step in (step_probe_close, step_server_closes, step_pair_close, step_large,
                     step_keepalive_idle):
            step(sc, place)
    except netns.PlaceError as e:
        raise sl.SetupError(str(e))
    finally:
        for p in sc.procs:              # apps die before their namespaces
            sc.kill(p)
        place.__exit__()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        probe(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    sl.main("graceful", __doc__.splitlines()[0], body, add_args)
