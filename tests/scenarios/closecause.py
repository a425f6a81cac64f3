#!/usr/bin/env python3
"""Close causes and first TLS errors (Q3 accept-order guard, Q4, Q5).

The stress apps report why every connection ended through lws-hardened's
lws_hardened_close_cause() / lws_hardened_tls_error() (JSON ends_by_cause,
first_tls_errors, and per client attempt in attempt_log) and the library's
counters (hardened_counters).  Built against vanilla headers they have no
such API and write null: every case that needs a cause then fails with "no
close cause available".

Cases (--case):
  cause-peer-reset  every connection goes through lws-faultproxy, which
                    resets both sides (RST) mid-stream, after the handshake;
                    twice: with a client that reads at once, and with one
                    whose reading is paused (rx flow control, --slow-read-ms)
                    so lws is not polling for input when the RST arrives.
                    Correct: every client attempt and every server
                    connection ends with cause peer-reset (not none, not
                    tls-error).
  cause-dirty-eof   the same with a FIN and no close_notify (the proxy's
                    truncate).  Correct: dirty-eof on both sides.
  cause-handshake-reset
                    lws-faultproxy resets both sides (RST) once the server
                    has sent the first 100 bytes of its handshake flight, so
                    the server meets the reset while it waits for the rest
                    of the client's handshake.  Correct: every server
                    connection ends with cause peer-reset (lws's h1 role
                    closed these on POLLHUP before any SSL call could fail,
                    and the cause was "none").
  cause-alert       the server requires a client certificate; the client
                    presents none or an untrusted self-signed one (TLS 1.2:
                    the alert ends the client's SSL_connect).  Correct: the
                    server records alert-sent, the client alert-received,
                    and the client's first TLS error names the alert the
                    server sent ("handshake failure", "unknown CA";
                    wolfSSL: "bad certificate").  mbedTLS 2.28 and wolfSSL
                    5.5 servers refuse a missing certificate without an
                    alert: then the server records tls-error and the client
                    peer-reset or dirty-eof.
  cause-alert-tls13 the same without a client certificate in TLS 1.3: the
                    client's handshake completes before the server checks
                    the (empty) certificate and sends certificate_required
                    (116).  Correct: the server records alert-sent naming
                    it ("certificate required", not OpenSSL 3.0's
                    "unknown"); each client attempt records alert-received
                    naming it (alert 116), or peer-reset when the client's
                    write of its ws request met the server's reset before
                    it read the alert (a TCP race, counted as a figure).
  accept-garbage    (Q3 accept-order guard) raw TCP peers send random bytes,
                    an HTTP request, an HTTPS proxy CONNECT or a TLS record
                    header announcing an oversized record instead of a
                    ClientHello.  Correct: each is rejected at once (well
                    under 1 s, measured by the peer and by the server), and
                    the server's close cause and first error name the
                    protocol error ("wrong version number", "http request",
                    "https proxy request"; the oversized record is refused
                    with a record_overflow alert: alert-sent), never
                    dirty-eof or none.  A library that drains the queue
                    before SSL_get_error() in SSL_accept loses the cause.
                    wolfSSL has no names for HTTP or proxy requests (it
                    parses every kind as a record): there each peer must
                    end with a protocol error wolfSSL names, and the
                    oversized records with a record_overflow alert.
  q4-connect-zero   a TLS-less peer reads the ClientHello and answers with a
                    close_notify alert record (15 03 03 00 02 01 00), then
                    keeps the socket open.  OpenSSL 3.0's SSL_connect()
                    fails with SSL_ERROR_ZERO_RETURN (it returns -1, with
                    SSL_want_read() still true).  Correct: the client reports
                    the connection error within 2 s, not at lws's timeout.
  q4-verify-name    the client does not trust the server's self-signed
                    certificate.  Correct: the CLIENT_CONNECTION_ERROR text
                    names the X509 verify error with its real text
                    ("self-signed certificate"), not "error:00000012:lib(0)::
                    reason(18)" (X509_V_ERR fed to ERR_error_string()).
  q3-stale-count    the apps leave OpenSSL errors on the queue from ordinary
                    code (server: timer, WRITEABLE; client: right before
                    lws_client_connect_via_info(), WRITEABLE).  Correct:
                    connections keep working (no collateral end, nothing
                    lost), both apps' errq_stale_discarded counter is > 0,
                    and the client's log says "ignoring stale OpenSSL error
                    before client SSL_new".
  q2-client-key-probe
                    the client's certificate and EC key come as DER system
                    blobs (--cert-from-blob); lws tries the key as RSA first,
                    and that failure queues entries although the key then
                    loads.  Nothing is planted.  Correct: every connection
                    is established with the certificate (the server requires
                    it) and the client's errq_stale_discarded counter stays 0:
                    lws left nothing on the queue before its own SSL calls.
"""

