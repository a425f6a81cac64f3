#!/usr/bin/env python3
"""W3: every binary links the libwebsockets variant it was built with.

  1. scan: every ELF file the variant's build produced (upstream's test apps
     and minimal examples under lws/<variant>/bin, its plugins, our test apps
     under apps/<variant>) that needs a libwebsockets must need
     libwebsockets.so.19 and resolve it (ldd) inside this variant's build or
     stage directory.  Statically linked ones are counted, not checked.
  2. consumer: one of upstream's minimal examples, built on its own against
     the staged variant (find_package(libwebsockets)), while the linker's
     search path holds a decoy "system" libwebsockets.so (SONAME
     libwebsockets.so.17, as Debian bookworm's libwebsockets-dev installs):
     it must link the variant's libwebsockets.so.19, not the decoy.  In a
     build without the static library (the wolfSSL variants) upstream's
     examples fall back to -lwebsockets and take the decoy (field note W3).

usage: linkage.py --build BUILD_DIR --variant V [--expect pass|defect] [--json F]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXAMPLE = "minimal-examples/ws-server/minimal-ws-server"


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def needed(path):
    r = run(["readelf", "-d", path])
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)


def resolved(path, lib):
    """Where the dynamic loader finds lib for path (ldd), or None."""
    r = run(["ldd", path])
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and m.group(1) == lib:
            return None if m.group(2) == "not" else os.path.realpath(m.group(2))
    return None


def scan(build, variant, checks, figures):
    roots = [os.path.join(build, "lws", variant, "bin"),
             os.path.join(build, "lws", variant, "lib"),
             os.path.join(build, "apps", variant)]
    own = [os.path.realpath(os.path.join(build, d, variant)) + os.sep
           for d in ("lws", "stage")]
    dynamic, static, wrong = 0, 0, []
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "CMakeFiles"]
            for name in files:
                p = os.path.join(dirpath, name)
                if os.path.islink(p) or not is_elf(p):
                    continue
                libs = [l for l in needed(p) if l.startswith("libwebsockets")]
                if not libs:
                    if name.endswith(".so") or ".so." in name:
                        continue  # the library itself, shims
                    if os.access(p, os.X_OK) and not name.endswith(".o"):
                        static += 1
                    continue
                dynamic += 1
                for lib in libs:
                    where = resolved(p, lib)
                    if lib != "libwebsockets.so.19" or not where or \
                            not any(where.startswith(o) for o in own):
                        wrong.append("%s: %s -> %s" % (os.path.relpath(p, build), lib, where))
    figures["dynamic_binaries"] = dynamic
    figures["static_binaries"] = static
    figures["wrong_library"] = wrong[:20]
    for w in wrong[:10]:
        print("  wrong: " + w)
    checks.append((dynamic + static > 0,
                   "the build produced binaries to check (%d linking the shared library, "
                   "%d static)" % (dynamic, static)))
    checks.append((not wrong, "every binary needing libwebsockets gets this variant's "
                   "libwebsockets.so.19 (%d do not)" % len(wrong)))


def make_decoy(build, variant, tmp):
    """A stand-in system libwebsockets.so.17 exporting the variant's symbols."""
    lib = os.path.join(build, "stage", variant, "lib", "libwebsockets.so.19")
    if not os.path.exists(lib):
        raise SystemExit("linkage: SETUP ERROR: %s not built" % lib)
    r = run(["nm", "-D", "--defined-only", lib])
    src = ["/* decoy: the system's old libwebsockets */"]
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) != 3 or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", parts[2]):
            continue
        if parts[1] in "TW":
            src.append("void %s(void) {}" % parts[2])
        elif parts[1] in "DBRV":
            src.append("char %s[64];" % parts[2])
    d = os.path.join(tmp, "decoy")
    os.makedirs(d)
    with open(os.path.join(d, "decoy.c"), "w") as f:
        f.write("\n".join(src) + "\n")
    r = run(["cc", "-shared", "-fPIC", "-fno-builtin", "-w", "-o",
             os.path.join(d, "libwebsockets.so.17"), os.path.join(d, "decoy.c"),
             "-Wl,-soname,libwebsockets.so.17"])
    if r.returncode:
        raise SystemExit("linkage: SETUP ERROR: cannot build the decoy: " + r.stderr[-400:])
    os.symlink("libwebsockets.so.17", os.path.join(d, "libwebsockets.so"))
    return d


