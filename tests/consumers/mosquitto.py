#!/usr/bin/env python3
"""mosquitto, a real consumer of libwebsockets, on one library variant.

One broker (mosquitto built from Debian's source against the variant,
tests/consumers/build-mosquitto.sh) with two TLS listeners: MQTT/TLS
(mosquitto's own OpenSSL code) and MQTT over wss (libwebsockets).  Cases:

  dual-listener   healthy clients on both listeners while wss clients come
                  and leave the ways devices leave (Leavers.MODES: DISCONNECT
                  without close_notify, reset, a cut inside a record, and a
                  corrupted record through lws-faultproxy).  Healthy:
                  mosquitto_sub subscribers and a mosquitto_pub publisher
                  with sequence numbers on MQTT/TLS (through lws-faultproxy
                  in split mode: a slow link whose TLS records arrive in
                  pieces, so the broker's SSL_read() often has to wait), and
                  wss clients that keep publishing.  Correct: no healthy
                  client dropped on either listener, no message lost or
                  reordered.  Field report 1 inside a product: mosquitto
                  before 2.0.19 calls SSL_read() without clearing the
                  thread's error queue, and vanilla lws leaves entries of a
                  failed SSL_shutdown() there.  With --audit the broker runs
                  under lws-errq-audit, whose summary is kept in the JSON.
  dead-link       wss subscribers whose link dies (network namespaces and
                  iptables DROP; loopback fallback: the clients are
                  stopped) while the broker keeps publishing to them.
                  Correct: no broker socket to them 1 s after mosquitto's
                  keepalive decision.  Measured: all stay, on both builds
                  (mosquitto closes a websockets client only from a
                  WRITEABLE callback, which a dead link never gets).
  handshake-fail  wss clients with no certificate or a wrong CA failing
                  their handshakes at a steady rate beside healthy traffic
                  (the wss listener requires client certificates): 0 healthy
                  drops, and the library says why each failed connection
                  ended (field notes Q5): the hardened build logs
                  "ends: alert-sent" (certificate_required) or "ends:
                  alert-received" (unknown_ca) at lws's info level, which
                  mosquitto writes to its log (websockets_log_level).

usage: mosquitto.py --case CASE --mosquitto BIN_DIR --apps APPS --variant V
                    [--expect pass|defect] [--json FILE] [--audit] (--help)
"""

import json
import math
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scenarios"))
import scenario_lib as sl  # noqa: E402
import mqtt_wss  # noqa: E402

TOPIC = "lwsh/seq"
# lws log levels (libwebsockets.h): errors, warnings, and info, where the
# hardened library says why each connection ended ("ends: <cause>")
LLL_ERR, LLL_WARN, LLL_INFO = 1, 2, 8


def add_args(p):
    p.add_argument("--case", required=True,
                   choices=["dual-listener", "handshake-fail", "dead-link"])
    p.add_argument("--mosquitto", required=True,
                   help="bin/ of a build-mosquitto.sh build on this variant")
    p.add_argument("--duration", type=float, default=6.0,
                   help="seconds of traffic (default 6)")
    p.add_argument("--subscribers", type=int, default=4)
    p.add_argument("--leavers", type=int, default=4,
                   help="wss clients coming and leaving at once (default 4)")
    p.add_argument("--rate", type=int, default=200,
                   help="messages per second the publisher sends (default 200)")
    p.add_argument("--healthy-link", choices=["split", "direct"], default="split",
                   help="how the healthy MQTT/TLS clients reach the broker "
                   "(default split: through lws-faultproxy, records in pieces)")
    p.add_argument("--dead-links", type=int, default=5,
                   help="dead-link: wss subscribers whose link dies (default 5)")
    p.add_argument("--keepalive", type=int, default=2,
                   help="dead-link: their MQTT keepalive, s (default 2)")
    p.add_argument("--ns", choices=["auto", "netns", "loopback"], default="auto",
                   help="dead-link: network namespaces (auto: if possible) or loopback")
    p.add_argument("--audit", action="store_true",
                   help="run the broker under lws-errq-audit (APPS/lws-errq-audit)")


# ---- the broker ------------------------------------------------------------

