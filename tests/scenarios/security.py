#!/usr/bin/env python3
"""Security-fix guards: Debian's CVE patches stay effective (network triggers).

Each case drives lws-stress-server (TLS, from the variant's test apps) with a
stdlib Python peer that sends the bytes that reach the defect, then checks
that the server answered the way the fixed code does and still serves a
normal wss client (lws-stress-client, one connection, 5 echoes).  Each step
runs against a server of its own, so a report is attributed to one trigger.

Cases (--case):

  cve-2025-11677-upgrade
      Debian patch CVE-2025-11677.patch, lib/roles/http/server/server.c,
      lws_handshake_server(): a request whose Upgrade: header is neither
      "websocket" nor "h2c" gets a 403 and lws_http_transaction_completed().
      When that returns 0 (keep-alive) and nothing is pipelined, it detaches
      the header table, and with nobody waiting for one,
      __lws_header_table_detach() -> _lws_destroy_ah() frees ah->data.
      Unfixed, the code then falls through: LWS_CALLBACK_HTTP_CONFIRM_UPGRADE
      gets `up` (a pointer into the freed ah->data) and strcasecmp(up,
      "websocket") reads it: heap-use-after-free.  The fix moves the callback
      and the strcasecmp()s into an else branch.
      Keep-alive: the upgrade path never runs lws_http_action(), which is
      what sets wsi->http.conn_type from the request, and a fresh wsi has
      conn_type 0 = HTTP_CONNECTION_CLOSE; so on a new connection
      transaction_completed() returns 1, lws closes, and there is no
      use-after-free even unfixed.  The trigger therefore first sends an
      ordinary "GET / HTTP/1.1" with "Connection: keep-alive" (lws_http_action
      sets KEEP_ALIVE, the server answers 404 and stays open), reads the whole
      response, then sends on the same connection
        GET / HTTP/1.1 / Connection: Upgrade / Upgrade: lwsh-not-a-protocol
      alone (nothing pipelined behind it, so the ah is freed, not kept).
      Steps: "fresh" (the upgrade request on a new connection: the 403 path
      that closes; a guard, not a trigger) and "keepalive" (the trigger).
      Fixed: 403, then lws closes the connection (the fixed code falls
      through to lws_http_action(), which finds no ah: "W: Missing URI in
      HTTP request", and bails), no report, the server lives.  Defect: an
      ASan heap-use-after-free report and the server gone; in the tree
      without the fix (server.c of mutant-cve-2025-11677): freed by
      lws_http_transaction_completed() at :2378 (-> server.c:2678
      lws_header_table_detach -> parsers.c:439 -> _lws_destroy_ah
      parsers.c:78), read by strcasecmp(up, "websocket") at :2409 (the
      CONFIRM_UPGRADE callback at :2383 gets the pointer too, but the stress
      server's callback does not read it).

  cve-2026-19773-hpack
      Debian patch CVE-2026-19773.patch, lib/roles/h2/hpack.c
      lws_frag_append(): unfixed it writes ah->data[ah->pos++] first and only
      then reports pos >= max_http_header_data (4096 by default, the size of
      ah->data).  Every hpack.c caller stops at that report, so pos can only
      get past the end through a writer that moves pos without the check:
      lws_parse_urldecode() (lib/roles/http/parsers.c), which h2 runs on each
      :path value octet.  At a '?' (start of the URI args) or a '&'/';'
      (args delimiter) it writes a NUL through issue_char() (bounded: needs
      pos < max) and then starts the next fragment with
      `frags[nfrag].offset = ++ah->pos`, an unchecked second increment.  A '?'
      at pos max-2 leaves pos == max; a '&' at pos max-1 leaves pos == max+1.
      The next value octet goes to lws_frag_append() (or, if the value ends
      there, lws_frag_end() appends the terminating NUL), which writes
      ah->data[max] / ah->data[max+1]: heap-buffer-overflow.  The fix returns
      1 before writing once pos >= max.
      The peer: TLS with ALPN "h2", the connection preface, SETTINGS (and the
      ACK of the server's), then one HEADERS frame (END_STREAM|END_HEADERS)
      on stream 1 whose block starts with ":path" as a literal header field
      without indexing, indexed name (static index 4, first octet 0x04), so
      the value starts at ah->pos 0 of the stream's fresh header table,
      followed by :method GET and :scheme https (indexed).  Values (M = 4096):
        raw-args     "/" + "a"*(M-3) + "?x"   raw octets: 'x' written at M
        raw-nul      "/" + "a"*(M-3) + "?"    lws_frag_end's NUL at M
        raw-amp      "/" + "a"*(M-2) + "&x"   'x' written at M+1
        huffman-cont "/" + "a"*(M-3) + "?x"   Huffman coded (RFC 7541 codes),
                     the block split into HEADERS + CONTINUATION mid-value
      The dynamic table is no way in: indexed fields are copied by
      lws_hpack_use_idx_hdr() with lws_frag_append() alone (no urldecode),
      so they stop at the limit.  In the tree without the fix (mutant-cve-
      2026-19773): the unchecked increments are parsers.c:978 ('?') and
      :874 ('&'), the write hpack.c:277, reached from the value loop at
      hpack.c:1168 or from lws_frag_end (hpack.c:286) at hpack.c:1326.
      Before each trigger two control requests must be answered with a
      HEADERS frame: GET / over h2 (h2 is really negotiated and served) and
      a :path "/" + "a"*(M-16) + "?x" with :method and :scheme after it,
      which fills the header table to pos M-1 (one 'a' more is refused even
      fixed): the refusal of the trigger is the limit's.  Fixed: the
      connection is refused (lws closes it: lws_read_h2 bails; a GOAWAY or
      RST_STREAM would do as well), no report, the server still answers a
      new h2 request and a wss client.  Defect: an ASan heap-buffer-overflow
      report (a WRITE in lws_frag_append / lws_hpack_interpret) and the
      server gone.

Server environment: ASAN_OPTIONS detect_leaks=0:halt_on_error=1:exitcode=86
(a report ends the server), UBSAN_OPTIONS print_stacktrace=1:halt_on_error=1.
--expect pass: no sanitizer report, the server lives and answers as fixed.
--expect defect: passes only if a step shows the defect: a sanitizer report
of the case's kind (heap-use-after-free / heap-buffer-overflow) in its
server's log, or the server dying during the trigger.  A report of another
kind, or from another process, fails the run whatever --expect says.
"""

