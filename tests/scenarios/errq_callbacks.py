#!/usr/bin/env python3
"""Q1 for lws callbacks that run inside an SSL call and push nothing themselves.

lws's server ALPN select callback (alpn_cb, lib/tls/tls.c: SSL_select_next_proto)
and its client new-session callback (lws_tls_session_new_cb,
lib/tls/openssl/openssl-session.c: SSL_SESSION_get_timeout) run inside
SSL_accept / SSL_read.  They leave nothing on the error queue in normal
conditions, but a provider, an engine or a user hook can: lws-errq-shim.so
(test-apps/errq-shim, LD_PRELOAD) calls the real OpenSSL function, then pushes
one ERR_LIB_USER entry ("lws-errq-shim: <function>").  lws must scope the
callback (ERR_set_mark / ERR_pop_to_mark) so the in-flight call's
SSL_get_error() does not see it.

Cases (--case):
  q1-alpn         lws-stress-server preloaded with the shim on
                  SSL_select_next_proto; --connections Python clients
                  (OpenSSL via the ssl module, ALPN "http/1.1", TLS 1.3)
                  reconnect for --duration s, each doing a handshake and a ws
                  upgrade.  The server certificate file holds the full chain
                  (leaf + CA), as deployed certificates do: with a leaf alone
                  OpenSSL builds the chain itself in ssl_add_cert_chain() and
                  calls ERR_clear_error() there, which wipes the entry (and
                  hides the defect) on full handshakes.
                  Correct: no handshake fails, no client is dropped before
                  its upgrade answer.
  q1-new-session  lws-stress-client preloaded with the shim on
                  SSL_SESSION_get_timeout (called only by the new-session
                  callback); TLS 1.3 only, so the server's NewSessionTicket
                  messages arrive after the handshake and the callback runs
                  inside the client's SSL_read.  Correct: no client
                  connection fails or drops (no collateral end).
Both cases check the shim really fired (injections > 0, read from its exit
summary); a run where it did not is a setup error (exit 2) in every --expect
mode, never "defect shown".
"""

import json
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["q1-alpn", "q1-new-session"]


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--duration", type=float, default=5, help="client run time, s (default 5)")
    p.add_argument("--connections", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--shim", help="lws-errq-shim.so (default: the one in --apps)")
    p.add_argument("--every", type=int, default=1,
                   help="the shim injects on every Nth call (default 1)")


# ---- the shim ------------------------------------------------------------------

def shim_path(sc):
    path = sc.args.shim or os.path.join(sc.args.apps, "lws-errq-shim.so")
    if not os.path.isfile(path):
        raise sl.SetupError("lws-errq-shim.so not built (%s)" % path)
    return path


def shim_env(sc, app, functions, tag):
    """Environment that preloads the shim into app; its summary goes to <tag>.shim.json."""
    report = sc.path(tag + ".shim.json")
    if os.path.exists(report):
        os.unlink(report)
    env = sl.preload_env(app, shim_path(sc))
    env.update({"LWS_ERRQ_SHIM": ",".join(functions),
                "LWS_ERRQ_SHIM_EVERY": str(sc.args.every),
                "LWS_ERRQ_SHIM_REPORT": report})
    return report, env


def shim_figures(sc, report, function):
    """Read the shim's exit summary; no injection at all is a setup error."""
    try:
        with open(report) as f:
            summ = json.load(f)["lws_errq_shim"]
    except (OSError, ValueError, KeyError) as e:
        raise sl.SetupError("no lws-errq-shim summary %s (did the app exit normally?): %s"
                            % (report, e))
    fn = summ["functions"].get(function)
    if fn is None:
        raise sl.SetupError("the shim did not wrap %s: %s" % (function, summ))
    sc.figure("shim_function", function)
    sc.figure("shim_calls", fn["calls"])
    sc.figure("shim_injected", fn["injected"])
    if fn["injected"] <= 0:
        raise sl.SetupError("the shim never injected after %s (%d calls): no entry was "
                            "pushed inside the callback, nothing was tested"
                            % (function, fn["calls"]))
    return fn


# ---- q1-alpn -------------------------------------------------------------------

def ws_upgrade(host, port):
    return ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (host, port)).encode()


