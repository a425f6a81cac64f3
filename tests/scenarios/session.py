#!/usr/bin/env python3
"""TLS session cache scenarios (S1, S2) with one client reconnecting in sequence.

One client connection slot reconnects over and over on the same vhost, so
lws's client session cache is used (in sequence, so a reconnect can only
resume a session that was cached at a close: with many concurrent clients a
reconnect could reuse the session of a connection still open, which hides S1).

Cases (--case):
  s1-resume          clean closes only.  Correct: >= 95 % of reconnects
                     resume, and the server's SSL_session_reused() count
                     agrees with the client's.
  s2-alert           connection #K is killed by a fatal alert (lws-faultproxy
                     corrupts a byte of the client's Finished: bad_record_mac).
  s2-rst-after-hello connection #K is reset right after its ClientHello.
  s2-server-forgot   after connection #K the server forgets every session
                     (new ticket keys, empty cache: a restarted server).
  s2-refused         the TLS library refuses the session offered by
                     connection #K, and every later offer of that same
                     session (lws-session-shim, LD_PRELOAD on
                     SSL_set_session / mbedtls_ssl_set_session), and #K is
                     reset right after its ClientHello, so it stores no new
                     session.  Also correct: the refused session is never
                     offered again (the shim counts re-offers).
  s2-refused-goes-on the TLS library refuses the session offered by
                     connection #K, nothing else goes wrong.  Correct: #K
                     is not failed for it: it is established with a full
                     handshake, and #K+1 resumes the session #K got.
  s4-dump-alert      s2-alert, with the client persisting its session as an
                     application would: lws_tls_session_dump_save() after
                     every handshake, lws_tls_session_dump_load() of the
                     last saved copy before every connect.  Also correct:
                     the copy saved before the alert does not come back.
  s3-false-reuse     the server never resumes (--no-resume).  Correct: the
                     client reports no resumption, as the server saw none.
For the s2 and s4 cases, correct is: the faulted connection is the only one
that fails, the next one succeeds with a full handshake (the session offered
by the faulted connection was evicted, never offered twice: on lws-hardened
the client also reports that it offered no session) and later reconnects
resume again (>= 80 % of them).  On lws-hardened the client's session
counters must agree with what it saw (resumptions, evictions, refusals).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["s1-resume", "s2-alert", "s2-rst-after-hello", "s2-server-forgot",
         "s2-refused", "s2-refused-goes-on", "s4-dump-alert", "s3-false-reuse"]
FAULT_CONN = 4


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--reconnects", type=int, default=20, help="reconnects (default 20)")


def proxy_faults_applied(events):
    n = 0
    with open(events) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("ev") == "fault_applied":
                n += 1
    return n


def body(sc):
    a = sc.args
    sc.name = a.case
    srv_args = {"s3-false-reuse": ["--no-resume"],
                "s2-server-forgot": ["--forget-sessions-after", str(FAULT_CONN)]}
    srv = sc.start_server(srv_args.get(a.case, []), duration=120)
    port, extra, proxy = srv.port, [], None
    alert = ["--faults", "corrupt", "--dir", "c2s", "--record", "3"]
    rst = ["--faults", "drop-after-hello", "--drop-mode", "rst"]
    faults = {"s2-alert": alert, "s4-dump-alert": alert,
              "s2-rst-after-hello": rst, "s2-refused": rst}
    if a.case in faults:
        proxy, port, events = sc.start_proxy(srv.port, ["--fault-conn", str(FAULT_CONN)]
                                             + faults[a.case])
        extra = ["--proxy-events", events]
    if a.case == "s4-dump-alert":
        if sc.backend == "mbedtls":
            raise sl.SetupError("lws_tls_session_dump_save/load exist for the OpenSSL API only")
        extra += ["--session-dump-roundtrip"]
    env, shim_report = None, None
    if a.case in ("s2-refused", "s2-refused-goes-on"):
        # the offer of connection #K is the Kth: connection #0 has none
        shim_report = sc.path("client.shim.json")
        env = sl.preload_env(sc.app("lws-stress-client"),
                             os.path.join(a.apps, "lws-session-shim.so"))
        env.update({"LWS_SESSION_SHIM_REFUSE": str(FAULT_CONN),
                    "LWS_SESSION_SHIM_REPORT": shim_report})
    # TLS 1.3 where the client can pin it (OpenSSL API): the alert case
    # corrupts the client Finished, record 3 of a TLS 1.3 client stream
    tls13 = [] if sc.backend == "mbedtls" else ["--tls-max", "1.3"]
    rc, summary = sc.run_client(port, ["--connections", "1", "--reconnect", "--close-after", "5",
                                       "--max-reconnects", str(a.reconnects),
                                       "--reconnect-delay-ms", "20", "--attempt-log", "200",
                                       "--messages-per-conn", str(5 * (a.reconnects + 1))]
                                + tls13 + extra, timeout=90, env=env)
    if proxy:
        sc.stop(proxy)
    sc.stop(srv)
    server = sc.load_json("server.json")
    if server["tls_sessions"].get("unknown"):
        raise sl.SetupError("this server cannot see session reuse (%s backend): "
                            "use --server-apps with an OpenSSL variant" % server["tls_backend"])
    ts = summary["tls_sessions"]
    ends = summary["ends"]
    resumed, recon = ts["resumed_reconnects"], ts["established_reconnects"]
    rate = 100.0 * resumed / recon if recon else 0.0
    sc.figure("reconnects_established", recon)
    sc.figure("client_resumed", resumed)
    sc.figure("resumption_rate_pct", round(rate, 1))
    sc.figure("server_reused", server["tls_sessions"]["reused"])
    sc.figure("collateral", ends["collateral"])
    sc.figure("faulted", ends["faulted"])
    sc.require(server["tls_sessions"]["reused"] == ts["resumed"],
               "server's SSL_session_reused count (%d) agrees with the client's (%d)"
               % (server["tls_sessions"]["reused"], ts["resumed"]))
    sc.require(ends["collateral"] == 0, "no connection failed except the faulted one (%d collateral: %s)"
               % (ends["collateral"], ends["by_reason"]["collateral"]))
    if proxy:
        applied = proxy_faults_applied(events)
        sc.figure("proxy_faults_applied", applied)
        sc.require(applied == 1 and ends["faulted"] == 1,
                   "exactly the planned connection was faulted (proxy %d, client %d)"
                   % (applied, ends["faulted"]))
        sc.require(recon >= a.reconnects - 1, "the client went on reconnecting (%d)" % recon)
        log = summary.get("attempt_log", [])
        bad = [i for i, t in enumerate(log) if t["class"] == "faulted"]
        if len(bad) != 1 or bad[0] + 1 >= len(log):
            raise sl.SetupError("attempt log does not show one faulted attempt: %s" % log[:10])
        after = log[bad[0] + 1]
        sc.figure("faulted_attempt_index", bad[0])
        sc.figure("next_attempt_resumed", after["resumed"])
        sc.require(after["established"] and after["resumed"] == 0,
                   "the connection after the fault succeeds with a full handshake "
                   "(established %s, resumed %s): the poisoned session was evicted"
                   % (after["established"], after["resumed"]))
        if "sessions_offered" in after:
            sc.require(after["sessions_offered"] == 0,
                       "the connection after the fault offered no session (%d offered)"
                       % after["sessions_offered"])
        sc.require(resumed >= 0.8 * (recon - 2), "later reconnects resume again (%d of %d)"
                   % (resumed, recon))
        if shim_report:
            check_shim(sc, shim_report)
        if a.case == "s4-dump-alert":
            check_dump(sc, ts)
    elif a.case == "s2-server-forgot":
        log = summary.get("attempt_log", [])
        forgot = server["tls_sessions"].get("forgotten_at_established", 0)
        if forgot != FAULT_CONN or len(log) <= FAULT_CONN:
            raise sl.SetupError("the server did not forget after connection %d (%s)"
                                % (FAULT_CONN, forgot))
        after = log[FAULT_CONN]
        sc.figure("next_attempt_resumed", after["resumed"])
        sc.require(recon >= a.reconnects, "all %d reconnects were made (%d)" % (a.reconnects, recon))
        sc.require(after["established"] and after["resumed"] == 0,
                   "the connection after the server forgot succeeds with a full handshake "
                   "(established %s, resumed %s)" % (after["established"], after["resumed"]))
        sc.require(resumed >= 0.8 * (recon - 2), "later reconnects resume again (%d of %d)"
                   % (resumed, recon))
    elif a.case == "s2-refused-goes-on":
        log = summary.get("attempt_log", [])
        if len(log) <= FAULT_CONN + 1:
            raise sl.SetupError("attempt log too short: %d attempts" % len(log))
        k, k1 = log[FAULT_CONN], log[FAULT_CONN + 1]
        sc.figure("refused_attempt_resumed", k["resumed"])
        sc.figure("next_attempt_resumed", k1["resumed"])
        sc.require(recon >= a.reconnects, "all %d reconnects were made (%d)" % (a.reconnects, recon))
        sc.require(k["established"] and k["resumed"] == 0,
                   "the connection whose session was refused goes on with a full "
                   "handshake (established %s, resumed %s)" % (k["established"], k["resumed"]))
        sc.require(k1["established"] and k1["resumed"] == 1,
                   "the next connection resumes the session the refused one got "
                   "(resumed %s)" % k1["resumed"])
        check_shim(sc, shim_report)
    elif a.case == "s3-false-reuse":
        sc.require(recon >= a.reconnects, "all %d reconnects were made (%d)" % (a.reconnects, recon))
        sc.require(resumed == 0, "the client claims no resumption the server refused (%d)" % resumed)
    else:
        sc.require(recon >= a.reconnects, "all %d reconnects were made (%d)" % (a.reconnects, recon))
        sc.require(rate >= 95.0, ">= 95 %% of reconnects resumed (%.1f %%)" % rate)
    check_counters(sc, summary.get("hardened_counters"), ts["resumed"], ends["faulted"])


def check_shim(sc, report):
    """The shim refused the planned offer and saw the refused session never again."""
    try:
        with open(report) as f:
            shim = json.load(f)["lws_session_shim"]
    except (OSError, ValueError, KeyError) as e:
        raise sl.SetupError("no lws-session-shim report (%s)" % e)
    sc.figure("shim_calls", shim["calls"])
    sc.figure("shim_reoffered", shim["reoffered"])
    if shim["calls"] < FAULT_CONN:
        raise sl.SetupError("the client made %d session offers, the shim was to refuse #%d"
                            % (shim["calls"], FAULT_CONN))
    sc.require(shim["reoffered"] == 0, "the refused session was never offered again "
               "(%d re-offers)" % shim["reoffered"])


def check_dump(sc, ts):
    d = ts.get("session_dump")
    if not d or not d["saved"]:
        raise sl.SetupError("the client saved no session dump: %s" % d)
    sc.figure("dump_saved", d["saved"])
    sc.figure("dump_loaded", d["loaded"])


def check_counters(sc, ctr, client_resumed, faulted):
    """lws-hardened's session counters agree with what the client saw."""
    if not ctr or "session_offered" not in ctr:
        return  # vanilla: no counters; the checks above decide
    for k in ("session_offered", "session_resumed", "session_refused",
              "session_evicted_refused", "session_evicted_handshake",
              "session_evicted_error", "session_load_refused"):
        sc.figure(k, ctr[k])
    case = sc.args.case
    # the library counts a TLS 1.3 resumption when its own handshake is
    # done; the server may still reject the client's Finished (s2-alert)
    lo, hi = client_resumed, client_resumed + faulted
    sc.require(lo <= ctr["session_resumed"] <= hi,
               "session_resumed counter (%d) = resumptions the client saw (%d), "
               "plus the faulted connection's (%d)" % (ctr["session_resumed"], lo, faulted))
    evicted = {"s2-alert": "session_evicted_error", "s4-dump-alert": "session_evicted_error",
               "s2-rst-after-hello": "session_evicted_handshake",
               "s2-refused": "session_evicted_refused",
               "s2-refused-goes-on": "session_evicted_refused"}.get(case)
    if evicted:
        sc.require(ctr[evicted] == 1, "%s counter is 1 (%d)" % (evicted, ctr[evicted]))
    else:
        n = ctr["session_evicted_error"] + ctr["session_evicted_handshake"]
        sc.require(n == 0, "no session evicted without a fault (%d)" % n)
    refused = 1 if case.startswith("s2-refused") else 0
    sc.require(ctr["session_refused"] == refused,
               "session_refused counter is %d (%d)" % (refused, ctr["session_refused"]))
    if case == "s4-dump-alert":
        sc.require(ctr["session_load_refused"] >= 1,
                   "the evicted session's saved copy was refused by "
                   "lws_tls_session_dump_load (%d)" % ctr["session_load_refused"])


if __name__ == "__main__":
    sl.main("session", __doc__.split("\n")[0], body, add_args)
