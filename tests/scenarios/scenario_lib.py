"""Shared plumbing for the fault scenarios (stdlib only).

A scenario runs the test apps of one library variant (build/apps/<variant>),
measures something, prints the figures it measured and decides whether the
defect it looks for was present.  Every scenario script takes the same
options (see `parser()`):

  --apps DIR         the variant's test apps (lws-stress-server, ...)
  --variant NAME     e.g. hardened-openssl (for reports)
  --server-apps DIR  lws-stress-server from another variant (reference peer)
  --pki DIR          test PKI from test-apps/stress/gen-certs.sh (made if absent)
  --expect pass      exit 0 only if the defect is absent (the normal case)
  --expect defect    exit 0 only if the defect is shown (vanilla, and hardened
                     builds whose fix has not landed yet)
  --json FILE        write the measured figures as JSON
  --seed N           seed passed to the apps

Exit status: 0 expectation met, 1 not met, 2 setup error (a setup error
never counts as "defect shown").
"""

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class SetupError(Exception):
    """The scenario could not be run (not a finding)."""


class AppCrashed(Exception):
    """An app died with a sanitizer report: a finding, whatever --expect says."""


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--apps", required=True, help="directory of the variant's test apps")
    p.add_argument("--variant", required=True, help="variant name for reports")
    p.add_argument("--server-apps", help="take lws-stress-server from this directory instead "
                   "(e.g. an OpenSSL variant as the reference peer of an mbedTLS client)")
    p.add_argument("--pki", help="test PKI directory (made with gen-certs.sh if missing)")
    p.add_argument("--expect", choices=["pass", "defect"], default="pass",
                   help="pass: the defect must be absent; defect: it must be shown")
    p.add_argument("--json", help="write measured figures to this file")
    p.add_argument("--seed", type=int, default=1, help="seed for the apps (default 1)")
    p.add_argument("--workdir", help="keep logs here instead of a temporary directory")
    return p