class AlpnClients:
    """N threads: TLS 1.3 + ALPN handshake, ws upgrade, close; again until the deadline."""

    def __init__(self, sc, port, n, duration):
        self.ctx = ssl.create_default_context(cafile=os.path.join(sc.pki, "ca.pem"))
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.port = port
        self.deadline = time.monotonic() + duration
        self.lock = threading.Lock()
        self.attempts = self.ok = self.alpn_ok = 0
        self.failures = {}          # kind -> count
        self.first_errors = []
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(n)]

    def run(self):
        for t in self.threads:
            t.start()
        for t in self.threads:
            t.join(timeout=max(0, self.deadline - time.monotonic()) + 30)
        if any(t.is_alive() for t in self.threads):
            raise sl.SetupError("ALPN client threads did not finish")

    def fail(self, kind, err):
        with self.lock:
            self.failures[kind] = self.failures.get(kind, 0) + 1
            if len(self.first_errors) < 5:
                self.first_errors.append("%s: %s" % (kind, err))

    def loop(self):
        while time.monotonic() < self.deadline:
            with self.lock:
                self.attempts += 1
            try:
                raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except OSError as e:
                self.fail("tcp connect", e)
                continue
            tls = None
            try:
                tls = self.ctx.wrap_socket(raw, server_hostname="localhost")
            except (ssl.SSLError, OSError) as e:
                raw.close()
                self.fail("tls handshake", e)
                continue
            try:
                alpn = tls.selected_alpn_protocol()
                tls.sendall(ws_upgrade("localhost", self.port))
                got = b""
                while b"\r\n\r\n" not in got:
                    d = tls.recv(4096)
                    if not d:
                        break
                    got += d
                if b" 101 " in got.split(b"\r\n", 1)[0]:
                    with self.lock:
                        self.ok += 1
                        self.alpn_ok += alpn == "http/1.1"
                else:
                    self.fail("dropped before the upgrade answer",
                              "EOF after %d bytes" % len(got))
            except (ssl.SSLError, OSError) as e:
                self.fail("dropped before the upgrade answer", e)
            finally:
                tls.close()


def alpn_run(sc):
    a = sc.args
    d = a.duration
    # the certificate file with the full chain (see the docstring)
    chain = sc.path("server-fullchain.pem")
    with open(chain, "w") as out:
        for name in ("server.pem", "ca.pem"):
            with open(os.path.join(sc.pki, name)) as f:
                out.write(f.read())
    server_app = sc.app("lws-stress-server", a.server_apps)
    report, env = shim_env(sc, server_app, ["SSL_select_next_proto"], "server")
    srv = start_server_chain(sc, chain, d + 60, env)

    clients = AlpnClients(sc, srv.port, a.connections, d)
    clients.run()
    rc = sc.stop(srv)
    if rc not in (0, None):
        raise sl.SetupError("lws-stress-server exited %s:\n%s" % (rc, sc.tail("server")))
    server = sc.load_json("server.json")
    fn = shim_figures(sc, report, "SSL_select_next_proto")

    conns = server["connections"]
    failed = sum(clients.failures.values())
    sc.figure("client_attempts", clients.attempts)
    sc.figure("client_upgrades_ok", clients.ok)
    sc.figure("client_failures", failed)
    sc.figure("client_failures_per_10s", round(failed * 10.0 / d, 1))
    if clients.failures:
        sc.figure("client_failure_kinds", clients.failures)
        sc.figure("client_first_errors", clients.first_errors)
    sc.figure("server_accepted", conns["accepted"])
    sc.figure("server_established", conns["established"])
    sc.figure("server_handshake_failures", conns["handshake_failures"])

    # preconditions: ALPN was offered and lws's callback really ran per handshake
    if clients.attempts == 0 or conns["accepted"] == 0:
        raise sl.SetupError("no connection was made")
    if fn["calls"] < conns["accepted"] * 0.9:
        raise sl.SetupError("alpn_cb ran for only %d of %d accepted connections"
                            % (fn["calls"], conns["accepted"]))
    if clients.ok and clients.alpn_ok != clients.ok:
        raise sl.SetupError("ALPN http/1.1 was not negotiated on %d of %d upgrades"
                            % (clients.ok - clients.alpn_ok, clients.ok))

    sc.require(conns["handshake_failures"] == 0,
               "no server handshake failed (%d of %d accepted; %d shim entries pushed "
               "inside alpn_cb)" % (conns["handshake_failures"], conns["accepted"],
                                    fn["injected"]))
    sc.require(failed == 0,
               "no client was dropped (%d of %d attempts)" % (failed, clients.attempts))
    sc.require(clients.ok > 0, "clients got their ws upgrade (%d)" % clients.ok)