import json
import os
import re
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CASES = ["cve-2025-11677-upgrade", "cve-2026-19773-hpack"]
EXPECTED_KIND = {"cve-2025-11677-upgrade": "heap-use-after-free",
                 "cve-2026-19773-hpack": "heap-buffer-overflow"}
HPACK_VARIANTS = ["raw-args", "raw-nul", "raw-amp", "huffman-cont"]

IO_TIMEOUT = 5.0        # s, each socket operation and each peer exchange
DEATH_WAIT = 20.0       # s, for a server that stopped answering to exit
                        # (an ASan report is symbolized before the exit)
SERVER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1:exitcode=86",
              "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def add_args(p):
    p.add_argument("--case", required=True, choices=CASES)
    p.add_argument("--header-limit", type=int, default=4096,
                   help="the server's max_http_header_data (lws default 4096; "
                        "lws-stress-server does not change it)")
    p.add_argument("--variants", default=",".join(HPACK_VARIANTS),
                   help="cve-2026-19773-hpack: comma-separated trigger variants "
                        "(default: all of %s)" % ",".join(HPACK_VARIANTS))


# ---- sanitizer reports ----------------------------------------------------------

REPORT_LINE = sl.Scenario.SANITIZER_REPORT
ASAN_KIND = re.compile(r"ERROR: AddressSanitizer: ([\w-]+)")
FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+)(?: (\S+))?")
ACCESS = re.compile(r"^(READ|WRITE) of size (\d+)")
LOCATED = re.compile(r"is located (\d+) bytes (to the right of|inside of|to the left of) "
                     r"(\d+)-byte region")