class Scenario:
    """One scenario run: temp dir, child processes, figures, verdict."""

    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.figures = {}
        self.findings = []      # (ok, text) for each assertion
        self.invariants = []    # (ok, text): must hold whatever --expect says
        self.procs = []
        # the TLS backend is the variant name's last part (hardened-mbedtls...)
        self.backend = args.variant.rsplit("-", 1)[-1]
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            self.dir = args.workdir
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="lwsh-%s." % name)
            self.dir = self._tmp.name
        self.pki = args.pki or os.path.join(self.dir, "pki")
        # every file a scenario uses: a PKI made by an older gen-certs.sh is redone
        if not all(os.path.exists(os.path.join(self.pki, f))
                   for f in ("server.pem", "client.pem", "server-big.pem", "client-big.pem")):
            gen = os.path.join(REPO, "test-apps", "stress", "gen-certs.sh")
            r = subprocess.run([gen, self.pki], capture_output=True, text=True)
            if r.returncode:
                raise SetupError("gen-certs.sh failed: " + r.stderr)

    # ---- programs ------------------------------------------------------

    def app(self, name, apps=None):
        path = os.path.join(apps or self.args.apps, name)
        if not os.access(path, os.X_OK):
            raise SetupError("%s not built (%s)" % (name, path))
        return path

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, tag, argv, env=None, stdin=None):
        """Start a child in its own process group; output to <tag>.log
        (stdin: as subprocess.Popen's, e.g. subprocess.PIPE).

        LWSH_APP_WRAPPER (e.g. "valgrind --error-exitcode=99 -q") runs every
        app under that command.  Sanitizer reports in any child's output are
        findings (see finish()).
        """
        log = open(self.path(tag + ".log"), "w")
        e = dict(os.environ)
        # a sanitizer's exit code must not look like the apps' "1 = failed"
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:exitcode=86")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        e.update(env or {})
        wrapper = os.environ.get("LWSH_APP_WRAPPER")
        if wrapper and argv and argv[0].startswith(os.path.abspath(self.args.apps)):
            argv = shlex.split(wrapper) + list(argv)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=e,
                             stdin=stdin, start_new_session=True)
        p.tag = tag
        p.logf = log
        self.procs.append(p)
        return p

    def wait(self, p, timeout):
        """Wait for a child; kill it (and count as a setup error) past timeout."""
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(p)
            raise SetupError("%s did not finish within %ss (log %s)"
                             % (p.tag, timeout, self.path(p.tag + ".log")))

    def kill(self, p, sig=signal.SIGKILL):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self, p, timeout=15):
        """SIGTERM (apps then write their summary), then SIGKILL."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(p)
        return p.returncode

    def wait_ready(self, p, ready_file, timeout=20):
        """Wait for an app's --ready-file; return the port written in it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise SetupError("%s exited (%s) before it was ready:\n%s"
                                 % (p.tag, p.returncode, self.tail(p.tag)))
            try:
                with open(ready_file) as f:
                    txt = f.read().strip()
                if txt:
                    return int(txt.split()[0])
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.05)
        raise SetupError("%s not ready after %ss" % (p.tag, timeout))

    def tail(self, tag, n=15):
        try:
            with open(self.path(tag + ".log")) as f:
                return "".join(f.readlines()[-n:])
        except FileNotFoundError:
            return ""

    def load_json(self, name):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError) as e:
            raise SetupError("no valid JSON summary %s: %s" % (name, e))

    def cleanup(self):
        for p in self.procs:
            self.kill(p)
            p.logf.close()

    # ---- common app invocations ------------------------------------------

    def start_server(self, extra, tag="server", duration=60, tls=True, env=None):
        ready = self.path(tag + ".ready")
        argv = [self.app("lws-stress-server", self.args.server_apps), "--port", "0", "--duration", str(duration),
                "--ready-file", ready, "--json", self.path(tag + ".json"),
                "--seed", str(self.args.seed), "--stats-interval", "0"]
        if tls:
            argv += ["--cert", os.path.join(self.pki, "server.pem"),
                     "--key", os.path.join(self.pki, "server.key")]
        else:
            argv += ["--no-tls"]
        p = self.start(tag, argv + list(extra), env=env)
        p.port = self.wait_ready(p, ready)
        return p

    def start_proxy(self, upstream, extra, duration=120, tag="proxy"):
        """lws-faultproxy in front of upstream; returns (process, port, events file)."""
        events = self.path(tag + ".events")
        p = self.start(tag, [self.app("lws-faultproxy"), "--listen", "127.0.0.1:0",
                             "--upstream", "127.0.0.1:%d" % upstream,
                             "--seed", str(self.args.seed), "--duration", str(int(duration)),
                             "--events", events, "--json", self.path(tag + ".json")]
                       + list(extra))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise SetupError("lws-faultproxy exited: " + self.tail(tag))
            try:
                with open(events) as f:
                    for line in f:
                        ev = json.loads(line)
                        if ev.get("ev") == "start":
                            return p, int(ev["port"]), events
            except (FileNotFoundError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise SetupError("lws-faultproxy not ready after 15s")

    def run_client(self, port, extra, tag="client", tls=True, timeout=120, host=None,
                   env=None, ca=None):
        """Run the stress client to completion; return (exit code, summary).

        ca: the CA file to verify the server with (default: the test CA);
        False: none (for --insecure)."""
        if host is None:
            # mbedTLS 2.x cannot match an IP address against the certificate
            host = "localhost" if self.backend == "mbedtls" else "127.0.0.1"
        argv = [self.app("lws-stress-client"), "--server", "%s:%d" % (host, port),
                "--json", self.path(tag + ".json"), "--seed", str(self.args.seed),
                "--stats-interval", "0",
                # the client stops itself (and fails) before we would kill it
                "--max-time", str(max(5, timeout - 15))]
        if not tls:
            argv += ["--no-tls"]
        elif ca is not False:
            argv += ["--ca", ca or os.path.join(self.pki, "ca.pem")]
        p = self.start(tag, argv + list(extra), env=env)
        rc = self.wait(p, timeout)
        if self.sanitizer_reports():
            raise AppCrashed("%s exited %s with a sanitizer report" % (tag, rc))
        if rc not in (0, 1):
            raise SetupError("%s exited %s:\n%s" % (tag, rc, self.tail(tag)))
        return rc, self.load_json(tag + ".json")

    # ---- verdict -----------------------------------------------------------

    def figure(self, key, value):
        self.figures[key] = value

    def require(self, ok, text):
        """An assertion about the defect: all must hold for 'no defect'."""
        self.findings.append((bool(ok), text))

    def invariant(self, ok, text):
        """An assertion that must hold on every build, with the defect shown
        or not (e.g. what a build that shows the defect must also show)."""
        self.invariants.append((bool(ok), text))

    SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|"
                                  r"ERROR SUMMARY: [1-9]|definitely lost: [1-9]")

    def sanitizer_reports(self):
        """ASan/UBSan/valgrind reports in the children's output."""
        hits = []
        for p in self.procs:
            p.logf.flush()
            with open(self.path(p.tag + ".log"), errors="replace") as f:
                hits += ["%s: %s" % (p.tag, l.strip()[:160])
                         for l in f if self.SANITIZER_REPORT.search(l)]
        return hits

    def finish(self):
        # a memory error is never "the defect shown": it fails every run
        reports = self.sanitizer_reports()
        for r in reports[:5]:
            print("  SANITIZER " + r)
        no_defect = all(ok for ok, _ in self.findings) and self.findings
        for ok, text in self.findings:
            print("  %s %s" % ("ok  " if ok else "FAIL", text))
        shown = "absent" if no_defect else "SHOWN"
        print("%s [%s]: defect %s; figures: %s"
              % (self.name, self.args.variant, shown, json.dumps(self.figures, sort_keys=True)))
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump({"scenario": self.name, "variant": self.args.variant,
                           "defect_shown": not no_defect, "figures": self.figures,
                           "checks": [{"ok": ok, "text": t} for ok, t in self.findings],
                           "invariants": [{"ok": ok, "text": t}
                                          for ok, t in self.invariants]},
                          f, indent=1, sort_keys=True)
        for ok, text in self.invariants:
            print("  %s %s (must hold on every build)" % ("ok  " if ok else "FAIL", text))
        met = (no_defect and self.args.expect == "pass") or \
              (not no_defect and self.args.expect == "defect")
        met = met and all(ok for ok, _ in self.invariants)
        if reports:
            print("%s [%s]: %d sanitizer/valgrind report(s): FAILED"
                  % (self.name, self.args.variant, len(reports)))
            return 1
        if self.args.expect == "defect":
            print("expected: the defect is shown (known defect of this build) -> %s"
                  % ("as expected" if met else "NOT shown: update the expectation"))
        return 0 if met else 1


def main(name, description, body, add_args=None):
    """Parse options, run body(scenario), print the verdict, exit."""
    p = parser(description)
    if add_args:
        add_args(p)
    args = p.parse_args()
    sc = None
    try:
        sc = Scenario(name, args)
        body(sc)
        rc = sc.finish()
    except SetupError as e:
        print("%s [%s]: SETUP ERROR: %s" % (name, args.variant, e), file=sys.stderr)
        rc = 2
    except AppCrashed as e:
        for r in sc.sanitizer_reports()[:5]:
            print("  SANITIZER " + r)
        print("%s [%s]: CRASH: %s: FAILED" % (sc.name, args.variant, e))
        rc = 1
    finally:
        if sc:
            sc.cleanup()
    sys.exit(rc)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def preload_env(app, lib):
    """LD_PRELOAD for lib in app; an ASan runtime app links must come first."""
    if not os.path.isfile(lib):
        raise SetupError("%s not built" % lib)
    preload = [lib]
    r = subprocess.run(["ldd", app], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("libasan.so") and len(parts) >= 3:
            preload.insert(0, parts[2])
    return {"LD_PRELOAD": " ".join(preload)}
