#!/usr/bin/env python3
"""mbedTLS error mapping (M1-M4) with one connection and a fault on it.

Cases (--case):
  m1-read-timeout  one read() on the client's TLS socket fails with
                   ETIMEDOUT (lws-io-shim, LD_PRELOAD), in the middle of an
                   echo exchange: the link failed.  Correct: the client ends
                   that connection at once (it does not go on as if the
                   read only had to wait), before its messages are all
                   echoed; built against lws-hardened, with the close cause
                   io-error.  OpenSSL builds do this already (a guard);
                   the 4.3.5 mbedTLS wrapper keeps the stale WANT_READ of
                   the previous read and carries on (field notes M1).
  m2-peer-close-notify
                   a client upgrades to ws, then ends with a TLS close_notify
                   (no ws close).  Correct: the lws server answers with one
                   close_notify, then FIN; built against lws-hardened, the
                   end is counted clean.  lws-io-shim counts the alert
                   records the server writes.  The 4.3.5 mbedTLS wrapper
                   takes the close_notify for a failed read (M2) and writes
                   a second close_notify into the socket it has shut down.
  m2-client-peer-close-notify
                   the same for the client: the (Python) server ends with
                   its close_notify after 3 echoes.  Correct: the lws
                   client answers with one close_notify, then FIN; built
                   against lws-hardened, the close cause is clean.  The
                   4.3.5 mbedTLS client takes it for a failed read and
                   closes without answering.
  m3-server-want-write
                   the server's certificate (about 11 KB) does not fit its
                   socket send buffer (SO_SNDBUF set tiny by lws-io-shim)
                   nor the window of a slowly reading client: the handshake
                   must wait for POLLOUT.  Correct: the handshake completes
                   (well before the server's 5 s timeout).  The 4.3.5
                   wrapper drops the WANT_WRITE and the server guesses a
                   WANT_READ from errno == EAGAIN (M3): it stalls to the
                   timeout.
  m3-client-want-write
                   the same for the client: its certificate (about 11 KB,
                   asked for by a slowly reading TLS server) and a tiny
                   send buffer.  Correct: the handshake completes and the
                   messages are echoed; the 4.3.5 mbedTLS client never arms
                   POLLOUT for a handshake WANT_WRITE (M3) and stalls.
  m4-read-reset    one read() on the server's TLS socket fails with
                   ECONNRESET.  Correct: no close_notify (no alert record)
                   is written into the reset link, even with lws-hardened's
                   abortive close of dead links turned off (it would hide
                   the glue's part); built against lws-hardened, the close
                   cause names the reset.  The 4.3.5
                   mbedTLS glue leaves such a connection usable (M4) and
                   the server's close sends close_notify into it.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402
import tls_peer  # noqa: E402

CASES = ["m1-read-timeout", "m2-peer-close-notify", "m2-client-peer-close-notify",
         "m3-server-want-write",
         "m3-client-want-write", "m4-read-reset"]
MESSAGES = 200
FAIL_READ = 40  # well past the handshake, well before the last echo
SERVER_TIMEOUT = 5  # lws-stress-server --timeout-secs in the M3 server case
TINY_SNDBUF = 1     # the kernel rounds it up to its minimum (4.5 KB on Linux)


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--errno", choices=["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"],
                   help="errno of the failed read (default ETIMEDOUT; ECONNRESET for m4)")


def shim_env(sc, app, report, **settings):
    env = sl.preload_env(app, os.path.join(sc.args.apps, "lws-io-shim.so"))
    env["LWS_IO_SHIM_REPORT"] = report
    env.update({"LWS_IO_SHIM_" + k.upper(): str(v) for k, v in settings.items()})
    return env


def shim_report(report):
    try:
        with open(report) as f:
            return json.load(f)["lws_io_shim"]
    except (OSError, ValueError, KeyError) as e:
        raise sl.SetupError("no lws-io-shim report (%s)" % e)


def require_injected(shim):
    """The shim failed exactly read #FAIL_READ, or the fault was not made."""
    if shim["injected"] != 1:
        raise sl.SetupError("the shim failed %d reads of %d, not read #%d"
                            % (shim["injected"], shim["socket_reads"], FAIL_READ))


