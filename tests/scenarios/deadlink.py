#!/usr/bin/env python3
"""Dead-link close (D1/D2): what is left after lws declares a link dead.

A wss connection (or --connections N) runs between lws-stress-server and
lws-stress-client.  After the ws upgrade and some echo traffic the link is cut
so that the peer vanishes without FIN or RST: iptables DROP in the peer's
network namespace (default), or on loopback the peer process is stopped.
The side named by --role then declares the link dead through lws connection
validity: a ws PING after --ping idle seconds, hang up --hangup seconds after
the last PONG.  That side's sockets are sampled with `ss -tanoi` every
--interval seconds in its own namespace.

Close decision (per socket): lws's validity hangup, i.e. the last validity
confirmation + --hangup s.  Apps cannot see it (vanilla calls back CLOSED
only after its LRS_SHUTDOWN wait), so it is taken from the socket itself:
the last validity PING leaves at most --ping s after the cut, and before the
hangup the dead side has nothing else to write, so the first sample later
than cut + ping + 0.3 s in which the socket wrote anything (ws close / TLS
close_notify), left ESTABLISHED or disappeared is the decision.  If nothing
visible happens by cut + hangup + 0.5 s, the decision is taken as
cut + hangup (upper bound: the last confirmation was before the cut).

"Written" is bytes_acked + Send-Q of the socket: it grows only by new
application writes (not by retransmissions), both on a cut link and on
loopback.  The defect is absent when no socket wrote anything after the
decision and no socket to the peer exists 1 s after it.
"""

import statistics
import time
from collections import Counter

import netns
import scenario_lib as sl

PING_MARGIN = 0.3       # s after cut + ping: no validity PING can leave later
DECISION_SLACK = 0.5    # s past cut + hangup: lws timers and sampling jitter
AFTER = 1.0             # the "1 s after the decision" check
TLS_RECORD_MIN = 5      # bytes; the smallest TLS record is >= 22


def add_args(p):
    p.add_argument("--role", choices=["server", "client"], default="server",
                   help="the side that declares the link dead (default server)")
    p.add_argument("--connections", type=int, default=1, help="connections (default 1)")
    p.add_argument("--ns", choices=["auto", "netns", "loopback"], default="auto",
                   help="network namespaces (auto: if possible) or loopback")
    p.add_argument("--ping", type=int, default=1, help="validity ping secs (default 1)")
    p.add_argument("--hangup", type=int, default=3, help="validity hangup secs (default 3)")
    p.add_argument("--timeout-secs", type=int, default=5,
                   help="server context timeout_secs, bounds vanilla's LRS_SHUTDOWN "
                        "wait (default 5)")
    p.add_argument("--limit", type=float, default=15.0,
                   help="follow the sockets this long after the hangup (default 15)")
    p.add_argument("--interval", type=float, default=0.1, help="ss sampling period")
    p.add_argument("--no-abortive-close", action="store_true",
                   help="the dead side runs with lws_hardened_abortive_close(0): "
                        "it must then close like vanilla (the switch works)")


# ---- running -----------------------------------------------------------------

def validity_opts(a):
    return ["--validity-ping", str(a.ping), "--validity-pong-timeout", str(a.hangup)]


def start_apps(sc, place):
    a = sc.args
    extra = ["--timeout-secs", str(a.timeout_secs)]
    dead_side = ["--no-abortive-close"] if a.no_abortive_close else []
    if a.role == "server":
        extra += validity_opts(a) + dead_side
    server = netns.start_server(sc, place, extra, duration=a.limit + 60)
    # window 1 and a modest rate: after the cut at most one message leaves
    # before the echo that never comes, so the dead side goes quiet
    cextra = ["--connections", str(a.connections), "--duration", str(a.limit + 60),
              "--window", "1", "--msg-size", "64", "--rate", "20"]
    if a.role == "client":
        cextra += validity_opts(a) + dead_side
    client = sc.start("client", netns.client_argv(sc, place, server.port, cextra))
    return server, client