def broker_conf(sc, mqtt_port, wss_port, require_client_cert=False, bind="127.0.0.1"):
    pki = sc.pki
    tls = ("certfile %s\nkeyfile %s\ncafile %s\n"
           % (os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"),
              os.path.join(pki, "ca.pem")))
    conf = sc.path("mosquitto.conf")
    with open(conf, "w") as f:
        f.write("per_listener_settings false\nallow_anonymous true\n"
                "persistence false\nuser root\nlog_dest file %s\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
                "log_type information\nlog_type websockets\n"
                "websockets_log_level %d\nconnection_messages true\n"
                "max_queued_messages 100000\n"
                "listener %d %s\n%s"
                "listener %d %s\nprotocol websockets\n%s%s"
                % (sc.path("mosquitto.log"), LLL_ERR | LLL_WARN | LLL_INFO,
                   mqtt_port, bind, tls, wss_port, bind, tls,
                   "require_certificate true\n" if require_client_cert else ""))
    return conf


def wait_listening(sc, p, ports, timeout=15):
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            if p.poll() is not None:
                raise sl.SetupError("mosquitto exited (%s):\n%s" % (p.returncode, sc.tail(p.tag)))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise sl.SetupError("mosquitto not listening on %d" % port)
                time.sleep(0.05)


def start_broker(sc, require_client_cert=False):
    mqtt_port, wss_port = sl.free_port(), sl.free_port()
    conf = broker_conf(sc, mqtt_port, wss_port, require_client_cert)
    if os.path.exists(sc.path("mosquitto.log")):
        os.unlink(sc.path("mosquitto.log"))     # mosquitto appends to it
    argv = [os.path.join(sc.args.mosquitto, "mosquitto"), "-c", conf]
    if sc.args.audit:
        audit = sc.app("lws-errq-audit")
        argv = [audit, "--json", sc.path("audit.json"), "--out",
                sc.path("audit.txt"), "--"] + argv
    p = sc.start("broker", argv)
    wait_listening(sc, p, [mqtt_port, wss_port])
    return p, mqtt_port, wss_port


