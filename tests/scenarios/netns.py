"""Network plumbing for the close scenarios (deadlink.py, graceful.py).

Two "places" to run the server and the client in, with the same interface:

  NetnsPair  two network namespaces made by the test itself (names carry the
             pid), joined by a veth pair with private /30 addresses.  A link
             can be cut with iptables DROP so the peer vanishes without FIN or
             RST.  `ss`, iptables counters and TCP MIB counters are read
             inside one namespace, so nothing else on the machine disturbs
             them.  Always deleted at exit (try/finally, atexit, SIGTERM).
  Loopback   both apps on 127.0.0.1 of the current namespace; a "cut" is the
             peer process being stopped (SIGSTOP): it stops reading and
             answering, so the window fills, but the kernel still ACKs what
             fits in its receive buffer.  ss is filtered by the server port.

Also: `ss` sampling (Socket, sample_sockets) and the app command lines for a
place (server_argv, client_argv), since the apps need the place's address.
Needs root for namespaces; `auto` falls back to loopback and says so.
"""

import atexit
import os
import re
import signal
import subprocess

CMD_TIMEOUT = 10            # seconds for any ip/iptables/ss call
# states in which the application has already close()d the socket
ORPHAN_STATES = ("FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK")
# states in which our FIN is queued or sent (it takes one sequence number)
FIN_SENT_STATES = ORPHAN_STATES + ("TIME-WAIT",)


class PlaceError(Exception):
    """The namespaces (or the loopback place) could not be set up."""


def run(argv, timeout=CMD_TIMEOUT, check=True):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PlaceError("%s: %s" % (" ".join(argv), e))
    if check and r.returncode:
        raise PlaceError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                              r.stderr.strip()))
    return r


# ---- places ------------------------------------------------------------------