def failed_read(sc, errno_name):
    """m1: the client's read #FAIL_READ fails with errno_name."""
    srv = sc.start_server([], duration=60)
    report = sc.path("client.io-shim.json")
    env = shim_env(sc, sc.app("lws-stress-client"), report,
                   fail_read=FAIL_READ, errno=errno_name)
    rc, summary = sc.run_client(srv.port, ["--connections", "1", "--messages-per-conn",
                                           str(MESSAGES), "--attempt-log", "4"],
                                timeout=60, env=env)
    sc.stop(srv)
    shim = shim_report(report)
    require_injected(shim)
    log = summary.get("attempt_log") or []
    if not log or not log[0]["established"]:
        raise sl.SetupError("the connection was not established: %s" % log[:1])
    first = log[0]
    sc.figure("socket_reads", shim["socket_reads"])
    sc.figure("end_class", first["class"])
    sc.figure("end_cause", first.get("cause"))
    sc.figure("echoed", summary["messages"].get("received"))
    sc.require(first["class"] != "intended",
               "the connection whose read failed with %s ended there (it ended %s, %s)"
               % (errno_name, first["class"], first["reason"]))
    if first.get("cause") is not None:  # lws-hardened reports why
        sc.require(first["cause"] in ("io-error", "peer-reset"),
                   "its close cause names the socket error (%s)" % first["cause"])


def server_read_reset(sc, errno_name):
    """m4: the server's read #FAIL_READ fails with errno_name (a reset link)."""
    report = sc.path("server.io-shim.json")
    env = shim_env(sc, sc.app("lws-stress-server", sc.args.server_apps), report,
                   fail_read=FAIL_READ, errno=errno_name)
    # lws-hardened's abortive close (0015) would also keep close_notify out
    # of a reset link; turned off, the TLS glue has to do it on its own
    extra = ["--no-abortive-close"] if sc.args.variant.startswith("hardened") else []
    srv = sc.start_server(extra, duration=60, env=env)
    # TLS 1.2 (mbedTLS 2.28 has nothing else): a close_notify is then a record
    # of its own type, which the shim counts.  The client only makes traffic:
    # its connection is cut (exit 1), which is not what is measured.
    tls12 = ["--tls-max", "1.2"] if sc.backend != "mbedtls" else []
    sc.run_client(srv.port, ["--connections", "1", "--messages-per-conn", str(MESSAGES)]
                  + tls12, timeout=60)
    sc.stop(srv)
    shim = shim_report(report)
    require_injected(shim)
    causes = sc.load_json("server.json").get("ends_by_cause")
    sc.figure("server_socket_reads", shim["socket_reads"])
    sc.figure("alerts_after_failed_read", shim["alerts_after_injected"])
    sc.figure("ends_by_cause", causes)
    print("  server: %d alert record(s) written after its read failed with %s; ends %s"
          % (shim["alerts_after_injected"], errno_name, causes))
    sc.require(shim["alerts_after_injected"] == 0,
               "no close_notify was written into the reset link (%d alert records)"
               % shim["alerts_after_injected"])
    if causes is not None:  # lws-hardened reports why
        sc.require(set(causes) <= {"io-error", "peer-reset"} and causes,
                   "the server's close cause names the socket error (%s)" % causes)