def parse_reports(path):
    """The sanitizer reports in one log: [{kind, access, where, frames, line}]."""
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return []
    reports = []
    cur = None
    for line in lines:
        s = line.strip()
        if REPORT_LINE.search(s):
            m = ASAN_KIND.search(s)
            if m:
                kind = m.group(1)
            elif "runtime error:" in s:
                kind = "ubsan: " + s.split("runtime error:", 1)[1].strip()[:100]
            elif "LeakSanitizer" in s:
                kind = "leak"
            else:
                kind = s[:100]
            cur = {"kind": kind, "line": s[:200], "frames": [], "access": None,
                   "where": None}
            reports.append(cur)
            continue
        if cur is None:
            continue
        m = ACCESS.match(s)
        if m and not cur["access"]:
            cur["access"] = "%s of size %s" % (m.group(1), m.group(2))
        m = LOCATED.search(s)
        if m and not cur["where"]:
            cur["where"] = "%s bytes %s %s-byte region" % m.groups()
        if s.startswith("freed by thread"):
            cur["freed_by"] = []
            continue
        m = FRAME.match(line)
        frame = m and "%s %s" % (m.group(2), os.path.basename(m.group(3) or ""))
        if m and len(cur["frames"]) < 8 and not cur.get("frames_done"):
            cur["frames"].append(frame)
        elif cur["frames"] and not m:
            cur["frames_done"] = True
        if m and "freed_by" in cur and len(cur["freed_by"]) < 6 and not cur.get("freed_done"):
            cur["freed_by"].append(frame)
        elif cur.get("freed_by") and not m:
            cur["freed_done"] = True
    for r in reports:
        r.pop("frames_done", None)
        r.pop("freed_done", None)
    return reports


# ---- TLS and HTTP/1.1 peer --------------------------------------------------------

