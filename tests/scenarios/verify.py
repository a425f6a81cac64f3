#!/usr/bin/env python3
"""The lws client verifies the server's certificate (all backends).

Client runs of 2 connections each against lws-stress-server:

  control     the test CA, host "localhost" and (not on mbedTLS 2.x, which
              cannot match IP addresses) 127.0.0.1, both in the
              certificate: every handshake succeeds
  other-ca    a CA made for this run that did not sign the server's
              certificate: every handshake must be refused
  other-dns   a second server, its certificate from the test CA but only
              for other.invalid, reached as "localhost": refused
  other-ip    the same server reached as 127.0.0.1: refused
  insecure    no CA, the second server, and --insecure
              (LCCSCF_ALLOW_SELFSIGNED, _ALLOW_INSECURE,
              _SKIP_SERVER_CERT_HOSTNAME_CHECK): every handshake succeeds,
              the flags still work

Vanilla lws 4.3.5 on wolfSSL sets no verify mode on its client SSL objects
and no host name to check, and Debian's wolfSSL (built with
OPENSSL_COMPATIBLE_DEFAULTS) then verifies nothing: other-ca, other-dns and
other-ip connect.  On OpenSSL and mbedTLS this is a guard test.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402

CONNS = 2


def untrusted_ca(sc):
    ca = sc.path("untrusted-ca.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                        "-subj", "/CN=lwsh verify untrusted CA",
                        "-keyout", sc.path("untrusted-ca.key"), "-out", ca],
                       capture_output=True, text=True)
    if r.returncode:
        raise sl.SetupError("openssl req (untrusted CA) failed: " + r.stderr)
    return ca


def attempt(sc, port, tag, host, extra, ca=None):
    """Run the client; return (handshakes ok, handshakes refused)."""
    rc, c = sc.run_client(port, ["--connections", str(CONNS), "--messages-per-conn", "2"]
                          + extra, tag=tag, host=host, timeout=40, ca=ca)
    a = c["attempts"]
    sc.figure(tag, {"exit": rc, "handshake_ok": a["handshake_ok"],
                    "handshake_failed": a["handshake_failed"]})
    return a["handshake_ok"], a["handshake_failed"]


def other_name_cert(sc):
    """A server certificate from the test CA for other.invalid only."""
    key, csr, crt = (sc.path("other-name." + x) for x in ("key", "csr", "pem"))
    ext = sc.path("other-name.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints = critical, CA:FALSE\n"
                "extendedKeyUsage = serverAuth\n"
                "subjectAltName = DNS:other.invalid\n")
    for argv in (["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-subj", "/CN=other.invalid", "-keyout", key, "-out", csr],
                 ["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(sc.pki, "ca.pem"),
                  "-CAkey", os.path.join(sc.pki, "ca.key"), "-CAcreateserial", "-days", "2",
                  "-sha256", "-extfile", ext, "-out", crt]):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode:
            raise sl.SetupError("%s failed: %s" % (" ".join(argv[:2]), r.stderr))
    return crt, key


def body(sc):
    sc.name = "server-cert"
    other_ca = untrusted_ca(sc)
    crt, key = other_name_cert(sc)
    srv = sc.start_server([], duration=60)
    for tag, host in (("control", "localhost"), ("control-ip", "127.0.0.1")):
        if host == "127.0.0.1" and sc.backend == "mbedtls":
            continue    # mbedTLS 2.x cannot match an IP address (README)
        ok, _ = attempt(sc, srv.port, tag, host, [])
        sc.require(ok == CONNS, "control: with the test CA and host %s, %d/%d handshakes "
                   "succeed" % (host, ok, CONNS))
    ok, refused = attempt(sc, srv.port, "other-ca", "localhost", [], ca=other_ca)
    sc.require(ok == 0 and refused == CONNS, "a server certificate from an unrelated CA is "
               "refused: %d/%d handshakes refused, %d succeeded" % (refused, CONNS, ok))
    sc.stop(srv)
    # the last argument wins: this server presents the other.invalid certificate
    srv = sc.start_server(["--cert", crt, "--key", key], tag="server-other-name", duration=60)
    for tag, host in (("other-dns", "localhost"), ("other-ip", "127.0.0.1")):
        ok, refused = attempt(sc, srv.port, tag, host, [])
        sc.require(ok == 0 and refused == CONNS, "a server certificate for other.invalid only, "
                   "reached as %s, is refused: %d/%d handshakes refused, %d succeeded"
                   % (host, refused, CONNS, ok))
    ok, _ = attempt(sc, srv.port, "insecure", "localhost", ["--insecure"], ca=False)
    sc.require(ok == CONNS, "--insecure (allow self-signed / insecure, skip the host name "
               "check): %d/%d handshakes succeed" % (ok, CONNS))
    sc.stop(srv)


if __name__ == "__main__":
    sl.main("verify", __doc__.split("\n")[0], body, None)
