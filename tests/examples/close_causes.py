#!/usr/bin/env python3
"""minimal-examples/ws-server/minimal-ws-server-close-causes, built the way a
user builds it (its own CMakeLists.txt, find_package(libwebsockets) on an
installed variant) and run against peers that end connections in known ways:

  wrong-ca     openssl s_client trusting another CA refuses the server:
               the server must log "cause alert-received ... unknown CA"
  dirty-eof    a wss client whose connection lws-faultproxy truncates (FIN,
               no close_notify) after the upgrade: "cause dirty-eof"
  peer-reset   the same with a TCP reset: "cause peer-reset"
  echo         a healthy client echoes and closes: its end has no failure
and its counters line.  Built against vanilla it must say that it is not
lws-hardened and log the ends without a cause (asserted, so the example's
fallback is tested too).

usage: close_causes.py --apps APPS --variant V --stage STAGE_DIR
                       [--expect pass|defect] [--json FILE]
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "scenarios"))
import scenario_lib as sl  # noqa: E402
import tls_peer  # noqa: E402

EXAMPLE = os.path.join(REPO, "minimal-examples", "ws-server", "minimal-ws-server-close-causes")


def add_args(p):
    p.add_argument("--stage", required=True, help="the installed variant (build/stage/V)")


def build_example(sc):
    bdir = sc.path("example-build")
    for argv in (["cmake", "-S", EXAMPLE, "-B", bdir,
                  "-DCMAKE_PREFIX_PATH=" + os.path.abspath(sc.args.stage)],
                 ["cmake", "--build", bdir]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if r.returncode:
            raise sl.SetupError("%s failed:\n%s%s" % (" ".join(argv), r.stdout[-2000:],
                                                     r.stderr[-2000:]))
    return os.path.join(bdir, "lws-minimal-ws-server-close-causes")


def ws_session(port, frames):
    """A wss client: upgrade, then `frames` echoes of 64 bytes; the
    connection is left to the caller."""
    deadline = time.monotonic() + 10
    peer = tls_peer.connect(port, deadline, slow=False)
    peer.handshake()
    status = tls_peer.ws_upgrade(peer, "lws-minimal-echo")
    if " 101 " not in status:
        raise sl.SetupError("upgrade refused: %r" % status)
    for _ in range(frames):
        peer.send(tls_peer.ws_client_frame(bytes(64)))
        peer.recv_exact(2 + 64)
    return peer


def body(sc):
    a = sc.args
    binary = build_example(sc)
    port = sl.free_port()
    srv = sc.start("example", [binary, "-p", str(port), "--stats", "1",
                               "--cert", os.path.join(sc.pki, "server.pem"),
                               "--key", os.path.join(sc.pki, "server.key")])
    deadline = time.monotonic() + 10
    while "listening on port" not in sc.tail("example"):
        if srv.poll() is not None or time.monotonic() > deadline:
            raise sl.SetupError("the example did not start:\n" + sc.tail("example"))
        time.sleep(0.05)

    # 1. a client that refuses the server's certificate (unknown CA)
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-CAfile", os.path.join(sc.pki, "client.pem"),
                        "-verify_return_error"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=20)
    time.sleep(0.3)
    # 2./3. the proxy ends a ws connection with FIN, then one with RST, 400
    # ms after it was accepted: after the upgrade and 5 echoes, while idle
    for fault in ("truncate", "rst"):
        _, pport, _ = sc.start_proxy(port, ["--fault-conn", "0", "--faults", fault,
                                            "--after-ms", "400"],
                                     duration=30, tag="proxy-" + fault)
        peer = ws_session(pport, 5)
        time.sleep(0.8)     # the fault fires; the server sees it
        peer.sock.close()
    # 4. a healthy echo, closed by the client after its TLS close_notify
    peer = ws_session(port, 5)
    try:
        peer.obj.unwrap()
    except Exception:
        pass
    peer._flush()
    peer.sock.close()
    time.sleep(1.5)         # one more counters line
    sc.stop(srv)

    log = open(sc.path("example.log"), errors="replace").read()
    ends = re.findall(r"end \d+ \(([^)]*)\): cause ([a-z-]+)(.*)", log)
    sc.figure("ends", [(how, cause, rest.strip(", ")[:120]) for how, cause, rest in ends])
    print(log[-3000:])
    causes = [c for _, c, _ in ends]
    if len(ends) < 4:
        raise sl.SetupError("the example logged %d ends, expected 4:\n%s" % (len(ends), log))
    hardened = re.search(r"U: lws-hardened \d", log) is not None
    sc.figure("built_against_hardened", hardened)
    if a.expect == "defect":
        # vanilla: the example says what it lacks, and logs the ends anyway
        sc.invariant("not built against lws-hardened" in log,
                     "the example says it is not built against lws-hardened")
        sc.invariant(all(c == "unknown" for c in causes) and len(causes) >= 4,
                     "it logs every end, without a cause (%s)" % causes)
    sc.require(hardened, "built against lws-hardened: it names the library")
    sc.require(any(c == "alert-received" and "unknown CA" in rest
                   for _, c, rest in ends),
               "the refused certificate: alert-received, unknown CA")
    sc.require("dirty-eof" in causes, "the truncated connection: dirty-eof")
    sc.require("peer-reset" in causes, "the reset connection: peer-reset")
    sc.require(causes[-1] in ("none", "clean"),
               "the healthy echo ends without a failure (%s)" % causes[-1])
    sc.require(re.search(r"counters: errq_stale_discarded=\d+ .*session_load_refused=\d+", log),
               "a counters line with every counter")


if __name__ == "__main__":
    sl.main("examples.close-causes", __doc__.split("\n")[0], body, add_args)