def start_server_chain(sc, chain, duration, env):
    """lws-stress-server with --cert CHAIN (start_server() takes the PKI's leaf)."""
    ready = sc.path("server.ready")
    argv = [sc.app("lws-stress-server", sc.args.server_apps), "--port", "0",
            "--duration", str(int(duration)), "--ready-file", ready,
            "--json", sc.path("server.json"), "--seed", str(sc.args.seed),
            "--stats-interval", "0",
            "--cert", chain, "--key", os.path.join(sc.pki, "server.key")]
    p = sc.start("server", argv, env=env)
    p.port = sc.wait_ready(p, ready)
    return p


# ---- q1-new-session ----------------------------------------------------------------

def new_session_run(sc):
    a = sc.args
    d = a.duration
    srv = sc.start_server([], duration=d + 60)
    client_app = sc.app("lws-stress-client")
    report, env = shim_env(sc, client_app, ["SSL_SESSION_get_timeout"], "client")
    rc, summary = sc.run_client(srv.port, ["--connections", str(a.connections),
                                           "--duration", str(d), "--reconnect",
                                           "--close-after", "10", "--tls-max", "1.3"],
                                timeout=d + 60, env=env)
    sc.stop(srv)
    fn = shim_figures(sc, report, "SSL_SESSION_get_timeout")
    server = sc.load_json("server.json")

    ends = summary["ends"]
    att = summary["attempts"]
    sc.figure("attempts", att["total"])
    sc.figure("handshake_ok", att["handshake_ok"])
    sc.figure("handshake_failures", ends["collateral_handshake_failures"])
    sc.figure("established_drops", ends["collateral_established_drops"])
    sc.figure("collateral_per_10s", round(ends["collateral"] * 10.0 / d, 1))
    sc.figure("messages_lost", summary["messages"]["lost"])
    sc.figure("server_tls_sessions", server.get("tls_sessions"))
    reasons = ends["by_reason"]["collateral"]
    if reasons:
        sc.figure("collateral_reasons", dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:2]))

    if att["handshake_ok"] == 0:
        raise sl.SetupError("the client established no connection")

    sc.require(ends["collateral"] == 0,
               "no client connection failed or dropped (%d handshake failures, %d established "
               "drops; %d shim entries pushed inside the new-session callback)"
               % (ends["collateral_handshake_failures"], ends["collateral_established_drops"],
                  fn["injected"]))
    sc.require(summary["messages"]["lost"] == 0 and summary["messages"]["corrupted"] == 0,
               "no lost or corrupted message")


def body(sc):
    sc.name = sc.args.case
    if sc.backend != "openssl":
        raise sl.SetupError("%s needs the OpenSSL backend (lws-errq-shim)" % sc.args.case)
    if sc.args.every < 1:
        raise sl.SetupError("--every must be >= 1")
    if sc.args.case == "q1-alpn":
        alpn_run(sc)
    else:
        new_session_run(sc)


if __name__ == "__main__":
    sl.main("errq_callbacks", __doc__.split("\n")[0], body, add_args)