import json
import os
import random
import re
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["cause-peer-reset", "cause-dirty-eof", "cause-handshake-reset", "cause-alert",
         "cause-alert-tls13",
         "accept-garbage",
         "q4-connect-zero", "q4-verify-name", "q3-stale-count", "q2-client-key-probe"]

NO_CAUSE = "no close cause available (no lws-hardened close-cause API in this build)"


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--duration", type=float, default=4,
                   help="client run time of q3-stale-count, s (default 4)")


# ---- helpers --------------------------------------------------------------

def has_cause_api(sc, summary, who):
    """The app was built with the close-cause API; else fail the case."""
    ok = summary.get("close_cause_api") is True and summary.get("ends_by_cause") is not None
    sc.require(ok, "%s: %s" % (who, "close causes reported" if ok else NO_CAUSE))
    return ok


def attempts_of(sc, summary):
    log = summary.get("attempt_log")
    if log is None:
        raise sl.SetupError("client summary has no attempt_log (--attempt-log)")
    if len(log) != summary["attempts"]["total"]:
        raise sl.SetupError("attempt_log lists %d of %d attempts"
                            % (len(log), summary["attempts"]["total"]))
    return log


def count_by(items, key):
    out = {}
    for i in items:
        k = i.get(key)
        k = "null" if k is None else str(k)
        out[k] = out.get(k, 0) + 1
    return out


def openssl(sc, args):
    r = subprocess.run(["openssl"] + args, capture_output=True, text=True, cwd=sc.dir)
    if r.returncode:
        raise sl.SetupError("openssl %s failed: %s" % (" ".join(args[:2]), r.stderr[-300:]))


