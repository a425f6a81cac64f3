#!/usr/bin/env python3
"""mbedTLS read/write error mapping (M1) with one client connection.

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
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["m1-read-timeout"]
MESSAGES = 200
FAIL_READ = 40  # well past the handshake, well before the last echo


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--errno", default="ETIMEDOUT",
                   choices=["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"],
                   help="errno of the failed read (default ETIMEDOUT)")


def body(sc):
    a = sc.args
    sc.name = a.case
    srv = sc.start_server([], duration=60)
    report = sc.path("client.io-shim.json")
    env = sl.preload_env(sc.app("lws-stress-client"), os.path.join(a.apps, "lws-io-shim.so"))
    env.update({"LWS_IO_SHIM_FAIL_READ": str(FAIL_READ), "LWS_IO_SHIM_ERRNO": a.errno,
                "LWS_IO_SHIM_REPORT": report})
    rc, summary = sc.run_client(srv.port, ["--connections", "1", "--messages-per-conn",
                                           str(MESSAGES), "--attempt-log", "4"],
                                timeout=60, env=env)
    sc.stop(srv)
    try:
        with open(report) as f:
            shim = json.load(f)["lws_io_shim"]
    except (OSError, ValueError, KeyError) as e:
        raise sl.SetupError("no lws-io-shim report (%s)" % e)
    if shim["injected"] != 1:
        raise sl.SetupError("the shim failed %d reads of %d, not read #%d"
                            % (shim["injected"], shim["socket_reads"], FAIL_READ))
    log = summary.get("attempt_log") or []
    if not log or not log[0]["established"]:
        raise sl.SetupError("the connection was not established: %s" % log[:1])
    first = log[0]
    echoed = summary["messages"]["received"] if "received" in summary["messages"] else None
    sc.figure("socket_reads", shim["socket_reads"])
    sc.figure("end_class", first["class"])
    sc.figure("end_cause", first.get("cause"))
    sc.figure("echoed", echoed)
    sc.require(first["class"] != "intended",
               "the connection whose read failed with %s ended there (it ended %s, %s)"
               % (a.errno, first["class"], first["reason"]))
    if first.get("cause") is not None:  # lws-hardened reports why
        sc.require(first["cause"] in ("io-error", "peer-reset"),
                   "its close cause names the socket error (%s)" % first["cause"])


if __name__ == "__main__":
    sl.main("mbedtls-io", __doc__.split("\n")[0], body, add_args)