def peer_close_notify(sc):
    report = sc.path("server.io-shim.json")
    env = shim_env(sc, sc.app("lws-stress-server", sc.args.server_apps), report)
    srv = sc.start_server([], duration=30, env=env)
    try:
        peer = tls_peer.connect(srv.port, time.monotonic() + 15, slow=False)
        peer.handshake()
        status = tls_peer.ws_upgrade(peer)
        if " 101 " not in status + " ":
            raise sl.SetupError("upgrade refused: %s" % status)
        types, end = peer.close_notify_then_records(wait=5)
    except (OSError, EOFError, TimeoutError) as e:
        raise sl.SetupError("the peer could not connect and upgrade: %s" % e)
    # our FIN too: the server's last chance to write a second close_notify
    peer.sock.close()
    time.sleep(1)
    sc.stop(srv)
    shim = shim_report(report)
    summary = sc.load_json("server.json")
    causes = summary.get("ends_by_cause")
    sc.figure("records_after_our_close_notify", types)
    sc.figure("server_side_end", end)
    sc.figure("alerts_written", shim["alerts_written"])
    sc.figure("alerts_write_failed", shim["alerts_write_failed"])
    sc.figure("ends_by_cause", causes)
    print("  peer saw records %s then %s; server wrote %d alert record(s), %d failed"
          % (types, end, shim["alerts_written"], shim["alerts_write_failed"]))
    sc.require(types == [21] and end == "fin",
               "the server answered with one alert record, then FIN (%s, %s)" % (types, end))
    sc.require(shim["alerts_written"] == 1 and shim["alerts_write_failed"] == 0,
               "it wrote exactly one close_notify (%d written, %d of them failed)"
               % (shim["alerts_written"], shim["alerts_write_failed"]))
    if causes is not None:  # lws-hardened reports why
        sc.require(causes == {"clean": 1}, "the end was counted clean (%s)" % causes)


def client_peer_close_notify(sc):
    """m2, client side: the server ends with close_notify after 3 echoes."""
    deadline = time.monotonic() + 30
    lsock = tls_peer.listen_slow(slow=False)
    res = {}
    th = threading.Thread(target=tls_peer.serve_one, daemon=True,
                          args=(lsock, tls_peer.server_context(sc.pki, False), deadline, res),
                          kwargs={"slow": False, "close_notify_after": 3})
    th.start()
    report = sc.path("client.io-shim.json")
    env = shim_env(sc, sc.app("lws-stress-client"), report)
    tls12 = ["--tls-max", "1.2"] if sc.backend != "mbedtls" else []
    rc, summary = sc.run_client(lsock.getsockname()[1],
                                ["--connections", "1", "--messages-per-conn", "20",
                                 "--attempt-log", "2"] + tls12, timeout=30, env=env)
    th.join(max(0.1, deadline - time.monotonic()))
    lsock.close()
    shim = shim_report(report)
    if res.get("echoed") != 3 or "records_after_close" not in res:
        raise sl.SetupError("the peer did not get to its close_notify: %s" % res)
    first = (summary.get("attempt_log") or [{}])[0]
    types, end = res["records_after_close"], res["client_end"]
    sc.figure("records_after_our_close_notify", types)
    sc.figure("client_side_end", end)
    sc.figure("alerts_written", shim["alerts_written"])
    sc.figure("alerts_write_failed", shim["alerts_write_failed"])
    sc.figure("end_cause", first.get("cause"))
    print("  peer saw records %s then %s; client wrote %d alert record(s), %d failed"
          % (types, end, shim["alerts_written"], shim["alerts_write_failed"]))
    # data records the client had in flight may come first
    sc.require(types.count(21) == 1 and types[-1] == 21 and end == "fin",
               "the client answered with one alert record, then FIN (%s, %s)" % (types, end))
    sc.require(shim["alerts_written"] == 1 and shim["alerts_write_failed"] == 0,
               "it wrote exactly one close_notify (%d written, %d of them failed)"
               % (shim["alerts_written"], shim["alerts_write_failed"]))
    if first.get("cause") is not None:  # lws-hardened reports why
        sc.require(first["cause"] == "clean", "its close cause is clean (%s)" % first["cause"])