def log_lines(sc):
    # mosquitto's log file is flushed line by line (its stdout is not)
    try:
        with open(sc.path("mosquitto.log"), errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


# "Client X disconnected: Protocol error." and the like; a client's own
# DISCONNECT is "Client X disconnected." and not a drop
DROP = re.compile(r"Client (\S+) (?:disconnected(?: due to|:)|been disconnected)")
SOCKET_ERROR = re.compile(r"Socket error on client (\S+), disconnecting")


def drops_by_client(lines, prefix):
    """Healthy clients the broker dropped (not a clean DISCONNECT)."""
    n = {}
    for line in lines:
        m = DROP.search(line) or SOCKET_ERROR.search(line)
        if m and m.group(1).startswith(prefix):
            n[m.group(1)] = n.get(m.group(1), 0) + 1
    return n


# ---- healthy clients -------------------------------------------------------

def mosq_client(sc, name, port, host="127.0.0.1"):
    # the test certificate names localhost and 127.0.0.1, not a namespace's
    # address: there only the chain is verified
    return [os.path.join(sc.args.mosquitto, name), "-h", host, "-p", str(port),
            "--cafile", os.path.join(sc.pki, "ca.pem"), "-q", "1"] + \
        (["--insecure"] if host != "127.0.0.1" else [])


class HealthyWss(threading.Thread):
    """A wss client that stays: publishes every 50 ms until told to stop."""

    def __init__(self, port, cafile, idx, stop, cert=None):
        super().__init__(daemon=True)
        self.port, self.cafile, self.idx, self.stop = port, cafile, idx, stop
        self.cert = cert
        self.sent, self.error = 0, None

    def run(self):
        try:
            c = mqtt_wss.WssMqttClient(self.port, self.cafile, time.monotonic() + 120,
                                       "healthy-wss-%d" % self.idx, cert=self.cert)
            c.open()
            while not self.stop.is_set():
                c.publish("lwsh/wss/%d" % self.idx, b"%d" % self.sent)
                self.sent += 1
                self.stop.wait(0.05)
            c.leave("clean")
        except (OSError, EOFError, ConnectionError, ssl.SSLError, TimeoutError) as e:
            self.error = "%s: %s" % (type(e).__name__, e)


class Leavers(threading.Thread):
    """One of --leavers workers: wss clients that connect, publish and
    leave, in turn in each mode, until stop is set (at most max_conns).
    Mode "corrupt" goes through lws-faultproxy, which flips a byte of the
    client's PUBLISH record (bad_record_mac at the broker)."""

    MODES = ("disconnect", "rst", "cut", "corrupt")

    def __init__(self, port, corrupt_port, cafile, idx, stop, max_conns=2000):
        super().__init__(daemon=True)
        self.port, self.corrupt_port = port, corrupt_port
        self.cafile, self.idx, self.stop = cafile, idx, stop
        self.max_conns = max_conns
        self.left = {m: 0 for m in self.MODES}
        self.failed = 0

    def run(self):
        rnd = random.Random(self.idx)
        for i in range(self.max_conns):
            if self.stop.is_set():
                return
            mode = self.MODES[(i + self.idx) % len(self.MODES)]
            port = self.corrupt_port if mode == "corrupt" else self.port
            try:
                c = mqtt_wss.WssMqttClient(port, self.cafile, time.monotonic() + 10,
                                           "leaver-%d-%d" % (self.idx, i))
                c.open()
                c.publish("lwsh/leavers", b"bye")
                c.leave("stay" if mode == "corrupt" else mode)
                self.left[mode] += 1
            except (OSError, EOFError, ConnectionError, ssl.SSLError, TimeoutError):
                self.failed += 1
            self.stop.wait(rnd.uniform(0.005, 0.02))


def start_subscribers(sc, port):
    """--subscribers mosquitto_sub (QoS 1, persistent sessions), each
    connected and subscribed before this returns."""
    subs = []
    for i in range(sc.args.subscribers):
        tag = "healthy-sub-%d" % i
        subs.append(sc.start(tag, mosq_client(sc, "mosquitto_sub", port) +
                             ["-t", TOPIC, "-i", tag, "-c"]))
    deadline = time.monotonic() + 15
    while sum(1 for l in log_lines(sc) if "as healthy-sub-" in l) < sc.args.subscribers:
        if time.monotonic() > deadline:
            raise sl.SetupError("subscribers did not connect:\n" + sc.tail("broker"))
        time.sleep(0.05)
    time.sleep(0.5)             # their SUBSCRIBE reaches the broker
    return subs


def wind_down(sc, stop, threads, procs):
    """Stop the client threads, let the last messages arrive, take the
    broker's log, then stop the processes; returns the log's lines."""
    stop.set()
    for t in threads:
        t.join(30)
    time.sleep(1.5)
    lines = log_lines(sc)       # before anything is stopped
    for p in procs:
        sc.stop(p)
    return lines


def summed(dicts):
    out = {}
    for d in dicts:
        for k, n in d.items():
            out[k] = out.get(k, 0) + n
    return out


def publish_numbered(sc, port, stop_at, rate):
    """mosquitto_pub -l (one message per stdin line): 1, 2, ... at `rate`
    per second until stop_at; returns (how many were written, whether the
    publisher then finished delivering them)."""
    p = sc.start("publisher", mosq_client(sc, "mosquitto_pub", port) +
                 ["-t", TOPIC, "-l", "-i", "healthy-pub"], stdin=subprocess.PIPE)
    n, t0 = 0, time.monotonic()
    try:
        while time.monotonic() < stop_at and p.poll() is None:
            due = int((time.monotonic() - t0) * rate)
            while n < due:
                n += 1
                p.stdin.write(b"%d\n" % n)
            p.stdin.flush()
            time.sleep(0.01)
        p.stdin.close()
    except BrokenPipeError:
        pass
    try:
        # QoS 1: it exits once the broker has acknowledged every message;
        # a publisher the broker keeps dropping may never get there
        p.wait(timeout=5)
        finished = True
    except subprocess.TimeoutExpired:
        sc.kill(p)
        finished = False
    return n, finished


def received(sc, tag):
    """The sequence numbers a subscriber printed, in order."""
    out = []
    with open(sc.path(tag + ".log"), errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.isdigit():
                out.append(int(line))
    return out


def seq_figures(seen, sent):
    """(lost, reordered, duplicated) of one subscriber's sequence."""
    got = set(seen)
    lost = sum(1 for i in range(1, sent + 1) if i not in got)
    reordered = sum(1 for a, b in zip(seen, seen[1:]) if b < a)
    return lost, reordered, len(seen) - len(got)


# ---- cases -------------------------------------------------------------------

def dual_listener(sc):
    a = sc.args
    broker, mqtt_port, wss_port = start_broker(sc)
    healthy_port = mqtt_port
    if a.healthy_link == "split":
        # a slow link for the healthy clients only: their records arrive in
        # pieces, so the broker's SSL_read() often returns "want read"
        _, healthy_port, _ = sc.start_proxy(
            mqtt_port, ["--fraction", "1", "--faults", "split", "--dir", "c2s",
                        "--segment", "1-7", "--segment-gap-us", "200"],
            duration=a.duration + 60, tag="split-proxy")
    # corrupts the 6th client record: ClientHello, ChangeCipherSpec,
    # Finished, the upgrade request, CONNECT, then the PUBLISH
    _, corrupt_port, _ = sc.start_proxy(
        wss_port, ["--fraction", "1", "--faults", "corrupt", "--dir", "c2s",
                   "--record", "6"], duration=a.duration + 60, tag="corrupt-proxy")

    subs = start_subscribers(sc, healthy_port)

    stop = threading.Event()
    cafile = os.path.join(sc.pki, "ca.pem")
    wss = [HealthyWss(wss_port, cafile, i, stop) for i in range(2)]
    leavers = [Leavers(wss_port, corrupt_port, cafile, i, stop) for i in range(a.leavers)]
    for t in wss + leavers:
        t.start()
    sent, pub_finished = publish_numbered(sc, healthy_port, time.monotonic() + a.duration,
                                          a.rate)
    lines = wind_down(sc, stop, wss + leavers, subs + [broker])
    left = summed([t.left for t in leavers])
    lost = reordered = dup = 0
    for i in range(a.subscribers):
        l, r, d = seq_figures(received(sc, "healthy-sub-%d" % i), sent)
        lost, reordered, dup = lost + l, reordered + r, dup + d
    mqtt_drops = drops_by_client(lines, "healthy-sub-")
    mqtt_drops.update(drops_by_client(lines, "healthy-pub"))
    wss_drops = drops_by_client(lines, "healthy-wss-")
    ssl_errors = [l for l in lines if "OpenSSL Error" in l]

    sc.figure("mosquitto", a.mosquitto)
    sc.figure("published", sent)
    sc.figure("publisher_finished", pub_finished)
    sc.figure("wss_clients_left", left)
    sc.figure("wss_clients_failed_to_open", sum(t.failed for t in leavers))
    sc.figure("healthy_mqtt_tls_dropped", sum(mqtt_drops.values()))
    sc.figure("healthy_mqtt_tls_dropped_by_client", mqtt_drops)
    sc.figure("healthy_wss_dropped", sum(wss_drops.values()) +
              sum(1 for t in wss if t.error))
    sc.figure("healthy_wss_errors", [t.error for t in wss if t.error])
    sc.figure("messages_lost", lost)
    sc.figure("messages_reordered", reordered)
    sc.figure("messages_duplicated", dup)
    sc.figure("openssl_errors_logged", len(ssl_errors))
    sc.figure("openssl_errors_sample", sorted(set(
        re.sub(r"^\d+: ", "", l) for l in ssl_errors))[:5])
    for l in ssl_errors[:3]:
        print("  broker: " + l)

    # the run must have exercised what it claims to
    if sent < a.rate * a.duration / 2 or min(left.values() or [0]) < 3:
        raise sl.SetupError("too little traffic: %d published, left %s" % (sent, left))
    sc.require(pub_finished, "the publisher delivered everything and exited")
    sc.require(sum(mqtt_drops.values()) == 0,
               "no healthy MQTT/TLS client dropped (%s)" % (mqtt_drops or 0))
    sc.require(not wss_drops and not any(t.error for t in wss),
               "no healthy wss client dropped (%s %s)"
               % (wss_drops or "", [t.error for t in wss if t.error] or ""))
    sc.require(lost == 0 and reordered == 0,
               "no message lost (%d) or reordered (%d) across %d subscribers"
               % (lost, reordered, a.subscribers))
    if a.audit:
        audit_figures(sc)


def audit_figures(sc):
    """lws-errq-audit's summary of the broker, in the figures."""
    try:
        with open(sc.path("audit.json")) as f:
            au = json.load(f)["lws_errq_audit"]
    except (OSError, ValueError, KeyError) as e:
        raise sl.SetupError("no lws-errq-audit summary: %s" % e)
    with open(sc.path("audit.txt"), errors="replace") as f:
        print("".join("  " + l for l in f.readlines()[:12]))
    origins = []
    for o in au["origins"]:
        lb = o["left_by"] or {}
        origins.append({"left_by": "%s from %s in %s" % (lb.get("call"), lb.get("function"),
                                                        lb.get("object")) if lb else None,
                        "source": lb.get("source"),
                        "entry": o["entry"]["reason"] or o["entry"]["code"],
                        "stale_at_entry": o["stale_at_entry"], "misled": o["misled"],
                        "victim": "%s from %s" % (o["first_victim"]["call"],
                                                  o["first_victim"]["function"])})
    sc.figure("audit", {"calls": au["calls"], "stale_at_entry": au["stale_at_entry"],
                        "misled": au["misled"], "misled_waiting": au["misled_waiting"],
                        "origins": origins})
    if au["calls"] == 0:
        raise sl.SetupError("lws-errq-audit saw no SSL call")
    if sc.args.expect == "defect":
        # where the broker shows the defect, the audit must say who left
        # the entries: libwebsockets, in its SSL_shutdown() of a wss client
        from_lws = [o for o in au["origins"]
                    if (o["left_by"] or {}).get("call") == "SSL_shutdown"
                    and (o["left_by"] or {}).get("object", "").startswith("libwebsockets.so")]
        sc.invariant(sum(o["misled"] for o in from_lws) > 0,
                     "lws-errq-audit names libwebsockets' SSL_shutdown() (%s) as the origin "
                     "of the entries that misled the broker"
                     % sorted({(o["left_by"]["function"], o["left_by"]["source"])
                               for o in from_lws}))
    sc.require(au["stale_at_entry"] == 0,
               "lws-errq-audit: no SSL call entered with a stale error queue (%d)"
               % au["stale_at_entry"])


class FailingHandshakes(threading.Thread):
    """wss clients whose handshakes fail, in turn: one without a client
    certificate (the listener requires one: the broker refuses it) and one
    that trusts another CA (it refuses the broker), every `period` s."""

    def __init__(self, port, pki, wrong_ca, stop, period=0.02, max_conns=2000):
        super().__init__(daemon=True)
        self.port, self.pki, self.wrong_ca, self.stop = port, pki, wrong_ca, stop
        self.period, self.max_conns = period, max_conns
        self.failed = {"no-cert": 0, "wrong-ca": 0}
        self.unexpected = 0     # a handshake that should have failed did not

    def run(self):
        ca = os.path.join(self.pki, "ca.pem")
        for i in range(self.max_conns):
            if self.stop.is_set():
                return
            kind = ("no-cert", "wrong-ca")[i % 2]
            try:
                c = mqtt_wss.WssMqttClient(self.port, self.wrong_ca if kind == "wrong-ca" else ca,
                                           time.monotonic() + 5, "failing-%d" % i)
                c.open()        # TLS 1.3: a missing certificate shows here
                self.unexpected += 1
                c.leave("clean")
            except (OSError, EOFError, ConnectionError, ssl.SSLError, TimeoutError):
                self.failed[kind] += 1
            self.stop.wait(self.period)


def make_wrong_ca(sc):
    path = sc.path("wrong-ca.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=not the test CA",
                        "-keyout", sc.path("wrong-ca.key"), "-out", path, "-days", "2"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise sl.SetupError("openssl req (wrong CA) failed: " + r.stderr)
    return path


CAUSE = re.compile(r"ends: ([a-z-]+)")


def handshake_fail(sc):
    """Failing wss handshakes beside healthy clients on both listeners."""
    a = sc.args
    broker, mqtt_port, wss_port = start_broker(sc, require_client_cert=True)
    subs = start_subscribers(sc, mqtt_port)

    stop = threading.Event()
    cert = (os.path.join(sc.pki, "client.pem"), os.path.join(sc.pki, "client.key"))
    wss = [HealthyWss(wss_port, os.path.join(sc.pki, "ca.pem"), i, stop, cert=cert)
           for i in range(2)]
    failing = [FailingHandshakes(wss_port, sc.pki, make_wrong_ca(sc), stop) for _ in range(2)]
    for t in wss + failing:
        t.start()
    sent, pub_finished = publish_numbered(sc, mqtt_port, time.monotonic() + a.duration, a.rate)
    lines = wind_down(sc, stop, wss + failing, subs + [broker])
    failed = summed([t.failed for t in failing])
    causes = {}
    for l in lines:
        m = CAUSE.search(l)
        if m:
            causes[m.group(1)] = causes.get(m.group(1), 0) + 1
    lost = reordered = 0
    for i in range(a.subscribers):
        l, r, _ = seq_figures(received(sc, "healthy-sub-%d" % i), sent)
        lost, reordered = lost + l, reordered + r
    mqtt_drops = drops_by_client(lines, "healthy-")
    sc.figure("mosquitto", a.mosquitto)
    sc.figure("published", sent)
    sc.figure("handshakes_failed", failed)
    sc.figure("handshakes_that_should_have_failed", sum(t.unexpected for t in failing))
    sc.figure("close_causes_logged", causes)
    sc.figure("healthy_dropped", mqtt_drops)
    sc.figure("healthy_wss_errors", [t.error for t in wss if t.error])
    sc.figure("messages_lost", lost)
    sc.figure("messages_reordered", reordered)

    if min(failed.values()) < 10:
        raise sl.SetupError("too few failing handshakes: %s" % failed)
    sc.invariant(sum(t.unexpected for t in failing) == 0,
                 "every handshake without a client certificate or with the wrong CA failed")
    sc.require(pub_finished and not mqtt_drops and not any(t.error for t in wss),
               "0 healthy clients dropped (%s %s)"
               % (mqtt_drops or "", [t.error for t in wss if t.error] or ""))
    sc.require(lost == 0 and reordered == 0,
               "no message lost (%d) or reordered (%d)" % (lost, reordered))
    # Q5: the library says why each failed connection ended (lws's info
    # log, which mosquitto writes to its own log: websockets_log_level)
    # no client certificate: the broker sends certificate_required; the
    # wrong CA: the client sends unknown_ca
    sc.require(causes.get("alert-sent", 0) == failed["no-cert"],
               "the broker's library logged 'alert-sent' for each refused client without a "
               "certificate (%d of %d)" % (causes.get("alert-sent", 0), failed["no-cert"]))
    sc.require(causes.get("alert-received", 0) == failed["wrong-ca"],
               "... and 'alert-received' for each client that refused the broker "
               "(%d of %d)" % (causes.get("alert-received", 0), failed["wrong-ca"]))


def run_dead_link(sc, place):
    import netns
    a = sc.args
    host = place.server_host
    mqtt_port, wss_port = sl.free_port(), sl.free_port()
    conf = broker_conf(sc, mqtt_port, wss_port, bind=host)
    broker = sc.start("broker", place.prefix("server") +
                      [os.path.join(a.mosquitto, "mosquitto"), "-c", conf])
    deadline = time.monotonic() + 15
    while not any("running" in l for l in log_lines(sc)):
        if broker.poll() is not None or time.monotonic() > deadline:
            raise sl.SetupError("mosquitto did not start:\n" + sc.tail("broker"))
        time.sleep(0.05)
    held = sc.start("held", place.prefix("client") + [
        sys.executable, os.path.join(HERE, "mqtt_wss.py"), "hold", "--host", host,
        "--port", str(wss_port), "--cafile", os.path.join(sc.pki, "ca.pem"),
        "--connections", str(a.dead_links), "--keepalive", str(a.keepalive)])
    deadline = time.monotonic() + 20
    while "ready" not in sc.tail("held"):
        if held.poll() is not None or time.monotonic() > deadline:
            raise sl.SetupError("held clients not ready:\n" + sc.tail("held"))
        time.sleep(0.05)
    # the broker keeps writing to them: 2 KiB messages, 50 per second
    pub = sc.start("dead-publisher", place.prefix("server") +
                   mosq_client(sc, "mosquitto_pub", mqtt_port, host=host) +
                   ["-t", "lwsh/dead", "-l", "-q", "0"], stdin=subprocess.PIPE)
    payload = b"x" * 2048 + b"\n"

    def publish_for(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pub.stdin.write(payload)
            pub.stdin.flush()
            time.sleep(0.02)

    publish_for(1.0)
    before = len(netns.sample_sockets(place, "server", wss_port))
    place.cut("client", [held])     # the clients' side vanishes
    t_cut = time.monotonic()
    # The decision: mosquitto drops a client 1.5 x keepalive after its last
    # packet, checked once a second (keepalive.c).  For a websockets client
    # it then only asks lws for a WRITEABLE callback in which to close, and
    # logs nothing: the time is taken from that rule (an upper bound)
    t_decision = t_cut + math.ceil(a.keepalive * 1.5) + 1
    samples = []
    while time.monotonic() < t_decision + 1.2:
        publish_for(0.1)
        socks = netns.sample_sockets(place, "server", wss_port)
        samples.append((time.monotonic() - t_cut, len(socks), sum(x.sendq for x in socks)))
    after = [x for x in samples if x[0] >= t_decision - t_cut + 1.0]
    left = after[0][1] if after else samples[-1][1]
    sendq = after[0][2] if after else samples[-1][2]
    pub.stdin.close()
    sc.stop(pub)
    return before, t_cut, t_decision, samples, left, sendq


def dead_link(sc):
    """wss subscribers whose link dies (netns + iptables DROP, or on loopback
    the client process stopped) while the broker keeps publishing to them;
    the broker decides they are dead at MQTT keepalive expiry ("has exceeded
    timeout"); its sockets to them are counted 1 s after that decision."""
    import netns
    a = sc.args
    try:
        place, note = netns.make_place(a.ns)
    except netns.PlaceError as e:
        raise sl.SetupError(str(e))
    print("dead-link: " + note + ("" if place.kind == "netns" else
                                  " (the clients are stopped: the kernel still acks)"))
    sc.figure("place", place.kind)
    try:
        before, t_cut, t_decision, samples, left, sendq = run_dead_link(sc, place)
    except netns.PlaceError as e:
        raise sl.SetupError(str(e))
    finally:
        netns.teardown(sc, place)
    sc.figure("sockets_before_cut", before)
    sc.figure("decision_s_after_cut", round(t_decision - t_cut, 2))
    sc.figure("sockets_left_1s_after_decision", left)
    sc.figure("sendq_1s_after_decision_bytes", sendq)
    sc.figure("samples", [(round(t, 2), n, q) for t, n, q in samples[::5]])
    if before < a.dead_links:
        raise sl.SetupError("only %d of %d wss connections before the cut" % (before, a.dead_links))
    sc.require(left == 0, "no broker socket to a dead wss client 1 s after the decision "
               "(%d left, %d B Send-Q)" % (left, sendq))


def body(sc):
    for d, what in ((sc.args.mosquitto, "mosquitto"),):
        if not os.access(os.path.join(d, "mosquitto"), os.X_OK):
            raise sl.SetupError("%s not built in %s" % (what, d))
    {"dual-listener": dual_listener, "handshake-fail": handshake_fail,
     "dead-link": dead_link}[sc.args.case](sc)


if __name__ == "__main__":
    sl.main("consumers." + sys.argv[sys.argv.index("--case") + 1]
            if "--case" in sys.argv else "consumers", __doc__.split("\n")[0], body,
            add_args)