def tls_connect(port, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def recv_some(tls, deadline):
    """One recv() bounded by the deadline; b'' at EOF."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline")
    tls.settimeout(min(IO_TIMEOUT, left))
    return tls.recv(65536)


def read_http_response(tls, deadline, limit=1 << 16):
    """One HTTP/1.1 response with Content-Length: (status, head, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = recv_some(tls, deadline)
        if not d:
            raise EOFError("closed before a whole response head (%d bytes)" % len(buf))
        buf += d
        if len(buf) > limit:
            raise ValueError("response head too long")
    head, body = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b"\r\n")[0].split()[1])
    clen = 0
    for h in head.split(b"\r\n")[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
    if clen > limit:
        raise ValueError("body too long")
    while len(body) < clen:
        d = recv_some(tls, deadline)
        if not d:
            raise EOFError("closed in the response body")
        body += d
    return status, head.decode(errors="replace"), body[:clen]


def await_end(tls, deadline):
    """After our last request: how the connection ended (eof, reset, timeout...)."""
    extra = 0
    try:
        while True:
            d = recv_some(tls, deadline)
            if not d:
                return "eof", extra
            extra += len(d)
    except socket.timeout:
        return "open", extra
    except ConnectionResetError:
        return "reset", extra
    except (ssl.SSLError, OSError) as e:
        return "closed (%s)" % type(e).__name__, extra


def http_get_once(port):
    """A new TLS connection, one GET: the status, or an error text."""
    try:
        tls = tls_connect(port, ["http/1.1"])
    except (OSError, ssl.SSLError) as e:
        return None, "connect: %s: %s" % (type(e).__name__, e)
    try:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        st, _, _ = read_http_response(tls, time.monotonic() + IO_TIMEOUT)
        return st, None
    except (OSError, ssl.SSLError, EOFError, ValueError, IndexError) as e:
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        tls.close()


UPGRADE_REQ = (b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
               b"Upgrade: lwsh-not-a-protocol\r\n\r\n")
KEEPALIVE_REQ = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"


def upgrade_peer(port, prime):
    """The CVE-2025-11677 exchange; a dict of what the server did."""
    res = {"alpn": None, "first_status": None, "upgrade_status": None, "end": None,
           "error": None}
    deadline = time.monotonic() + 3 * IO_TIMEOUT
    try:
        tls = tls_connect(port, ["http/1.1"])
    except (OSError, ssl.SSLError) as e:
        res["end"], res["error"] = "connect failed", "%s: %s" % (type(e).__name__, e)
        return res
    try:
        res["alpn"] = tls.selected_alpn_protocol()
        if prime:
            # conn_type := KEEP_ALIVE (lws_http_action), then ah detached
            tls.sendall(KEEPALIVE_REQ)
            res["first_status"] = read_http_response(tls, deadline)[0]
            time.sleep(0.1)     # lws back from LRS_DEFERRING_ACTION
        # alone, in one record: nothing pipelined, so the ah is freed
        tls.sendall(UPGRADE_REQ)
        res["upgrade_status"] = read_http_response(tls, deadline)[0]
        res["end"] = await_end(tls, deadline)[0]
    except ConnectionResetError as e:
        res["end"], res["error"] = "reset", str(e)
    except (OSError, ssl.SSLError, EOFError, ValueError, IndexError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        if res["end"] is None:
            res["end"] = "eof" if isinstance(e, EOFError) else "error"
    finally:
        tls.close()
    return res


# ---- HTTP/2 peer ------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
T_DATA, T_HEADERS, T_RST, T_SETTINGS, T_PING, T_GOAWAY, T_WU, T_CONT = 0, 1, 3, 4, 6, 7, 8, 9
F_END_STREAM, F_ACK, F_END_HEADERS = 0x1, 0x1, 0x4
FRAME_NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
               5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE",
               9: "CONTINUATION"}

# RFC 7541 Appendix B, only the octets these requests use: (code, bits)
HUFFMAN = {ord("/"): (0x18, 6), ord("a"): (0x3, 5), ord("?"): (0x3fc, 10),
           ord("x"): (0x79, 7), ord("&"): (0xf8, 8)}


def h2_frame(ftype, flags, sid, payload=b""):
    return struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack("!I", sid & 0x7FFFFFFF) + payload


def hp_int(value, prefix_bits, first):
    """RFC 7541 5.1 integer with an N-bit prefix; `first` holds the high bits."""
    top = (1 << prefix_bits) - 1
    if value < top:
        return bytes([first | value])
    out = [first | top]
    value -= top
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def huffman(data):
    acc, nbits, out = 0, 0, bytearray()
    for c in data:
        code, n = HUFFMAN[c]
        acc, nbits = (acc << n) | code, nbits + n
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1
    if nbits:                           # pad with the EOS prefix (all ones)
        out.append(((acc << (8 - nbits)) | ((1 << (8 - nbits)) - 1)) & 0xFF)
    return bytes(out)


def hp_string(s, huff=False):
    data = huffman(s) if huff else s
    return hp_int(len(data), 7, 0x80 if huff else 0) + data


def hp_indexed(idx):
    """Indexed header field (static table)."""
    return hp_int(idx, 7, 0x80)


def hp_literal(idx, value, huff=False):
    """Literal header field without indexing, indexed name (RFC 7541 6.2.2)."""
    return hp_int(idx, 4, 0x00) + hp_string(value, huff)


IDX_AUTHORITY, IDX_GET, IDX_PATH, IDX_HTTPS = 1, 2, 4, 7


def control_block():
    return (hp_indexed(IDX_GET) + hp_indexed(IDX_HTTPS) + hp_indexed(IDX_PATH) +
            hp_literal(IDX_AUTHORITY, b"localhost"))


def trigger_path(variant, limit):
    """The :path value of a variant (see the docstring)."""
    if variant in ("raw-args", "huffman-cont"):
        return b"/" + b"a" * (limit - 3) + b"?x"
    if variant == "raw-nul":
        return b"/" + b"a" * (limit - 3) + b"?"
    if variant == "raw-amp":
        return b"/" + b"a" * (limit - 2) + b"&x"
    raise ValueError(variant)


def trigger_frames(variant, limit, sid=1):
    huff = variant.startswith("huffman")
    # :path first: its value starts at ah->pos 0 of the stream's new ah
    block = hp_literal(IDX_PATH, trigger_path(variant, limit), huff) + \
        hp_indexed(IDX_GET) + hp_indexed(IDX_HTTPS)
    if variant.endswith("-cont"):
        cut = len(block) // 2           # mid-value
        return [h2_frame(T_HEADERS, F_END_STREAM, sid, block[:cut]),
                h2_frame(T_CONT, F_END_HEADERS, sid, block[cut:])], len(block)
    return [h2_frame(T_HEADERS, F_END_STREAM | F_END_HEADERS, sid, block)], len(block)


class H2Conn:
    """A minimal h2 client connection: preface, SETTINGS, frames."""

    def __init__(self, port):
        self.tls = tls_connect(port, ["h2"])
        self.alpn = self.tls.selected_alpn_protocol()
        self.buf = b""
        self.seen = []              # (type name, flags, sid, detail)

    def close(self):
        self.tls.close()

    def start(self, deadline):
        """Preface + SETTINGS; wait for the server's SETTINGS and ACK it."""
        self.tls.sendall(PREFACE + h2_frame(T_SETTINGS, 0, 0))
        n = 0
        while n < 20:
            n += 1
            t, fl, sid, pl = self.frame(deadline)
            if t == T_SETTINGS and not fl & F_ACK:
                self.tls.sendall(h2_frame(T_SETTINGS, F_ACK, 0))
                return
        raise ValueError("no SETTINGS from the server")

    def frame(self, deadline):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            d = recv_some(self.tls, deadline)
            if not d:
                raise EOFError("eof")
            self.buf += d
        ln = int.from_bytes(self.buf[:3], "big")
        t, fl = self.buf[3], self.buf[4]
        sid = struct.unpack("!I", self.buf[5:9])[0] & 0x7FFFFFFF
        pl, self.buf = self.buf[9:9 + ln], self.buf[9 + ln:]
        detail = None
        if t == T_GOAWAY and len(pl) >= 8:
            detail = "error %d %r" % (struct.unpack("!I", pl[4:8])[0], pl[8:60])
        elif t == T_RST and len(pl) >= 4:
            detail = "error %d" % struct.unpack("!I", pl[:4])[0]
        elif t == T_HEADERS:
            detail = "status %s" % status_of(pl, fl)
        self.seen.append((FRAME_NAMES.get(t, str(t)), fl, sid, detail))
        if t == T_PING and not fl & F_ACK:
            self.tls.sendall(h2_frame(T_PING, F_ACK, 0, pl))
        return t, fl, sid, pl

    def request(self, frames, sid, deadline):
        """Send frames; collect the server's answer on sid until it ends the
        stream or the connection.  Returns (headers_seen, end)."""
        for fr in frames:
            self.tls.sendall(fr)
        headers = False
        n = 0
        try:
            while n < 200:
                n += 1
                t, fl, s, _ = self.frame(deadline)
                if s == sid and t == T_HEADERS:
                    headers = True
                if s == sid and (t == T_RST or (t in (T_HEADERS, T_DATA) and fl & F_END_STREAM)):
                    return headers, "stream ended"
                if t == T_GOAWAY:
                    return headers, "goaway"
            return headers, "too many frames"
        except EOFError:
            return headers, "eof"
        except socket.timeout:
            return headers, "open"
        except ConnectionResetError:
            return headers, "reset"
        except (ssl.SSLError, OSError) as e:
            return headers, "closed (%s)" % type(e).__name__


def status_of(block, flags):
    """:status of a response HEADERS block, if it comes first and plainly."""
    i = 0
    if flags & 0x8:                     # PADDED
        i += 1
    if flags & 0x20:                    # PRIORITY
        i += 5
    if i >= len(block):
        return "?"
    b = block[i]
    static = {8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500"}
    if b & 0x80:
        return static.get(b & 0x7F, "?")
    if b in (0x08, 0x18, 0x48) and i + 1 < len(block) and not block[i + 1] & 0x80:
        n = block[i + 1]
        return block[i + 2:i + 2 + n].decode(errors="replace")
    return "?"


def below_limit_block(limit):
    """A :path with URI args whose whole block just fits the header table:
    "/" + "a"*(limit-16) + "?x", then :method GET, :scheme https: ah->pos
    ends at limit-1 (each value's NUL included), so it must be answered."""
    return hp_literal(IDX_PATH, b"/" + b"a" * (limit - 16) + b"?x") + \
        hp_indexed(IDX_GET) + hp_indexed(IDX_HTTPS)


def h2_control(port, sid=1, block=None):
    """A GET over h2 on a new connection (default: GET /):
    (alpn, headers_seen, end, error)."""
    deadline = time.monotonic() + 3 * IO_TIMEOUT
    try:
        c = H2Conn(port)
    except (OSError, ssl.SSLError) as e:
        return None, False, "connect failed", "%s: %s" % (type(e).__name__, e)
    try:
        if c.alpn != "h2":
            return c.alpn, False, None, "ALPN h2 not negotiated"
        c.start(deadline)
        hdrs, end = c.request([h2_frame(T_HEADERS, F_END_STREAM | F_END_HEADERS, sid,
                                        block or control_block())], sid, deadline)
        return c.alpn, hdrs, end, None
    except (OSError, ssl.SSLError, EOFError, ValueError) as e:
        return c.alpn, False, None, "%s: %s" % (type(e).__name__, e)
    finally:
        c.close()


def h2_trigger(port, variant, limit):
    res = {"alpn": None, "block_bytes": None, "response_headers": False, "end": None,
           "frames": [], "error": None}
    deadline = time.monotonic() + 3 * IO_TIMEOUT
    try:
        c = H2Conn(port)
    except (OSError, ssl.SSLError) as e:
        res["end"], res["error"] = "connect failed", "%s: %s" % (type(e).__name__, e)
        return res
    try:
        res["alpn"] = c.alpn
        if c.alpn != "h2":
            res["error"] = "ALPN h2 not negotiated"
            return res
        c.start(deadline)
        frames, res["block_bytes"] = trigger_frames(variant, limit)
        res["response_headers"], res["end"] = c.request(frames, 1, deadline)
    except ConnectionResetError as e:
        res["end"], res["error"] = "reset", str(e)
    except (OSError, ssl.SSLError, EOFError, ValueError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        res["frames"] = ["%s%s%s" % (n, " sid %d" % s if s else "", " (%s)" % d if d else "")
                         for n, _, s, d in c.seen][:12]
        c.close()
    return res


# ---- the scenario ------------------------------------------------------------------

class SecurityScenario(sl.Scenario):
    """A Scenario whose expected-kind sanitizer reports ARE the defect."""

    def __init__(self, name, args):
        super().__init__(name, args)
        self.evidence = []          # the defect shown: reports of the kind, deaths
        self.foreign = []           # reports that are no part of the defect
        self.servers = []           # (step, process) whose logs carry the evidence

    def server_env(self):
        env = dict(SERVER_ENV)
        for k in env:               # ours last: they win over the caller's
            if os.environ.get(k):
                env[k] = os.environ[k] + ":" + env[k]
        return env

    def judge_server(self, step, p, died):
        """After a step: the server's reports and exit, as evidence or foreign.

        died: the server ended by itself after the trigger (not stopped by us)."""
        reports = parse_reports(self.path(p.tag + ".log"))
        kind = EXPECTED_KIND[self.args.case]
        mine = [r for r in reports if r["kind"] == kind]
        other = [r for r in reports if r["kind"] != kind]
        rc = p.returncode
        try:
            with open(self.path(p.tag + ".log"), errors="replace") as f:
                head = [l.strip()[:120] for l in f.readlines()[:40] if l.strip()]
        except FileNotFoundError:
            head = []
        fig = {"server_exit": rc, "server_log_head": head[:4], "reports": [
            {k: r[k] for k in ("kind", "access", "where", "frames", "freed_by") if k in r}
            for r in reports]}
        for r in mine:
            self.evidence.append("%s: %s %s (%s) at %s%s" % (
                step, r["kind"], r["access"], r["where"], " <- ".join(r["frames"][:4]),
                "; freed at " + " <- ".join(r["freed_by"][1:5]) if r.get("freed_by") else ""))
        for r in other:
            self.foreign.append("%s: %s" % (step, r["line"]))
        if died and not reports:
            self.evidence.append("%s: the server died during the trigger (exit %s)"
                                 % (step, "signal %d" % -rc if rc is not None and rc < 0 else rc))
        return fig

    def finish(self):
        # reports of other processes (the stress client...) are never the defect
        server_tags = {p.tag for _, p in self.servers}
        for p in self.procs:
            if p.tag in server_tags:
                continue
            for r in parse_reports(self.path(p.tag + ".log")):
                self.foreign.append("%s: %s" % (p.tag, r["line"]))
        shown = bool(self.evidence)
        checks_ok = all(ok for ok, _ in self.findings) and bool(self.findings)
        no_defect = checks_ok and not shown
        for e in self.evidence[:6]:
            print("  DEFECT " + e)
        for r in self.foreign[:5]:
            print("  SANITIZER (not this defect) " + r)
        for ok, text in self.findings:
            print("  %s %s" % ("ok  " if ok else "FAIL", text))
        self.figure("defect_evidence", self.evidence)
        print("%s/%s [%s]: defect %s; figures: %s"
              % (self.name, self.args.case, self.args.variant,
                 "SHOWN" if shown else ("absent" if no_defect else "not shown, checks failed"),
                 json.dumps(self.figures, sort_keys=True)))
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump({"scenario": self.name, "case": self.args.case,
                              "variant": self.args.variant, "expect": self.args.expect,
                              "defect_shown": shown, "checks_ok": checks_ok,
                              "foreign_reports": self.foreign, "figures": self.figures,
                              "checks": [{"ok": ok, "text": t} for ok, t in self.findings]},
                             f, indent=1, sort_keys=True)
        if self.foreign:
            print("%s/%s [%s]: %d sanitizer report(s) that are not this defect: FAILED"
                  % (self.name, self.args.case, self.args.variant, len(self.foreign)))
            return 1
        if self.args.expect == "defect":
            print("expected: the defect is shown (build without the fix) -> %s"
                  % ("as expected" if shown else "NOT shown: the trigger no longer reaches it"))
            return 0 if shown else 1
        return 0 if no_defect else 1


def start_step_server(sc, step):
    tag = "server-" + step
    p = sc.start_server([], tag=tag, duration=120, env=sc.server_env())
    sc.servers.append((step, p))
    return p


def server_alive(sc, p, answered):
    """Is the server still there?  If it stopped answering, wait for its exit."""
    if answered:
        return p.poll() is None
    deadline = time.monotonic() + DEATH_WAIT
    while time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
    return p.poll() is None


def wss_roundtrip(sc, p, step):
    """lws-stress-client, one connection, 5 echoes: (ok, text)."""
    tag = "client-" + step
    host = "localhost" if sc.backend == "mbedtls" else "127.0.0.1"
    c = sc.start(tag, [sc.app("lws-stress-client"), "--server", "%s:%d" % (host, p.port),
                       "--ca", os.path.join(sc.pki, "ca.pem"), "--json", sc.path(tag + ".json"),
                       "--seed", str(sc.args.seed), "--stats-interval", "0",
                       "--connections", "1", "--messages-per-conn", "5", "--max-time", "20"])
    try:
        rc = c.wait(timeout=40)
    except sl.subprocess.TimeoutExpired:
        sc.kill(c)
        return False, "lws-stress-client hung (killed)"
    try:
        j = sc.load_json(tag + ".json")
    except sl.SetupError:
        return False, "lws-stress-client exit %s, no summary" % rc
    m = j.get("messages", {})
    ok = rc == 0 and m.get("sent", 0) == 5 and m.get("received", 0) == 5 \
        and not m.get("lost") and not m.get("corrupted")
    return ok, "exit %s, sent %s, received %s, lost %s, corrupted %s" % (
        rc, m.get("sent"), m.get("received"), m.get("lost"), m.get("corrupted"))


def after_trigger(sc, step, p, fig, probe):
    """Liveness (probe: a new request answered), then a wss round trip."""
    answered, what = probe()
    fig["follow_up"] = what
    alive = server_alive(sc, p, answered)
    fig["server_alive"] = alive
    sc.require(alive, "%s: the server survived the trigger (exit %s)" % (step, p.returncode))
    sc.require(answered, "%s: a new request after the trigger is answered (%s)" % (step, what))
    if alive:
        ok, text = wss_roundtrip(sc, p, step)
        fig["wss_roundtrip"] = text
        sc.require(ok, "%s: a wss client still gets its 5 echoes (%s)" % (step, text))
        sc.stop(p)
    return alive


def step_upgrade(sc, step, prime):
    p = start_step_server(sc, step)
    res = upgrade_peer(p.port, prime)
    fig = {"peer": res}

    def probe():
        st, err = http_get_once(p.port)
        return st is not None, "GET / -> %s" % (st if st is not None else err)

    alive = after_trigger(sc, step, p, fig, probe)
    if prime:
        sc.require(res["first_status"] == 404,
                   "%s: the keep-alive GET / was answered (404 from the dummy "
                   "callback; got %s)" % (step, res["first_status"]))
    # the 403 goes out before the unfixed code reads the freed ah: it is
    # seen with and without the fix
    sc.require(res["upgrade_status"] == 403,
               "%s: Upgrade: lwsh-not-a-protocol answered 403 (got %s; %s)"
               % (step, res["upgrade_status"], res["error"]))
    fig.update(sc.judge_server(step, p, not alive))
    sc.figure(step, fig)
    print("  %s: %s" % (step, fig))


def run_upgrade(sc):
    step_upgrade(sc, "fresh", prime=False)
    step_upgrade(sc, "keepalive", prime=True)


def run_hpack(sc):
    variants = [v for v in sc.args.variants.split(",") if v]
    bad = [v for v in variants if v not in HPACK_VARIANTS]
    if bad or not variants:
        raise sl.SetupError("unknown --variants %s (known: %s)" % (bad, HPACK_VARIANTS))
    limit = sc.args.header_limit
    sc.figure("header_limit", limit)
    for v in variants:
        step = "hpack-" + v
        p = start_step_server(sc, step)
        alpn, hdrs, end, err = h2_control(p.port)
        fig = {"control": {"alpn": alpn, "response_headers": hdrs, "end": end, "error": err}}
        if alpn != "h2":
            sc.stop(p)
            raise sl.SetupError("lws-stress-server did not negotiate h2 over ALPN (got %r): "
                                "the h2 trigger cannot run" % alpn)
        if not hdrs:
            sc.stop(p)
            raise sl.SetupError("%s: the h2 control request (GET /) was not answered "
                                "(%s, %s): the h2 peer does not work" % (step, end, err))
        # the refusal below must be the limit's: a :path with args that just
        # fits is answered
        _, hdrs, end, err = h2_control(p.port, block=below_limit_block(limit))
        fig["control_below_limit"] = {"response_headers": hdrs, "end": end, "error": err}
        sc.require(hdrs, "%s: a %d-octet :path with URI args that just fits the %d-byte "
                   "header table is answered (%s %s)" % (step, limit - 13, limit, end, err))
        res = h2_trigger(p.port, v, limit)
        fig["trigger"] = res

        def probe(p=p):
            _, h, e, er = h2_control(p.port)
            return h, "h2 GET / -> %s" % ("HEADERS" if h else "%s %s" % (e, er))

        alive = after_trigger(sc, step, p, fig, probe)
        end = res["end"] or ""
        refused = not res["response_headers"] and (
            end in ("eof", "reset", "goaway") or end.startswith("closed") or
            any(f.startswith("RST_STREAM sid 1") for f in res["frames"]))
        sc.require(refused, "%s: the over-long :path (%d-octet block) was refused "
                   "(end: %s; frames %s; %s)" % (step, res["block_bytes"] or 0, res["end"],
                                                 res["frames"], res["error"]))
        fig.update(sc.judge_server(step, p, not alive))
        sc.figure(step, fig)
        print("  %s: %s" % (step, fig))


def body(sc):
    if sc.args.case == "cve-2025-11677-upgrade":
        run_upgrade(sc)
    else:
        run_hpack(sc)


def main():
    p = sl.parser(__doc__.splitlines()[0])
    add_args(p)
    args = p.parse_args()
    sc = None
    name = "security"
    try:
        sc = SecurityScenario(name, args)
        body(sc)
        rc = sc.finish()
    except sl.SetupError as e:
        print("%s/%s [%s]: SETUP ERROR: %s" % (name, args.case, args.variant, e),
              file=sys.stderr)
        if sc:
            for step, p in sc.servers:
                for r in parse_reports(sc.path(p.tag + ".log"))[:3]:
                    print("  SANITIZER %s: %s" % (step, r["line"]), file=sys.stderr)
        rc = 2
    finally:
        if sc:
            sc.cleanup()
    sys.exit(rc)


if __name__ == "__main__":
    main()