def server_want_write(sc):
    report = sc.path("server.io-shim.json")
    env = shim_env(sc, sc.app("lws-stress-server", sc.args.server_apps), report,
                   sndbuf=TINY_SNDBUF)
    srv = sc.start_server(["--cert", os.path.join(sc.pki, "server-big.pem"),
                           "--key", os.path.join(sc.pki, "server-big.key"),
                           "--timeout-secs", str(SERVER_TIMEOUT)], duration=30, env=env)
    t0 = time.monotonic()
    status, error = None, None
    try:
        peer = tls_peer.connect(srv.port, t0 + 3 * SERVER_TIMEOUT, slow=True)
        peer.handshake()
        handshake_s = time.monotonic() - t0
        status = tls_peer.ws_upgrade(peer)
    except (OSError, EOFError, TimeoutError) as e:
        handshake_s, error = time.monotonic() - t0, "%s: %s" % (type(e).__name__, e)
    sc.stop(srv)
    shim = shim_report(report)
    if not shim["sndbuf_set"]:
        raise sl.SetupError("the shim did not set SO_SNDBUF on the accepted socket")
    sc.figure("handshake_s", round(handshake_s, 3))
    sc.figure("server_writes_eagain", shim["writes_eagain"])
    sc.figure("upgrade", status)
    sc.figure("error", error)
    print("  handshake %s after %.2fs; server writes that hit EAGAIN: %d"
          % ("failed (%s)" % error if error else "done", handshake_s, shim["writes_eagain"]))
    if not shim["writes_eagain"]:
        raise sl.SetupError("no server write hit EAGAIN: the fault was not made")
    sc.require(error is None and status and " 101 " in status + " ",
               "the handshake that had to wait for POLLOUT completed and the "
               "connection upgraded (%s)" % (error or status))


def client_want_write(sc):
    deadline = time.monotonic() + 30
    lsock = tls_peer.listen_slow()
    port = lsock.getsockname()[1]
    res = {}
    th = threading.Thread(target=tls_peer.serve_one, daemon=True,
                          args=(lsock, tls_peer.server_context(sc.pki, True), deadline, res))
    th.start()
    report = sc.path("client.io-shim.json")
    env = shim_env(sc, sc.app("lws-stress-client"), report, sndbuf=TINY_SNDBUF)
    rc, summary = sc.run_client(port, ["--connections", "1", "--messages-per-conn", "5",
                                       "--attempt-log", "2",
                                       "--cert", os.path.join(sc.pki, "client-big.pem"),
                                       "--key", os.path.join(sc.pki, "client-big.key")],
                                timeout=30, env=env)
    th.join(max(0.1, deadline - time.monotonic()))
    lsock.close()
    shim = shim_report(report)
    if not shim["sndbuf_set"]:
        raise sl.SetupError("the shim did not set SO_SNDBUF on the client socket")
    log = summary.get("attempt_log") or [{}]
    sc.figure("client_exit", rc)
    sc.figure("first_attempt", log[0])
    sc.figure("peer", res)
    sc.figure("client_writes_eagain", shim["writes_eagain"])
    print("  client exit %d, peer %s; client writes that hit EAGAIN: %d"
          % (rc, res, shim["writes_eagain"]))
    if not shim["writes_eagain"]:
        raise sl.SetupError("no client write hit EAGAIN: the fault was not made")
    sc.require(res.get("handshake_s") is not None and log[0].get("established"),
               "the handshake that had to wait for POLLOUT completed (%s)"
               % res.get("error"))
    sc.require(rc == 0 and res.get("echoed") == 5,
               "then all 5 messages were echoed (client exit %d, echoed %s)"
               % (rc, res.get("echoed")))


def body(sc):
    a = sc.args
    sc.name = a.case
    if a.case == "m1-read-timeout":
        failed_read(sc, a.errno or "ETIMEDOUT")
    elif a.case == "m4-read-reset":
        server_read_reset(sc, a.errno or "ECONNRESET")
    elif a.case == "m2-peer-close-notify":
        peer_close_notify(sc)
    elif a.case == "m2-client-peer-close-notify":
        client_peer_close_notify(sc)
    elif a.case == "m3-server-want-write":
        server_want_write(sc)
    else:
        client_want_write(sc)


if __name__ == "__main__":
    sl.main("mbedtls-io", __doc__.split("\n")[0], body, add_args)
