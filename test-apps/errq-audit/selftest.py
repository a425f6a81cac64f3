#!/usr/bin/env python3
"""lws-errq-audit's own test: it must find what it claims to find, and
nothing else.

errq-audit-selftest makes each situation on purpose (see its header):
  clean        0 stale entries, with the audited calls counted
  planted      1 stale entry, misleading a waiting SSL_read(); OpenSSL's
               record names plant_stale_entry() at the printed line, left by
               no audited call
  left-behind  the stale entry is "wrong version number", left behind by
               SSL_connect() called from leave_connect_error(); the victim
               is SSL_read() called from read_waiting()
  signal       --signal USR2 writes the summary at the next SSL call
and the wrapper script refuses bad input with a reason.

usage: selftest.py APPS_DIR [--json FILE]
LWSH_APP_WRAPPER (e.g. "valgrind -q --error-exitcode=99 --leak-check=full")
runs the test program, with the audit library in it, under that tool: its
exit status then also says whether the tool found an error.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

checks = []


def check(name, ok, detail=""):
    checks.append({"check": name, "ok": bool(ok), "detail": str(detail)})
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name,
                        " (%s)" % (detail,) if detail != "" else ""))


def audit(apps, tmp, mode, *opts):
    js = os.path.join(tmp, "%s.json" % mode)
    wrapper = shlex.split(os.environ.get("LWSH_APP_WRAPPER", ""))
    cmd = [os.path.join(apps, "lws-errq-audit"), "--json", js, *opts, "--",
           *wrapper, os.path.join(apps, "errq-audit-selftest"), mode]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    print("$ %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    if p.returncode != 0:
        check("%s: program exit 0" % mode, False, p.returncode)
        return None, None
    out = {}
    for line in p.stdout.strip().splitlines():
        out.update(json.loads(line))
    with open(js) as f:
        return out, json.load(f)["lws_errq_audit"]


def totals(a):
    return (a["stale_at_entry"], a["misled"], a["misled_waiting"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("apps", help="test-apps build dir (OpenSSL variant)")
    ap.add_argument("--json", help="write the checks as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="errq-audit-") as tmp:
        run_checks(args.apps, tmp)
    failed = [c for c in checks if not c["ok"]]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"checks": checks, "failed": len(failed)}, f, indent=1)
    print("%d checks, %d failed" % (len(checks), len(failed)))
    return 1 if failed or not checks else 0


def run_checks(apps, tmp):
    _, a = audit(apps, tmp, "clean")
    if a:
        check("clean: SSL calls audited", a["calls"] >= 5, a["calls"])
        check("clean: 0 stale, 0 misled", totals(a) == (0, 0, 0), totals(a))
        check("clean: no origin", a["origins"] == [], a["origins"])

    out, a = audit(apps, tmp, "planted")
    if a:
        check("planted: 1 stale, 1 misled, waiting", totals(a) == (1, 1, 1),
              totals(a))
        check("planted: counted on SSL_read",
              a["functions"]["SSL_read"]["misled_waiting"] == 1)
        o = a["origins"][0] if a["origins"] else {}
        e = o.get("entry", {})
        check("planted: raised in plant_stale_entry()",
              e.get("function") == "plant_stale_entry", e)
        check("planted: at the planted line",
              e.get("line") == out["plant_line"] and
              e.get("file", "").endswith("errq-audit-selftest.c"),
              "%s:%s" % (e.get("file"), e.get("line")))
        check("planted: left by no audited call", o.get("left_by", 0) is None,
              o.get("left_by"))
        v = o.get("first_victim") or {}
        check("planted: victim SSL_read() from read_waiting()",
              v.get("call") == "SSL_read" and
              v.get("function") == "read_waiting", v)

    _, a = audit(apps, tmp, "left-behind")
    if a:
        check("left-behind: 1 stale, 1 misled, waiting",
              totals(a) == (1, 1, 1), totals(a))
        o = a["origins"][0] if a["origins"] else {}
        lb = o.get("left_by") or {}
        check("left-behind: left by SSL_connect() from leave_connect_error()",
              lb.get("call") == "SSL_connect" and
              lb.get("function") == "leave_connect_error", lb)
        check("left-behind: OpenSSL's entry is the connect's failure",
              o.get("entry", {}).get("reason") == "wrong version number",
              o.get("entry"))
        vs = a["victims"]
        check("left-behind: one victim, SSL_read() from read_waiting()",
              len(vs) == 1 and vs[0]["victim"]["function"] == "read_waiting"
              and vs[0]["misled_waiting"] == 1, vs)

    out, a = audit(apps, tmp, "signal", "--signal", "USR2")
    if a:
        check("signal: summary written at the SSL call after SIGUSR2",
              out.get("signal_summary") is True, out)

    wrapper = os.path.join(apps, "lws-errq-audit")
    prog = os.path.join(apps, "errq-audit-selftest")
    for name, cmd, code, says in [
        ("bad option", [wrapper, "--bogus", prog, "clean"], 2,
         "unknown option"),
        ("no program", [wrapper], 2, "no program"),
        ("missing library", [wrapper, "--preload", "/nonexistent.so", prog],
         2, "not found"),
        ("bad signal", [wrapper, "--signal", "NOTASIG", prog, "clean"], 3,
         "not a signal"),
    ]:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        check("refuses %s" % name,
              p.returncode == code and says in p.stderr,
              "exit %d: %s" % (p.returncode, p.stderr.strip()[-200:]))
    p = subprocess.run([wrapper, "--help"], capture_output=True, text=True)
    check("--help", p.returncode == 0 and "usage:" in p.stdout)


if __name__ == "__main__":
    sys.exit(main())
