#!/usr/bin/env python3
"""Interop: lws test apps against an independent WebSocket peer, Node.js's `ws`.

(a) Node ws clients (ws-client.js) -> lws-stress-server over wss.  The Node
    side verifies the server against the test CA (and a client that does not
    trust it must be refused), sends seeded binary and UTF-8 text messages of
    0..70,000 bytes (ws length-encoding boundaries included), some
    connections capped at TLS 1.2, and requires every echo back in order with
    the same type and bytes, then the server's fragmented 1 MB "large
    response" (stress header + crc32), then a clean 1000 close.  The lws
    server's own counts (echoes, bytes in/out, handshakes, close codes) must
    agree exactly with the Node client's.
(b) lws-stress-client -> Node ws wss echo server (ws-echo-server.js).  The lws
    client verifies the Node server against the test CA and checks every echo
    (stress header: conn/attempt/seq, length, crc32); the Node server checks
    every message it receives the same way.  Runs: a main run (plus TLS 1.3
    KeyUpdates on OpenSSL), a TLS 1.2 run (OpenSSL), a reconnect run (TLS
    session cache in use; resumption is reported, not required).  Client and
    server counts must agree exactly.
Controls (skip with --no-controls): the Node echo server flips a byte in
every Nth echo; lws-stress-client must then fail with exactly that many
corrupted messages, and so must ws-client (mismatched content), proving both
checkers catch bad data instead of passing vacuously.

Node and `ws` come from scripts/node-deps (Debian's nodejs/npm when node is
missing, ws pinned in tests/interop/package.json, cached under --node-prefix).
If they cannot be provided the run is a setup error (exit 2), never a pass.

Exit status: 0 every check held, 1 a check failed, 2 setup error.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scenarios"))
import scenario_lib as sl  # noqa: E402

LARGE = 1000000            # lws-stress-server --large-response
MAX_MSG = 70000            # > 64 KiB: 64-bit ws length, several TLS records
CORRUPT_EVERY = 25


def add_args(p):
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = __doc__
    p.add_argument("--node-prefix",
                   default=os.environ.get("LWSH_NODE_PREFIX") or
                   os.path.join(os.path.expanduser("~"), ".cache", "lws-hardened", "node"),
                   help="npm prefix for `ws` (scripts/node-deps DIR; default "
                        "$LWSH_NODE_PREFIX or ~/.cache/lws-hardened/node)")
    p.add_argument("--offline", action="store_true",
                   help="never install node/ws: fail unless already present")
    p.add_argument("--direction", choices=["a", "b", "both"], default="both",
                   help="a: Node client -> lws server; b: lws client -> Node server")
    p.add_argument("--connections", type=int, default=6,
                   help="connections per run (default 6)")
    p.add_argument("--messages", type=int, default=300,
                   help="messages per connection (default 300)")
    p.add_argument("--no-controls", action="store_true",
                   help="skip the corrupting-server control runs")


def backend_of(sc):
    v = sc.args.variant
    for b in ("openssl", "mbedtls", "wolfssl"):
        if v.endswith(b):
            return b
    raise sl.SetupError("cannot tell the TLS backend from --variant %s" % v)


def node_setup(sc):
    """scripts/node-deps -> (node binary, NODE_PATH); SetupError with the reason."""
    nd = os.path.join(sl.REPO, "scripts", "node-deps")
    argv = [nd] + (["--offline"] if sc.args.offline else []) + [sc.args.node_prefix]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise sl.SetupError("scripts/node-deps did not finish in 600 s")
    if r.returncode:
        raise sl.SetupError("scripts/node-deps failed (exit %d):\n%s"
                            % (r.returncode, r.stderr.strip()))
    node = shutil.which("node")
    if not node:
        raise sl.SetupError("node not on PATH after scripts/node-deps")
    modules = r.stdout.strip().splitlines()[-1]
    ver = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    sc.figure("node", ver)
    return node, {"NODE_PATH": modules}


def run_node(sc, node, env, tag, script, args, timeout=60):
    fresh(sc, tag)
    p = sc.start(tag, [node, os.path.join(HERE, script)] + args, env=env)
    rc = sc.wait(p, timeout)
    if rc not in (0, 1):
        raise sl.SetupError("%s exited %s:\n%s" % (tag, rc, sc.tail(tag)))
    return rc, sc.load_json(tag + ".json")


def fresh(sc, *tags):
    """Remove ready files and summaries a previous run left in --workdir."""
    for tag in tags:
        for ext in (".ready", ".json"):
            try:
                os.unlink(sc.path(tag + ext))
            except FileNotFoundError:
                pass


def start_node_server(sc, node, env, tag, extra=()):
    fresh(sc, tag)
    ready = sc.path(tag + ".ready")
    argv = [node, os.path.join(HERE, "ws-echo-server.js"),
            "--cert", os.path.join(sc.pki, "server.pem"),
            "--key", os.path.join(sc.pki, "server.key"),
            "--port", "0", "--ready-file", ready, "--json", sc.path(tag + ".json"),
            "--check-stress-header", "--duration", "120"] + list(extra)
    p = sc.start(tag, argv, env=env)
    p.port = sc.wait_ready(p, ready)
    return p


def stop_json(sc, p, tag):
    sc.stop(p)
    return sc.load_json(tag + ".json")


# ---- (a) Node ws client -> lws-stress-server ---------------------------------

def direction_a(sc, node, env):
    n, m = sc.args.connections, sc.args.messages
    tls12 = max(1, n // 3)
    fresh(sc, "a-lws-server")
    srv = sc.start_server(["--large-response", str(LARGE)], tag="a-lws-server", duration=90)
    rc, cj = run_node(sc, node, env, "a-ws-client", "ws-client.js", [
        "--url", "wss://127.0.0.1:%d/" % srv.port, "--ca", os.path.join(sc.pki, "ca.pem"),
        "--connections", str(n), "--messages", str(m), "--window", "4",
        "--max-size", str(MAX_MSG), "--large", str(LARGE), "--tls12-conns", str(tls12),
        "--reject-check", "--seed", str(sc.args.seed), "--timeout", "40",
        "--json", sc.path("a-ws-client.json")])
    sj = stop_json(sc, srv, "a-lws-server")
    smsg, scon = sj["messages"], sj["connections"]

    sc.require(rc == 0 and cj.get("ok"),
               "a: Node ws client checks all held (%s)" % ("; ".join(cj.get("failures", [])) or "ok"))
    sc.require(cj["messages_echoed_ok"] == n * m,
               "a: %d/%d echoes identical (type and bytes)" % (cj["messages_echoed_ok"], n * m))
    sc.require(cj["large_ok"] == n and smsg["large_responses"] == n,
               "a: %d/%d large responses (%d bytes, fragmented) intact; server sent %d"
               % (cj["large_ok"], n, LARGE, smsg["large_responses"]))
    sc.require(smsg["echoed"] == n * m,
               "a: lws server echoed %d messages, Node client sent %d" % (smsg["echoed"], n * m))
    sc.require(smsg["bytes_rx"] == cj["bytes_sent"] and smsg["bytes_tx"] == cj["bytes_received"],
               "a: bytes agree: server rx %d = client tx %d, server tx %d = client rx %d"
               % (smsg["bytes_rx"], cj["bytes_sent"], smsg["bytes_tx"], cj["bytes_received"]))
    sc.require(scon["established"] == n and cj["authorized"] == n,
               "a: %d/%d connections established on the server, %d verified by the client against the test CA"
               % (scon["established"], n, cj["authorized"]))
    rej = cj.get("reject_check") or {}
    sc.require(rej.get("rejected") and scon["handshake_failures"] == 1,
               "a: client not trusting the CA refused (%s); server counted %d failed handshake(s)"
               % (rej.get("code"), scon["handshake_failures"]))
    codes = sj["close_reasons"]["peer_close_codes"]
    sc.require(codes.get("1000") == n and sj["close_reasons"]["abrupt"] == 0,
               "a: %d/%d clean 1000 closes seen by the server, %d abrupt"
               % (codes.get("1000", 0), n, sj["close_reasons"]["abrupt"]))
    tv = cj["tls_versions"]
    sc.require(tv.get("capped-1.2:TLSv1.2") == tls12,
               "a: %d/%d TLS-1.2-capped connections negotiated TLSv1.2" % (tv.get("capped-1.2:TLSv1.2", 0), tls12))
    top = "TLSv1.3" if backend_of(sc) == "openssl" else None
    uncapped = {k: v for k, v in tv.items() if not k.startswith("capped")}
    if top:
        sc.require(uncapped.get(top) == n - tls12,
                   "a: %d/%d uncapped connections negotiated %s" % (uncapped.get(top, 0), n - tls12, top))
    else:
        sc.require(sum(uncapped.values()) == n - tls12 and
                   set(uncapped) <= {"TLSv1.2", "TLSv1.3"},
                   "a: uncapped connections negotiated %s" % uncapped)
    sc.figure("a_messages", cj["messages_echoed_ok"])
    sc.figure("a_text_binary", [cj["text_sent"], cj["binary_sent"]])
    sc.figure("a_large", cj["large_ok"])
    sc.figure("a_bytes_to_lws", cj["bytes_sent"])
    sc.figure("a_bytes_from_lws", cj["bytes_received"])
    sc.figure("a_tls", tv)
    sc.figure("a_cipher", cj["ciphers"])
    sc.figure("a_s", round(cj["elapsed_s"], 2))


# ---- (b) lws-stress-client -> Node ws server ---------------------------------

def direction_b(sc, node, env):
    n, m = sc.args.connections, sc.args.messages
    be = backend_of(sc)
    host = "127.0.0.1" if be == "openssl" else "localhost"   # mbedTLS 2.x: no IP SANs
    runs = [("b-main", n, ["--messages-per-conn", str(m), "--window", "4",
                           "--msg-size", "0-%d" % MAX_MSG] +
             (["--key-update", "10"] if be == "openssl" else []), n, None)]
    if be == "openssl":
        runs.append(("b-tls12", max(1, n // 2),
                     ["--messages-per-conn", str(m // 2), "--window", "2",
                      "--msg-size", "0-%d" % MAX_MSG, "--tls-max", "1.2"],
                     max(1, n // 2), "TLSv1.2"))
    # 2 slots x (1 + 3 reconnects) connections x 20 messages
    runs.append(("b-reconnect", 2, ["--messages-per-conn", "80", "--close-after", "20",
                                    "--reconnect", "--max-reconnects", "3",
                                    "--reconnect-delay-ms", "10", "--msg-size", "0-4000"], 8, None))
    totals = {"messages": 0, "bytes": 0, "tls": {}}
    for tag, conns, extra, want_conns, want_tls in runs:
        srv = start_node_server(sc, node, env, tag + "-node-server")
        fresh(sc, tag + "-lws-client")
        rc, cj = sc.run_client(srv.port, ["--connections", str(conns)] + extra,
                               tag=tag + "-lws-client", host=host, timeout=60)
        sj = stop_json(sc, srv, tag + "-node-server")
        cm, ends, att = cj["messages"], cj["ends"], cj["attempts"]
        want = {"b-main": conns * m, "b-tls12": conns * (m // 2), "b-reconnect": 160}[tag]
        bad = {k: cm[k] for k in ("lost", "corrupted", "duplicated", "out_of_order")}
        sc.require(rc == 0 and cj.get("ok"), "%s: lws-stress-client exit %d (ok=%s)" % (tag, rc, cj.get("ok")))
        sc.require(cm["sent"] == want and cm["received"] == want and not any(bad.values()),
                   "%s: lws client sent %d, got %d intact echoes of %d; %s"
                   % (tag, cm["sent"], cm["received"], want, bad))
        sc.require(ends["collateral"] == 0 and att["handshake_ok"] == want_conns and
                   att["handshake_failed"] == 0,
                   "%s: %d/%d handshakes (verified against the test CA), %d failed, %d collateral ends"
                   % (tag, att["handshake_ok"], want_conns, att["handshake_failed"], ends["collateral"]))
        sbad = sum(sj[k] for k in ("stress_bad_header", "stress_bad_len", "stress_bad_crc",
                                   "stress_bad_seq", "stress_bad_ident"))
        sc.require(sj["stress_ok"] == want and sbad == 0 and sj["messages_tx"] == want and
                   sj["bytes_tx"] == sj["bytes_rx"] and not sj["send_errors"],
                   "%s: Node server got %d valid stress messages (crc32, seq) of %d, %d bad, echoed %d (%d bytes)"
                   % (tag, sj["stress_ok"], want, sbad, sj["messages_tx"], sj["bytes_tx"]))
        sc.require(sj["connections"] == want_conns and sj["protocols"].get("lws-stress") == want_conns and
                   sj["close_codes"].get("1000") == want_conns,
                   "%s: Node server: %d connections, subprotocol lws-stress on %d, clean 1000 closes %d"
                   % (tag, sj["connections"], sj["protocols"].get("lws-stress", 0),
                      sj["close_codes"].get("1000", 0)))
        if want_tls:
            sc.require(sj["tls_versions"] == {want_tls: want_conns},
                       "%s: negotiated %s (want all %s)" % (tag, sj["tls_versions"], want_tls))
        elif tag == "b-main" and be == "openssl":
            sc.require(sj["tls_versions"] == {"TLSv1.3": want_conns},
                       "%s: negotiated %s (want all TLSv1.3)" % (tag, sj["tls_versions"]))
            ku = cj["key_updates"]
            sc.require(ku["done"] > 0 and ku["failed"] == 0,
                       "%s: %d TLS 1.3 KeyUpdates by lws accepted by Node, %d failed"
                       % (tag, ku["done"], ku["failed"]))
            sc.figure("b_key_updates", ku["done"])
        totals["messages"] += sj["stress_ok"]
        totals["bytes"] += sj["bytes_rx"]
        for k, v in sj["tls_versions"].items():
            totals["tls"][k] = totals["tls"].get(k, 0) + v
        sc.figure("%s_s" % tag.replace("-", "_"), round(cj["elapsed_s"], 2))
        if tag == "b-reconnect":
            ts = cj["tls_sessions"]
            # lws's claim (on mbedTLS its own belief, see S3) vs what the
            # Node server saw; reported, not required
            sc.figure("b_resumed_reconnects_lws_claims", "%d/%d" % (
                ts["resumed_reconnects"], ts["established_reconnects"]))
            sc.figure("b_resumed_node_saw", sj["sessions_reused"])
    sc.figure("b_messages", totals["messages"])
    sc.figure("b_bytes_each_way", totals["bytes"])
    sc.figure("b_tls", totals["tls"])


# ---- controls: a corrupting peer must be caught ------------------------------

def controls(sc, node, env, do_a, do_b):
    be = backend_of(sc)
    host = "127.0.0.1" if be == "openssl" else "localhost"
    if do_b:
        tag = "ctl-b"
        srv = start_node_server(sc, node, env, tag + "-node-server",
                                ["--corrupt-every", str(CORRUPT_EVERY)])
        fresh(sc, tag + "-lws-client")
        # a corrupted echo never frees its window slot, so with --window 1
        # each connection stalls at its first bad echo: run by --duration
        rc, cj = sc.run_client(srv.port, ["--connections", "2", "--duration", "2",
                                          "--drain-ms", "500", "--window", "1",
                                          "--msg-size", "0-2000"],
                               tag=tag + "-lws-client", host=host, timeout=60)
        sj = stop_json(sc, srv, tag + "-node-server")
        flipped, got = sj["corrupted_sent"], cj["messages"]["corrupted"]
        sc.require(rc == 1 and flipped > 0 and got == flipped,
                   "control b: Node server flipped %d echoes; lws-stress-client exit %d with %d corrupted"
                   % (flipped, rc, got))
        sc.figure("ctl_b_flipped_caught", [flipped, got])
    if do_b:
        # the lws client must verify the Node server: with a CA that did not
        # sign the server's certificate every handshake must fail
        tag = "ctl-b-verify"
        oca = sc.path("untrusted-ca.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                            "-subj", "/CN=lwsh interop untrusted CA",
                            "-keyout", sc.path("untrusted-ca.key"), "-out", oca],
                           capture_output=True, text=True)
        if r.returncode:
            raise sl.SetupError("openssl req (untrusted CA) failed: " + r.stderr)
        srv = start_node_server(sc, node, env, tag + "-node-server")
        fresh(sc, tag + "-lws-client")
        p = sc.start(tag + "-lws-client", [
            sc.app("lws-stress-client"), "--server", "%s:%d" % (host, srv.port),
            "--ca", oca, "--connections", "2", "--messages-per-conn", "5",
            "--stats-interval", "0", "--json", sc.path(tag + "-lws-client.json")])
        rc = sc.wait(p, 60)
        cj = sc.load_json(tag + "-lws-client.json")
        sj = stop_json(sc, srv, tag + "-node-server")
        att = cj["attempts"]
        sc.require(rc == 1 and att["handshake_failed"] == 2 and att["handshake_ok"] == 0 and
                   sj["connections"] == 0 and sj["tls_client_errors"] >= 1,
                   "control b-verify: lws client with an unrelated CA: exit %d, %d/2 handshakes "
                   "refused, %d ok; Node server: %d ws connections, %d TLS errors"
                   % (rc, att["handshake_failed"], att["handshake_ok"], sj["connections"],
                      sj["tls_client_errors"]))
    if do_a:
        tag = "ctl-a"
        srv = start_node_server(sc, node, env, tag + "-node-server",
                                ["--corrupt-every", str(CORRUPT_EVERY)])
        rc, cj = run_node(sc, node, env, tag + "-ws-client", "ws-client.js", [
            "--url", "wss://127.0.0.1:%d/" % srv.port, "--ca", os.path.join(sc.pki, "ca.pem"),
            "--connections", "2", "--messages", "100", "--max-size", "2000",
            "--seed", str(sc.args.seed), "--timeout", "30",
            "--json", sc.path(tag + "-ws-client.json")])
        sj = stop_json(sc, srv, tag + "-node-server")
        flipped, got = sj["corrupted_sent"], cj["mismatched_content"]
        sc.require(rc == 1 and flipped > 0 and got == flipped,
                   "control a: Node server flipped %d echoes; ws-client exit %d with %d mismatches"
                   % (flipped, rc, got))
        sc.figure("ctl_a_flipped_caught", [flipped, got])


def body(sc):
    a = sc.args
    if a.expect != "pass":
        raise sl.SetupError("interop has no known-defect mode: use --expect pass")
    if a.connections < 1 or a.messages < 10:
        raise sl.SetupError("--connections >= 1 and --messages >= 10 required")
    sc.app("lws-stress-server")
    sc.app("lws-stress-client")
    node, env = node_setup(sc)
    do_a = a.direction in ("a", "both")
    do_b = a.direction in ("b", "both")
    if do_a:
        direction_a(sc, node, env)
    if do_b:
        direction_b(sc, node, env)
    if not a.no_controls:
        controls(sc, node, env, do_a, do_b)


if __name__ == "__main__":
    sl.main("interop", __doc__.split("\n")[0], body, add_args)