def self_signed(sc, name, cn, san=None):
    """A self-signed EC certificate + key in the work dir (nobody's CA)."""
    key, pem = sc.path(name + ".key"), sc.path(name + ".pem")
    openssl(sc, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", key])
    args = ["req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn, "-days", "2",
            "-sha256", "-out", pem]
    if san:
        args += ["-addext", "subjectAltName=" + san]
    openssl(sc, args)
    return pem, key


def read_record(c, timeout=5):
    """Read one whole TLS record (the ClientHello); b'' if the peer went."""
    c.settimeout(timeout)
    buf = b""
    while len(buf) < 5 or len(buf) < 5 + int.from_bytes(buf[3:5], "big"):
        d = c.recv(4096)
        if not d:
            return b""
        buf += d
    return buf


def proxy_events(path):
    evs = []
    with open(path) as f:
        for line in f:
            try:
                evs.append(json.loads(line))
            except ValueError:
                pass
    return evs


# ---- cause-peer-reset / cause-dirty-eof -------------------------------------

def proxy_fault_run(sc, fault, want):
    # a client that reads at once, then one that pauses reading 300 ms
    # after each chunk (POLLIN off): the fault then meets a socket lws is
    # not polling for input
    for tag, extra in (("reading", []), ("paused-reader", ["--slow-read-ms", "300"])):
        proxy_fault_subrun(sc, fault, want, tag, extra)


def proxy_fault_subrun(sc, fault, want, tag, client_extra):
    conns, reconnects = 5, 3
    attempts = conns * (reconnects + 1)
    srv = sc.start_server([], tag="server-" + tag, duration=120)
    # byte-triggered in the client's direction from 3 KB on: past the
    # handshake and the ws upgrade, while messages flow both ways
    proxy, port, events = sc.start_proxy(srv.port, [
        "--fraction", "1", "--faults", fault, "--dir", "c2s",
        "--after-bytes", "3000-8000"], 120, tag="proxy-" + tag)
    # the slots never reach --messages-per-conn: each attempt ends by the
    # fault, then reconnects, until --max-reconnects
    rc, summary = sc.run_client(port, [
        "--connections", str(conns), "--reconnect", "--max-reconnects", str(reconnects),
        "--reconnect-delay-ms", "20", "--messages-per-conn", "1000000000", "--window", "2",
        "--msg-size", "64-512", "--attempt-log", "1000", "--proxy-events", events]
        + client_extra, tag="client-" + tag, timeout=90)
    sc.stop(proxy)
    sc.stop(srv)
    server = sc.load_json("server-%s.json" % tag)
    applied = sum(1 for e in proxy_events(events) if e.get("ev") == "fault_applied")
    log = attempts_of(sc, summary)
    est = [a for a in log if a["established"]]

    f = tag + "_"
    sc.figure(f + "attempts", len(log))
    sc.figure(f + "established", len(est))
    sc.figure(f + "faults_applied", applied)
    sc.figure(f + "client_ends_by_class", count_by(log, "class"))
    sc.figure(f + "client_ends_by_cause", summary.get("ends_by_cause"))
    sc.figure(f + "server_ends_by_cause", server.get("ends_by_cause"))
    sc.figure(f + "server_connections", server["connections"]["accepted"])
    if summary.get("first_tls_errors"):
        sc.figure(f + "client_first_errors", {e["text"]: e["count"] for e in
                                              summary["first_tls_errors"]["distinct"][:4]})
    if server.get("first_tls_errors"):
        sc.figure(f + "server_first_errors", {e["text"]: e["count"] for e in
                                              server["first_tls_errors"]["distinct"][:4]})

    if len(log) != attempts or len(est) != attempts or applied != attempts:
        raise sl.SetupError("%s: the plan did not happen: %d attempts (want %d), %d "
                            "established, %d faults applied"
                            % (tag, len(log), attempts, len(est), applied))
    sc.require(summary["ends"]["faulted"] == attempts and rc == 0,
               "%s: every attempt ended by the proxy's %s, nothing else (%s)"
               % (tag, fault, count_by(log, "class")))
    client_ok = has_cause_api(sc, summary, tag + " client")
    server_ok = has_cause_api(sc, server, tag + " server")
    if client_ok:
        causes = count_by(log, "cause")
        sc.require(causes == {want: attempts},
                   "%s client: every attempt ended with cause %s (%s)" % (tag, want, causes))
    if server_ok:
        sbc = server["ends_by_cause"]
        n = server["connections"]["accepted"]
        sc.require(sbc == {want: n},
                   "%s server: every connection ended with cause %s (%s of %d)"
                   % (tag, want, sbc, n))


# ---- cause-handshake-reset -------------------------------------------------------

def handshake_reset_case(sc, conns=10):
    srv = sc.start_server([], duration=60)
    proxy, port, events = sc.start_proxy(srv.port, [
        "--fraction", "1", "--faults", "rst", "--dir", "s2c", "--after-bytes", "100"], 60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    refused = 0
    for _ in range(conns):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                ctx.wrap_socket(s, server_hostname="localhost").close()
            except (OSError, ssl.SSLError):
                refused += 1    # the reset, as planned
    time.sleep(0.5)             # the server sees the last resets
    sc.stop(proxy)
    sc.stop(srv)
    server = sc.load_json("server.json")
    applied = sum(1 for e in proxy_events(events) if e.get("ev") == "fault_applied")
    sc.figure("handshakes_reset", applied)
    sc.figure("client_handshakes_failed", refused)
    sc.figure("server_connections", server["connections"]["accepted"])
    sc.figure("server_ends_by_cause", server.get("ends_by_cause"))
    if applied != conns or refused != conns:
        raise sl.SetupError("the plan did not happen: %d resets applied, %d of %d "
                            "handshakes failed" % (applied, refused, conns))
    if has_cause_api(sc, server, "server"):
        n = server["connections"]["accepted"]
        sc.require(server["ends_by_cause"] == {"peer-reset": n},
                   "server: every connection reset in its handshake ended with cause "
                   "peer-reset (%s of %d)" % (server["ends_by_cause"], n))


# ---- cause-alert --------------------------------------------------------------

def alert_name(text, direction):
    """'SSL_accept: alert sent: certificate required' -> 'certificate required'."""
    m = re.search(r"alert %s: (.+)$" % direction, text or "")
    return m.group(1).strip() if m else None


def alert_run(sc, tag, client_extra, n, alert=None, reset_race=False):
    """alert: the alert number the client must see; reset_race: a client
    attempt may end peer-reset (its write met the server's RST first)."""
    srv = sc.start_server(["--ca", os.path.join(sc.pki, "ca.pem"), "--require-client-cert"],
                          tag="server-" + tag, duration=60)
    rc, summary = sc.run_client(srv.port, ["--connections", str(n), "--messages-per-conn", "1",
                                           "--attempt-log", "100"] + client_extra,
                                tag="client-" + tag, timeout=60)
    sc.stop(srv)
    server = sc.load_json("server-%s.json" % tag)
    log = attempts_of(sc, summary)
    sc.figure(tag + "_attempts", len(log))
    sc.figure(tag + "_client_reasons", count_by(log, "reason"))
    sc.figure(tag + "_client_causes", count_by(log, "cause"))
    sc.figure(tag + "_client_errors", count_by(log, "tls_error"))
    sc.figure(tag + "_server_ends_by_cause", server.get("ends_by_cause"))
    if server.get("first_tls_errors"):
        sc.figure(tag + "_server_errors", {e["text"]: e["count"] for e in
                                           server["first_tls_errors"]["distinct"]})
    if summary["attempts"]["handshake_ok"] or len(log) != n:
        raise sl.SetupError("%s: the server accepted a client it should refuse (%d of %d "
                            "established)" % (tag, summary["attempts"]["handshake_ok"], len(log)))
    server_ok = has_cause_api(sc, server, tag + " server")
    client_ok = has_cause_api(sc, summary, tag + " client")
    sent = set()
    if server_ok:
        sbc = server["ends_by_cause"]
        nsrv = server["connections"]["accepted"]
        sc.require(sbc == {"alert-sent": nsrv} and nsrv == n,
                   "%s server: every connection ended with alert-sent (%s of %d)" % (tag, sbc, nsrv))
        for e in server["first_tls_errors"]["distinct"]:
            sent.add(alert_name(e["text"], "sent"))
        # OpenSSL 3.0's SSL_alert_desc_string_long() says "unknown" for
        # TLS 1.3 alerts (certificate_required, missing_extension...)
        sc.require(len(sent) == 1 and not sent & {None, "unknown"},
                   "%s server: its first error names the one alert it sent (%s)" % (tag, sent))
    if client_ok:
        causes = count_by(log, "cause")
        rcvd = [a for a in log if a.get("cause") == "alert-received"]
        if reset_race:
            sc.figure(tag + "_client_reset_before_reading_the_alert", causes.get("peer-reset", 0))
            sc.require(len(rcvd) + causes.get("peer-reset", 0) == n,
                       "%s client: every attempt ended with alert-received (or peer-reset, "
                       "the server's RST before the alert was read) (%s)" % (tag, causes))
        else:
            sc.require(causes == {"alert-received": n},
                       "%s client: every attempt ended with alert-received (%s)" % (tag, causes))
        got = set(alert_name(a.get("tls_error"), "received") for a in rcvd)
        if reset_race and not rcvd:
            return  # every alert was overtaken by the reset: nothing named
        sc.require(rcvd and not got & {None, "unknown"} and (not sent or got == sent),
                   "%s client: its first error names the alert received%s (%s)"
                   % (tag, ", the one the server sent" if sent else "", got))
        if alert is not None:
            nums = count_by(rcvd, "tls_alert")
            sc.require(nums == {str(alert): len(rcvd)},
                       "%s client: lws_hardened_tls_alert() is %d (%s)" % (tag, alert, nums))


def no_alert_run(sc, tag, n, client_extra=()):
    """mbedTLS 2.28 (MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) and wolfSSL 5.5
    in TLS 1.2 (NO_PEER_CERT) refuse a client without a certificate with no
    alert: the causes must say so, the server's tls-error, the client's the
    link's end, never none."""
    srv = sc.start_server(["--ca", os.path.join(sc.pki, "ca.pem"), "--require-client-cert"],
                          tag="server-" + tag, duration=60)
    rc, summary = sc.run_client(srv.port, ["--connections", str(n), "--messages-per-conn", "1",
                                           "--attempt-log", "100"] + list(client_extra),
                                tag="client-" + tag, timeout=60)
    sc.stop(srv)
    server = sc.load_json("server-%s.json" % tag)
    log = attempts_of(sc, summary)
    causes = count_by(log, "cause")
    sc.figure(tag + "_client_causes", causes)
    sc.figure(tag + "_client_errors", count_by(log, "tls_error"))
    sc.figure(tag + "_server_ends_by_cause", server.get("ends_by_cause"))
    if summary["attempts"]["handshake_ok"] or len(log) != n:
        raise sl.SetupError("%s: the server accepted a client it should refuse" % tag)
    if has_cause_api(sc, server, tag + " server"):
        sbc = server["ends_by_cause"]
        sc.require(sbc == {"tls-error": n},
                   "%s server: every refused connection ended with tls-error (%s)" % (tag, sbc))
    if has_cause_api(sc, summary, tag + " client"):
        sc.require(set(causes) <= {"peer-reset", "dirty-eof"} and sum(causes.values()) == n,
                   "%s client: every attempt ended with the link's end, peer-reset or "
                   "dirty-eof (%s)" % (tag, causes))


def alert_case(sc):
    n = 4
    # TLS 1.2: the server's alert ends the client's SSL_connect (mbedTLS 2.28
    # has nothing else, nor the option)
    tls12 = ["--tls-max", "1.2"] if sc.backend != "mbedtls" else []
    if sc.backend == "openssl":
        alert_run(sc, "no-cert", tls12, n, alert=40)
    else:
        # mbedTLS 2.28 and wolfSSL 5.5 (TLS 1.2) send no alert for it
        no_alert_run(sc, "no-cert", n, tls12)
    cert, key = self_signed(sc, "untrusted-client", "untrusted client")
    # the alert is the server library's choice: OpenSSL and mbedTLS say
    # unknown_ca (48), wolfSSL bad_certificate (42)
    untrusted = 42 if sc.backend == "wolfssl" else 48
    alert_run(sc, "untrusted-cert", tls12 + ["--cert", cert, "--key", key], n, alert=untrusted)


def alert_tls13_case(sc):
    # the client's handshake completes before the server checks its
    # (empty) certificate; the alert arrives in the client's SSL_read
    alert_run(sc, "tls13-no-cert", ["--tls-max", "1.3"], 8, alert=116, reset_race=True)


# ---- accept-garbage (Q3 accept-order guard) ---------------------------------

GARBAGE = ["random", "http", "connect", "oversize"]
# what the server's first error must name, per kind, and the cause
GARBAGE_WANT = {
    "random": ("tls-error", ["wrong version number"]),
    "http": ("tls-error", ["http request"]),
    "connect": ("tls-error", ["https proxy request"]),
    # OpenSSL refuses an oversized first record with a record_overflow alert
    "oversize": ("alert-sent", ["record overflow", "packet length too long"]),
}


# wolfSSL has no names for an HTTP or a proxy request: it parses every kind
# as a record and names what is wrong with it
GARBAGE_WANT_WOLFSSL = ["parse error on header", "unknown type in record hdr",
                        "record layer length error", "record layer version error"]


def check_garbage_wolfssl(sc, errs, n, per_kind):
    """Every garbage peer failed SSL_accept as a protocol error that names
    itself (never a socket failure, an unknown code or nothing), and the
    oversized records were refused with a record_overflow alert."""
    named = sum(e["count"] for e in errs
                if e["cause"] in ("tls-error", "alert-sent") and
                e["text"].startswith("SSL_accept: SSL_ERROR_SSL: ") and
                any(w in e["text"] for w in GARBAGE_WANT_WOLFSSL))
    sc.require(named == n, "server: every garbage peer ended with a protocol error "
               "named by wolfSSL (%d of %d)" % (named, n))
    overflow = sum(e["count"] for e in errs
                   if e["cause"] == "alert-sent" and "record overflow" in e["text"])
    sc.require(overflow >= per_kind, "server: the oversized records were refused with "
               "a record_overflow alert (%d, at least %d)" % (overflow, per_kind))


def garbage_bytes(kind, rng):
    if kind == "random":
        # not a TLS record, nor SSLv2 (high bit), nor an HTTP method
        first = rng.choice(b"abdefhijklmnoqrstuvwxyz0123456789")
        return bytes([first]) + bytes(rng.randrange(256) for _ in range(127))
    if kind == "http":
        return b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n"
    if kind == "connect":
        return b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n"
    # a handshake record header announcing 65535 bytes, then some of them
    return bytes([0x16, 0x03, 0x01, 0xff, 0xff]) + bytes(rng.randrange(256) for _ in range(64))


def garbage_peer(port, data, timeout=5):
    """Send data instead of a ClientHello; seconds until the server ended it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.settimeout(timeout)
        t = time.monotonic()
        s.sendall(data)
        how = "timeout"
        try:
            while s.recv(4096):
                pass
            how = "eof"
        except ConnectionResetError:
            how = "rst"
        except socket.timeout:
            pass
        return time.monotonic() - t, how
    finally:
        s.close()


def accept_garbage_case(sc):
    per_kind = 5
    rng = random.Random(sc.args.seed)
    srv = sc.start_server([], duration=60)
    times, hows = {k: [] for k in GARBAGE}, {}
    for i in range(per_kind * len(GARBAGE)):
        kind = GARBAGE[i % len(GARBAGE)]
        dt, how = garbage_peer(srv.port, garbage_bytes(kind, rng))
        times[kind].append(dt)
        hows[how] = hows.get(how, 0) + 1
    time.sleep(0.2)
    sc.stop(srv)
    server = sc.load_json("server.json")
    n = per_kind * len(GARBAGE)
    alltimes = [t for v in times.values() for t in v]
    hf = server["connections"]["handshake_failure_ms"]
    sc.figure("peers", n)
    sc.figure("peer_saw", hows)
    sc.figure("rejected_after_s_max", round(max(alltimes), 4))
    sc.figure("rejected_after_s_median", round(statistics.median(alltimes), 4))
    sc.figure("server_handshake_failure_ms", {k: hf[k] for k in ("count", "median", "max")})
    sc.figure("server_ends_by_cause", server.get("ends_by_cause"))
    if server.get("first_tls_errors"):
        sc.figure("server_errors", {e["text"]: e["count"] for e in
                                    server["first_tls_errors"]["distinct"]})
    if server["connections"]["accepted"] != n:
        raise sl.SetupError("the server accepted %d connections, not %d"
                            % (server["connections"]["accepted"], n))
    sc.require(hows.get("timeout", 0) == 0 and max(alltimes) < 1.0,
               "every peer was rejected at once (slowest %.3f s, %d not within 5 s)"
               % (max(alltimes), hows.get("timeout", 0)))
    sc.require(hf["count"] == n and hf["max"] < 1000,
               "the server ended every failed handshake at once (%d of %d, slowest %.1f ms)"
               % (hf["count"], n, hf["max"]))
    if not has_cause_api(sc, server, "server"):
        return
    sbc = server["ends_by_cause"]
    sc.require(not sbc.get("none") and not sbc.get("dirty-eof"),
               "server: no garbage connection ended as none or dirty-eof (%s)" % sbc)
    errs = server["first_tls_errors"]["distinct"]
    if sc.backend == "wolfssl":
        check_garbage_wolfssl(sc, errs, n, per_kind)
        return
    for kind in GARBAGE:
        cause, names = GARBAGE_WANT[kind]
        got = sum(e["count"] for e in errs
                  if e["cause"] == cause and any(w in e["text"] for w in names))
        sc.require(got == per_kind,
                   "server: %s peers ended with cause %s and a first error naming \"%s\" "
                   "(%d of %d)" % (kind, cause, " / ".join(names), got, per_kind))


# ---- q4-connect-zero --------------------------------------------------------

CLOSE_NOTIFY = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00])


class CloseNotifyPeer:
    """Reads each ClientHello, answers with a close_notify alert record and
    keeps the socket open until the client closes it; records how long the
    client took to go after the alert."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = self.hellos = 0
        self.gone_after = []    # s from our alert to the client's close
        self.stop = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            hello = read_record(c)
            if not hello or hello[0] != 0x16:
                return
            c.sendall(CLOSE_NOTIFY)
            t = time.monotonic()
            with self.lock:
                self.hellos += 1
            c.settimeout(120)
            try:
                while c.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            with self.lock:
                self.gone_after.append(time.monotonic() - t)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.ls.close()


def connect_zero_case(sc):
    n = 3
    peer = CloseNotifyPeer()
    try:
        t = time.monotonic()
        rc, summary = sc.run_client(peer.port, ["--connections", str(n), "--messages-per-conn", "1",
                                                "--attempt-log", "100"], timeout=120)
        wall = time.monotonic() - t
        time.sleep(0.3)
    finally:
        peer.close()
    log = attempts_of(sc, summary)
    durs = [a["duration_s"] for a in log]
    sc.figure("attempts", len(log))
    sc.figure("client_run_s", round(wall, 2))
    sc.figure("error_after_s_max", round(max(durs), 3) if durs else None)
    sc.figure("peer_saw_close_after_s_max",
              round(max(peer.gone_after), 3) if peer.gone_after else None)
    sc.figure("client_reasons", count_by(log, "reason"))
    sc.figure("client_causes", count_by(log, "cause"))
    sc.figure("client_errors", count_by(log, "tls_error"))
    if peer.hellos != n or len(log) != n:
        raise sl.SetupError("the peer answered %d ClientHellos, the client made %d attempts "
                            "(want %d each)" % (peer.hellos, len(log), n))
    sc.require(all(a["end"] == "connection-error" and not a["established"] for a in log),
               "every attempt ended as a connection error (%s)" % count_by(log, "end"))
    sc.require(max(durs) < 2.0,
               "the client reported the refused handshake within 2 s (slowest %.2f s)"
               % max(durs))


# ---- q4-verify-name ---------------------------------------------------------

GARBAGE_ERR = re.compile(r"error:[0-9A-Fa-f]{8}:lib\(\d+\)|reason\(\d+\)")


def verify_name_case(sc):
    n = 3
    cert, key = self_signed(sc, "self-signed-server", "localhost",
                            "IP:127.0.0.1,DNS:localhost")
    srv = sc.start_server(["--cert", cert, "--key", key], duration=60)
    rc, summary = sc.run_client(srv.port, ["--connections", str(n), "--messages-per-conn", "1",
                                           "--attempt-log", "100"], timeout=60)
    sc.stop(srv)
    log = attempts_of(sc, summary)
    reasons = count_by(log, "reason")
    sc.figure("attempts", len(log))
    sc.figure("client_reasons", reasons)
    sc.figure("client_errors", count_by(log, "tls_error"))
    if summary["attempts"]["handshake_ok"] or len(log) != n:
        raise sl.SetupError("the client accepted a certificate it does not trust")
    named = [a for a in log if a["end"] == "connection-error" and
             re.search(r"self[- ]signed certificate", a["reason"] or "")]
    garbage = [a for a in log if GARBAGE_ERR.search(a["reason"] or "")]
    sc.require(len(named) == n,
               "the connection error names the verify error (\"self-signed certificate\") "
               "(%d of %d)" % (len(named), n))
    sc.require(not garbage,
               "no connection error decodes the X509 code as an ERR code "
               "(\"error:00000012:lib(0)::reason(18)\") (%d of %d)" % (len(garbage), n))


# ---- q3-stale-count ---------------------------------------------------------

STALE_SSL_NEW = "ignoring stale OpenSSL error before client SSL_new"


def stale_count_case(sc):
    if sc.backend != "openssl":
        raise sl.SetupError("q3-stale-count needs the OpenSSL API (--plant)")
    d = sc.args.duration
    srv = sc.start_server(["--plant", "timer", "--plant", "writeable",
                           "--plant-interval-ms", "2"], duration=d + 30)
    rc, summary = sc.run_client(srv.port, [
        "--connections", "4", "--duration", str(d), "--reconnect", "--close-after", "20",
        "--plant", "before-connect", "--plant", "writeable"], timeout=d + 60)
    sc.stop(srv)
    server = sc.load_json("server.json")
    with open(sc.path("client.log"), errors="replace") as f:
        clog = f.read()
    splanted = sum(v.get("planted", 0) for v in server["plants"].values() if isinstance(v, dict))
    cplanted = sum(summary["plants"].values())
    sc.figure("attempts", summary["attempts"]["total"])
    sc.figure("server_planted", splanted)
    sc.figure("client_planted", summary["plants"])
    sc.figure("collateral", summary["ends"]["collateral"])
    sc.figure("server_counters", server.get("hardened_counters"))
    sc.figure("client_counters", summary.get("hardened_counters"))
    sc.figure("client_logged_stale_before_ssl_new", clog.count(STALE_SSL_NEW))
    if not splanted or not summary["plants"].get("before-connect"):
        raise sl.SetupError("nothing was planted (server %d, client %s)"
                            % (splanted, summary["plants"]))
    sc.require(rc == 0 and summary["ends"]["collateral"] == 0 and summary["attempts"]["handshake_ok"] > 0,
               "connections kept working: %d established, %d collateral ends, %d lost"
               % (summary["attempts"]["handshake_ok"], summary["ends"]["collateral"],
                  summary["messages"]["lost"]))
    for who, s, planted in (("server", server, splanted), ("client", summary, cplanted)):
        ctr = s.get("hardened_counters")
        if ctr is None:
            sc.require(False, "%s: no library counters available (no lws-hardened API in this "
                       "build)" % who)
            continue
        sc.require(ctr.get("errq_stale_discarded", 0) > 0,
                   "%s: errq_stale_discarded counted the stale entries (%s, %d planted)"
                   % (who, ctr.get("errq_stale_discarded"), planted))
    sc.require(STALE_SSL_NEW in clog,
               "the client logged \"%s\"" % STALE_SSL_NEW)


# ---- q2-client-key-probe ---------------------------------------------------

def client_key_probe_case(sc):
    if sc.backend != "openssl":
        raise sl.SetupError("q2-client-key-probe needs the OpenSSL API (--cert-from-blob)")
    n = 8
    srv = sc.start_server(["--ca", os.path.join(sc.pki, "ca.pem"), "--require-client-cert"],
                          duration=60)
    rc, summary = sc.run_client(srv.port, [
        "--cert", os.path.join(sc.pki, "client.pem"), "--key", os.path.join(sc.pki, "client.key"),
        "--cert-from-blob", "--connections", "4", "--messages-per-conn", "10",
        "--close-after", "5", "--reconnect", "--max-reconnects", str(n // 4 - 1)], timeout=60)
    sc.stop(srv)
    ok = summary["attempts"]["handshake_ok"]
    ctr = summary.get("hardened_counters")
    sc.figure("established", ok)
    sc.figure("client_counters", ctr)
    if rc != 0 or ok != n:
        raise sl.SetupError("the client with its certificate from blobs did not connect "
                            "(%d of %d established, exit %d)" % (ok, n, rc))
    if ctr is None:
        sc.require(False, "client: no library counters available (no lws-hardened API in "
                   "this build)")
        return
    sc.require(ctr.get("errq_stale_discarded") == 0,
               "client: no entry of lws's own was found stale before an SSL call "
               "(errq_stale_discarded %s)" % ctr.get("errq_stale_discarded"))


def body(sc):
    a = sc.args
    sc.name = a.case
    if a.case == "cause-peer-reset":
        proxy_fault_run(sc, "rst", "peer-reset")
    elif a.case == "cause-dirty-eof":
        proxy_fault_run(sc, "truncate", "dirty-eof")
    elif a.case == "cause-handshake-reset":
        handshake_reset_case(sc)
    elif a.case == "cause-alert":
        alert_case(sc)
    elif a.case == "cause-alert-tls13":
        alert_tls13_case(sc)
    elif a.case == "accept-garbage":
        accept_garbage_case(sc)
    elif a.case == "q4-connect-zero":
        connect_zero_case(sc)
    elif a.case == "q4-verify-name":
        verify_name_case(sc)
    elif a.case == "q3-stale-count":
        stale_count_case(sc)
    elif a.case == "q2-client-key-probe":
        client_key_probe_case(sc)


if __name__ == "__main__":
    sl.main("closecause", __doc__.split("\n")[0], body, add_args)