def wait_established(sc, place, side, port, n, procs, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise sl.SetupError("%s exited (%s):\n%s" % (p.tag, p.returncode,
                                                             sc.tail(p.tag)))
        est = [s for s in netns.sample_sockets(place, side, port) if s.state == "ESTAB"]
        if len(est) >= n:
            return est
        time.sleep(0.1)
    raise sl.SetupError("%d connections not ESTABLISHED within %ss" % (n, timeout))


def follow(sc, place, side, port, keys, t_cut):
    """Sample `side`'s sockets until all are gone (past the hangup) or the limit."""
    a = sc.args
    t_hangup = t_cut + a.hangup + DECISION_SLACK
    t_end = t_hangup + a.limit
    rows = []
    while True:
        t = time.monotonic()
        socks = {s.key: s for s in netns.sample_sockets(place, side, port) if s.key in keys}
        rows.append((t, socks, place.out_counters(side)))
        if t >= t_end or (not socks and t > t_hangup + AFTER + 0.5):
            return rows
        time.sleep(max(0.0, a.interval - (time.monotonic() - t)))


# ---- analysis ----------------------------------------------------------------

def analyse_socket(key, rows, t_cut, a):
    """Decision, writes after it, state at +1 s and lifetime of one socket."""
    window = t_cut + a.ping + PING_MARGIN
    upper = t_cut + a.hangup
    base = None
    for t, socks, _ in rows:
        if t <= window and key in socks:
            base = socks[key].written
    if base is None:
        raise sl.SetupError("socket %s gone before the hangup could happen" % (key,))
    decision, source = upper, "bound"
    for t, socks, _ in rows:
        s = socks.get(key)
        if t > window and (s is None or s.state != "ESTAB" or s.written > base):
            if t <= upper + DECISION_SLACK:
                decision, source = t, "observed"
            break
    written = [socks[key].written for t, socks, _ in rows if key in socks and t > window]
    at1 = next(((socks.get(key)) for t, socks, _ in rows if t >= decision + AFTER), None)
    present = [t for t, socks, _ in rows if key in socks]
    alive_at_end = key in rows[-1][1]
    return {
        "decision": decision, "decision_source": source,
        "written_after": max(written + [base]) - base,
        "at1": at1,
        "lifetime": max(0.0, (present[-1] if present else t_cut) - decision),
        "censored": alive_at_end,
        "end": rows[-1][1].get(key),
    }


def counters_delta(rows, t_from):
    """iptables OUTPUT counters of the dead side from t_from to the end."""
    c0 = next((c for t, _, c in rows if t >= t_from), None)
    c1 = rows[-1][2]
    if not c0 or not c1:
        return None
    return {k: c1[k] - c0[k] for k in c1}


def report(sc, per, rows, t_cut):
    a = sc.args
    rel = [p["decision"] - t_cut for p in per]
    writers = [p for p in per if p["written_after"] >= TLS_RECORD_MIN]
    left = [p["at1"] for p in per if p["at1"] is not None]
    end = [p["end"] for p in per if p["end"] is not None]
    sc.figure("connections", len(per))
    sc.figure("decision_s_after_cut", {"min": round(min(rel), 2), "max": round(max(rel), 2),
                                       "median": round(statistics.median(rel), 2)})
    sc.figure("decision_source", dict(Counter(p["decision_source"] for p in per)))
    sc.figure("sockets_writing_after_decision", len(writers))
    sc.figure("bytes_written_after_decision", sum(p["written_after"] for p in per))
    sc.figure("sockets_left_1s_after_decision", len(left))
    sc.figure("states_1s_after_decision", dict(Counter(s.state for s in left)))
    sc.figure("sendq_1s_after_decision_bytes", sum(s.sendq for s in left))
    lifetimes = [p["lifetime"] for p in per]
    censored = sum(p["censored"] for p in per)
    sc.figure("lifetime_after_decision_s", {
        "max": (">= %.1f" % max(lifetimes)) if censored else round(max(lifetimes), 2),
        "min": round(min(lifetimes), 2), "still_alive_at_limit": censored})
    sc.figure("end_of_observation_s_after_cut", round(rows[-1][0] - t_cut, 1))
    sc.figure("sockets_at_end", len(end))
    sc.figure("orphans_at_end", sum(s.state in netns.ORPHAN_STATES for s in end))
    sc.figure("states_at_end", dict(Counter(s.state for s in end)))
    sc.figure("sendq_total_at_end_bytes", sum(s.sendq for s in end))
    sc.figure("sendq_max_seen_bytes", max((sum(s.sendq for s in socks.values())
                                          for _, socks, _ in rows), default=0))
    delta = counters_delta(rows, min(p["decision"] for p in per))
    if delta is not None:
        # netfilter counts retransmissions too: context, not the verdict
        sc.figure("out_after_decision_incl_retransmits", delta)
    for k, v in sorted(sc.figures.items()):
        print("  %-40s %s" % (k, v))
    sc.require(not writers,
               "no TLS record written into the dead link after the close decision "
               "(%d of %d sockets wrote %d bytes)"
               % (len(writers), len(per), sum(p["written_after"] for p in per)))
    sc.require(not left,
               "no socket to the peer %.0f s after the decision (found %d: %s, "
               "Send-Q %d bytes)" % (AFTER, len(left), dict(Counter(s.state for s in left)),
                                     sum(s.sendq for s in left)))


def run_deadlink(sc, place):
    a = sc.args
    server, client = start_apps(sc, place)
    dead = a.role
    peer_side = "client" if dead == "server" else "server"
    wait_established(sc, place, dead, server.port, a.connections, [server, client])
    time.sleep(max(1.5, a.ping + 0.5))      # echo traffic and a PING/PONG round
    keys = {s.key for s in netns.sample_sockets(place, dead, server.port)
            if s.state == "ESTAB"}
    if len(keys) < a.connections:
        raise sl.SetupError("only %d of %d connections still up before the cut"
                            % (len(keys), a.connections))
    t_cut = time.monotonic()
    place.cut(peer_side, [client if peer_side == "client" else server])
    print("cut at +0.0 s (%s side isolated; %s declares the link dead)" % (peer_side, dead))
    rows = follow(sc, place, dead, server.port, keys, t_cut)
    per = [analyse_socket(k, rows, t_cut, a) for k in sorted(keys)]
    report(sc, per, rows, t_cut)


def body(sc):
    a = sc.args
    if a.connections < 1 or a.hangup <= a.ping:
        raise sl.SetupError("need --connections >= 1 and --hangup > --ping")
    try:
        place, note = netns.make_place(a.ns)
    except netns.PlaceError as e:
        raise sl.SetupError(str(e))
    print(note + ("" if place.kind == "netns" else
                  " (the peer is stopped: it stops reading, the kernel still acks)"))
    sc.figure("place", place.kind)
    sc.figure("role", a.role)
    try:
        run_deadlink(sc, place)
    except netns.PlaceError as e:
        raise sl.SetupError(str(e))
    finally:
        netns.teardown(sc, place)


if __name__ == "__main__":
    sl.main("deadlink", __doc__.splitlines()[0], body, add_args)