class NetnsPair:
    """Namespaces <base>-s (server) and <base>-c (client), veth between them."""

    kind = "netns"

    def __init__(self):
        pid = os.getpid()
        self.base = "lwsh%d" % pid
        self.ns = {"server": self.base + "-s", "client": self.base + "-c"}
        self.dev = {"server": "lw%ds" % pid, "client": "lw%dc" % pid}   # <= 15 chars
        net = pid % 250 + 1
        self.addr = {"server": "10.77.%d.1" % net, "client": "10.77.%d.2" % net}
        self.server_host = self.addr["server"]
        self.created = []
        self.cut_side = None

    def __enter__(self):
        atexit.register(self.destroy)
        _term_raises_exit()
        try:
            self._create()
        except PlaceError:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc):
        self.destroy()

    def _create(self):
        for side in ("server", "client"):
            run(["ip", "netns", "add", self.ns[side]])
            self.created.append(self.ns[side])
        run(["ip", "link", "add", self.dev["server"], "type", "veth",
             "peer", "name", self.dev["client"]])
        for side in ("server", "client"):
            ns, dev = self.ns[side], self.dev[side]
            run(["ip", "link", "set", dev, "netns", ns])
            run(["ip", "-n", ns, "addr", "add", self.addr[side] + "/30", "dev", dev])
            run(["ip", "-n", ns, "link", "set", dev, "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            # counting rules (no target) on the way out to the peer
            self.iptables(side, "-A", "OUTPUT", "-o", dev, "-p", "tcp")
            self.iptables(side, "-A", "OUTPUT", "-o", dev, "-p", "tcp",
                          "--tcp-flags", "RST", "RST")

    def destroy(self):
        """Delete the namespaces (their sockets, veth and rules go with them)."""
        while self.created:
            run(["ip", "netns", "del", self.created.pop()], check=False)

    def prefix(self, side):
        return ["ip", "netns", "exec", self.ns[side]]

    def iptables(self, side, *args):
        return run(self.prefix(side) + ["iptables", "-w", "5"] + list(args))

    def cut(self, side, _procs=None):
        """Drop everything to and from the peer, inside `side`'s namespace.

        No FIN, no RST: for the other side the peer simply vanishes."""
        dev = self.dev[side]
        self.iptables(side, "-I", "INPUT", "1", "-i", dev, "-j", "DROP")
        self.iptables(side, "-I", "OUTPUT", "1", "-o", dev, "-j", "DROP")
        self.cut_side = side

    def out_counters(self, side):
        """(tcp packets, tcp bytes, RST packets) sent by `side` to its peer.

        Counted by netfilter, so retransmissions are included."""
        out = self.iptables(side, "-L", "OUTPUT", "-v", "-x", "-n").stdout
        tcp = rst = (0, 0)
        for line in out.splitlines():
            f = line.split()
            if len(f) < 8 or not f[0].isdigit() or f[2] == "DROP":
                continue
            if "flags:" in line:
                rst = (int(f[0]), int(f[1]))
            else:
                tcp = (int(f[0]), int(f[1]))
        return {"packets": tcp[0], "bytes": tcp[1], "rst": rst[0]}

    def tcp_mib(self, side):
        """Tcp and TcpExt counters of `side`'s namespace (nstat's sources)."""
        return _read_mib(self.prefix(side))

    def ss_filter(self, side, port):
        return "( sport = :%d or dport = :%d )" % (port, port)


class Loopback:
    """Both apps on 127.0.0.1 of this namespace; a cut stops the peer."""

    kind = "loopback"
    server_host = "127.0.0.1"

    def __init__(self):
        self.cut_side = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def prefix(self, side):
        return []

    def cut(self, side, procs):
        """`side` loses its peer: stop the peer's processes (SIGSTOP).

        The caller must SIGCONT / kill them later (Scenario.cleanup kills)."""
        for p in procs:
            os.killpg(p.pid, signal.SIGSTOP)
        self.cut_side = side

    def out_counters(self, side):
        return None     # no per-test netfilter counters on a shared loopback

    def tcp_mib(self, side):
        return None     # machine's own namespace: other tests disturb it

    def ss_filter(self, side, port):
        # the server's sockets have sport = port, the client's dport = port
        return "( sport = :%d )" % port if side == "server" else "( dport = :%d )" % port


def make_place(mode):
    """mode auto|netns|loopback -> (place, note). auto falls back loudly."""
    if mode == "loopback":
        return Loopback(), "loopback requested"
    if os.geteuid() != 0:
        if mode == "netns":
            raise PlaceError("--ns netns needs root")
        return Loopback(), "NOTE: no network namespace (not root), loopback fallback"
    place = NetnsPair()
    try:
        place.__enter__()
    except PlaceError as e:
        if mode == "netns":
            raise
        return Loopback(), "NOTE: no network namespace (%s), loopback fallback" % e
    return place, "network namespaces %s (veth %s <-> %s)" % (
        place.base, place.addr["server"], place.addr["client"])


def teardown(sc, place):
    """Kill a scenario's processes (a stopped one too), then delete the
    place: processes die before their namespaces."""
    for p in sc.procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        sc.kill(p)
    place.__exit__()


def _term_raises_exit():
    """SIGTERM (e.g. ctest timeout) -> SystemExit, so finally/atexit run."""
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        def handler(signum, frame):
            raise SystemExit(128 + signum)
        signal.signal(signal.SIGTERM, handler)


def _read_mib(prefix):
    mib = {}
    for name in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = run(prefix + ["cat", name]).stdout.splitlines()
        for head, vals in zip(lines[0::2], lines[1::2]):
            h, v = head.split(), vals.split()
            if h[0] in ("Tcp:", "TcpExt:"):
                for k, x in zip(h[1:], v[1:]):
                    mib[h[0][:-1] + k] = int(x)
    return mib


# ---- ss sampling -------------------------------------------------------------

class Socket:
    """One TCP socket as `ss -tanoi` shows it at one moment."""

    def __init__(self, state, recvq, sendq, local, peer, extra):
        self.state, self.recvq, self.sendq = state, recvq, sendq
        self.local, self.peer = local, peer
        self.key = (local, peer)
        m = re.search(r"\bbytes_acked:(\d+)", extra)
        self.bytes_acked = int(m.group(1)) if m else 0
        self.timer = (re.search(r"timer:\(([^)]*)\)", extra) or [None, ""])[1]

    @property
    def written(self):
        """Bytes the application wrote so far: acked + still queued.

        Grows only by new writes (retransmissions do not count), on a cut
        link (nothing acked any more) and on loopback (the kernel acks).
        Our FIN's sequence number is not a byte written."""
        return self.bytes_acked + self.sendq - (self.state in FIN_SENT_STATES)


def sample_sockets(place, side, port):
    """Connected TCP sockets of `side` for the test's port (no listeners)."""
    argv = place.prefix(side) + ["ss", "-tanoiH", place.ss_filter(side, port)]
    out = run(argv).stdout.splitlines()
    socks, cur = [], None
    for line in out:
        if not line.strip():
            continue
        if not line[0].isspace():
            f = line.split()
            if len(f) < 5 or f[0] in ("LISTEN", "UNCONN"):
                cur = None
                continue
            cur = [f[0], int(f[1]), int(f[2]), f[3], f[4], " ".join(f[5:])]
            socks.append(cur)
        elif cur is not None:
            cur[5] += " " + line.strip()
    return [Socket(*s) for s in socks]


# ---- app command lines for a place --------------------------------------------

def server_argv(sc, place, extra, tag="server", duration=60):
    """lws-stress-server argv (as Scenario.start_server builds it) for place."""
    argv = place.prefix("server") + [
        sc.app("lws-stress-server"), "--port", "0", "--iface", place.server_host,
        "--duration", str(duration), "--ready-file", sc.path(tag + ".ready"),
        "--json", sc.path(tag + ".json"), "--seed", str(sc.args.seed),
        "--stats-interval", "0",
        "--cert", os.path.join(sc.pki, "server.pem"),
        "--key", os.path.join(sc.pki, "server.key")]
    return argv + list(extra)


def client_argv(sc, place, port, extra, tag="client"):
    """lws-stress-client argv for place.

    In namespaces the server's address is 10.77.x.1, which the test
    certificate does not name, so the client runs --insecure there (what is
    measured is the close, not the verification).  On loopback mbedTLS 2.x
    cannot match IP SANs, hence `localhost` for mbedTLS variants."""
    if place.kind == "netns":
        host, verify = place.server_host, ["--insecure"]
    else:
        host = "localhost" if "mbedtls" in sc.args.variant else "127.0.0.1"
        verify = ["--ca", os.path.join(sc.pki, "ca.pem")]
    argv = place.prefix("client") + [
        sc.app("lws-stress-client"), "--server", "%s:%d" % (host, port),
        "--json", sc.path(tag + ".json"), "--seed", str(sc.args.seed),
        "--stats-interval", "0"] + verify
    return argv + list(extra)


def start_server(sc, place, extra, tag="server", duration=60):
    p = sc.start(tag, server_argv(sc, place, extra, tag, duration))
    p.port = sc.wait_ready(p, sc.path(tag + ".ready"))
    return p
