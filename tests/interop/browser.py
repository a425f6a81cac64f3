#!/usr/bin/env python3
"""A real browser as a wss client: Debian's chromium (headless) against
lws-stress-server of one variant, driven by tests/interop/browser.js.

Healthy connections go through lws-faultproxy in split mode (TLS records
from the browser delivered in pieces of 1-7 bytes: a slow link, never a
broken one); other connections go through a second lws-faultproxy that
breaks every one of them (reset, truncation, a corrupted record), opened one
after the other while the healthy ones echo.  With --plant the server's
application callbacks also leave OpenSSL errors queued (lws-stress-server
--plant, field notes Q1), as a user's SSL_INFO handler may.  The browser
trusts the test CA from an NSS database (certutil), as a user would import
it.

Correct: every healthy connection opened, every echo came back in order and
byte-exact, none was closed before the page closed it (0 collateral drops),
and the broken connections really were broken (else the run proves
nothing: a setup error).

usage: browser.py --apps APPS --variant V --node-prefix DIR [--json FILE]
"""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scenarios"))
import scenario_lib as sl  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def add_args(p):
    p.add_argument("--node-prefix", required=True, help="scripts/node-deps DIR (for ws)")
    p.add_argument("--chromium", default=CHROMIUM)
    p.add_argument("--seconds", type=int, default=6)
    p.add_argument("--healthy", type=int, default=8)
    p.add_argument("--churn", type=int, default=4)
    p.add_argument("--plant", action="append", default=[],
                   help="lws-stress-server --plant WHERE: an application callback "
                   "that leaves an OpenSSL error queued (field notes Q1); repeatable")


def trust_ca(sc, home):
    """The test CA in an NSS database under home, as Chromium reads it."""
    certutil = shutil.which("certutil")
    if not certutil:
        raise sl.SetupError("certutil not found (Debian package libnss3-tools)")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    for argv in ([certutil, "-d", "sql:" + db, "-N", "--empty-password"],
                 [certutil, "-d", "sql:" + db, "-A", "-t", "C,,", "-n", "lwsh-test-ca",
                  "-i", os.path.join(sc.pki, "ca.pem")]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise sl.SetupError("%s failed: %s" % (" ".join(argv), r.stderr.strip()))


def body(sc):
    a = sc.args
    if not os.access(a.chromium, os.X_OK):
        raise sl.SetupError("%s not found (Debian package chromium)" % a.chromium)
    plant = [x for w in a.plant for x in ("--plant", w)]
    server = sc.start_server(["--max-msg", "65536"] + plant, duration=a.seconds + 90)
    _, healthy_port, _ = sc.start_proxy(
        server.port, ["--fraction", "1", "--faults", "split", "--dir", "c2s", "--segment", "1-7"],
        duration=a.seconds + 90, tag="split-proxy")
    _, faulty_port, faulty_events = sc.start_proxy(
        server.port, ["--fraction", "1", "--faults", "rst,truncate,corrupt",
                      "--after-bytes", "0-6000"], duration=a.seconds + 90, tag="fault-proxy")

    home = sc.path("home")
    trust_ca(sc, home)
    out = sc.path("browser.json")
    env = {"HOME": home, "NODE_PATH": os.path.join(a.node_prefix, "node_modules")}
    p = sc.start("browser", ["node", os.path.join(HERE, "browser.js"),
                             "--chromium", a.chromium,
                             "--healthy-url", "wss://localhost:%d/" % healthy_port,
                             "--faulty-url", "wss://localhost:%d/" % faulty_port,
                             "--healthy", str(a.healthy), "--churn", str(a.churn),
                             "--seconds", str(a.seconds), "--seed", str(a.seed),
                             "--user-data-dir", sc.path("profile"), "--json", out], env=env)
    rc = sc.wait(p, a.seconds + 120)
    if rc != 0:
        raise sl.SetupError("browser.js exited %s:\n%s" % (rc, sc.tail("browser")))
    res = sc.load_json("browser.json")
    sc.stop(server)

    healthy = res["healthy"]
    churn_opened = sum(w["opened"] for w in res["churn"])
    churn_ended = {}
    for w in res["churn"]:
        for k, n in w["ended"].items():
            churn_ended[k] = churn_ended.get(k, 0) + n
    faulted = {}                # connection -> the fault applied to it
    with open(faulty_events) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("ev") == "fault_applied":
                faulted[ev["conn"]] = ev["fault"]
    faults = {}
    for kind in faulted.values():
        faults[kind] = faults.get(kind, 0) + 1
    sc.figure("browser", res.get("browser"))
    sc.figure("healthy_connections", len(healthy))
    sc.figure("healthy_opened", sum(1 for h in healthy if h["opened"]))
    sc.figure("healthy_echoes_ok", sum(h["echoed_ok"] for h in healthy))
    sc.figure("healthy_echoes_bad", sum(h["bad"] for h in healthy))
    sc.figure("healthy_dropped", [h for h in healthy if h["early"]])
    sc.figure("broken_connections_opened", churn_opened)
    sc.figure("broken_connections_ended", churn_ended)
    sc.figure("proxy_faults", faults)

    if sum(faults.values()) < 5:
        raise sl.SetupError("too few broken connections (%s): the run proves nothing" % faults)
    sc.require(all(h["opened"] for h in healthy), "every healthy connection opened")
    sc.require(all(h["echoed_ok"] > 0 for h in healthy), "every healthy connection echoed")
    sc.require(sum(h["bad"] for h in healthy) == 0, "every echo in order and byte-exact")
    sc.require(not any(h["early"] for h in healthy),
               "0 collateral drops: no healthy connection closed before the page closed it (%s)"
               % [(h["conn"], h["code"]) for h in healthy if h["early"]])
    sc.require(all(h["code"] == 1000 for h in healthy if not h["early"]),
               "healthy connections closed with 1000")


if __name__ == "__main__":
    sl.main("interop.browser", __doc__.split("\n")[0], body, add_args)