def consumer(build, variant, tmp, checks, figures):
    src = os.path.join(build, "src", variant, EXAMPLE)
    if not os.path.isdir(src):
        raise SystemExit("linkage: SETUP ERROR: %s missing" % src)
    decoy = make_decoy(build, variant, tmp)
    bdir = os.path.join(tmp, "example")
    env = dict(os.environ)
    # the linker's search path, as /usr/lib is for a system package
    env["LIBRARY_PATH"] = decoy + os.pathsep + env.get("LIBRARY_PATH", "")
    r = run(["cmake", "-S", src, "-B", bdir,
             "-DCMAKE_PREFIX_PATH=" + os.path.join(build, "stage", variant)], env=env)
    if r.returncode:
        raise SystemExit("linkage: SETUP ERROR: configuring the example failed:\n"
                         + (r.stdout + r.stderr)[-1500:])
    r = run(["cmake", "--build", bdir], env=env)
    exe = os.path.join(bdir, "lws-minimal-ws-server")
    built = r.returncode == 0 and os.path.exists(exe)
    figures["example_built"] = built
    if not built:
        print((r.stdout + r.stderr)[-800:])
        checks.append((False, "the minimal example links (against the staged variant)"))
        return
    libs = [l for l in needed(exe) if l.startswith("libwebsockets")]
    if not libs:
        # a build with the static library: the example took the imported
        # static target, the variant's own archive (the decoy is a .so)
        figures["example_needs"] = "static (libwebsockets.a of this variant)"
        checks.append((bool(run(["nm", exe]).stdout.count(" lws_create_context")),
                       "the minimal example links this variant's static library"))
        return
    where = resolved(exe, libs[0])
    if where and where.startswith(os.path.realpath(decoy)):
        where = "the decoy system library " + where
    figures["example_needs"] = libs
    figures["example_resolves_to"] = where
    own = os.path.realpath(os.path.join(build, "stage", variant)) + os.sep
    checks.append((libs == ["libwebsockets.so.19"] and where and where.startswith(own),
                   "the minimal example links this variant's libwebsockets.so.19, not a "
                   "libwebsockets the linker finds elsewhere (needs %s, resolves to %s)"
                   % (libs, where)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", required=True, help="the lws-hardened build directory")
    p.add_argument("--variant", required=True)
    p.add_argument("--expect", choices=["pass", "defect"], default="pass")
    p.add_argument("--json")
    a = p.parse_args()
    for tool in ("readelf", "ldd", "nm", "cc", "cmake"):
        if not shutil.which(tool):
            print("linkage: SETUP ERROR: %s not found" % tool, file=sys.stderr)
            return 2
    checks, figures = [], {}
    with tempfile.TemporaryDirectory(prefix="lwsh-linkage.") as tmp:
        scan(a.build, a.variant, checks, figures)
        consumer(a.build, a.variant, tmp, checks, figures)
    ok = all(c for c, _ in checks)
    for c, text in checks:
        print("  %s %s" % ("ok  " if c else "FAIL", text))
    print("linkage [%s]: defect %s; figures: %s" % (a.variant, "absent" if ok else "SHOWN",
                                                   json.dumps(figures, sort_keys=True)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"scenario": "linkage", "variant": a.variant, "defect_shown": not ok,
                       "figures": figures, "checks": [{"ok": c, "text": t} for c, t in checks]},
                      f, indent=1, sort_keys=True)
    met = ok == (a.expect == "pass")
    if a.expect == "defect":
        print("expected: the defect is shown -> %s" % ("as expected" if met else "NOT shown"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
