#!/usr/bin/env python3
"""docs/API.md and include/libwebsockets/lws-hardened.h agree.

Every public symbol the header declares (functions, enums and their values,
macros) must be named in docs/API.md (in backquotes), and every
lws_hardened_* / LWSH_* / LWS_HARDENED* name the page gives must exist in the
header: the page can neither miss an addition nor describe one that was
removed.  Every function must also carry a doxygen comment in lws's style
("/**" then " * name() - ...") right before its declaration.

usage: api-doc.py REPO      exit 0 if all holds, 1 naming each mismatch
"""
import os
import re
import sys


def header_symbols(text):
    syms = set(re.findall(r"^(lws_hardened_\w+)\(", text, re.M))
    syms |= {"enum " + e for e in re.findall(r"^enum (lws_hardened_\w+)", text, re.M)}
    syms |= set(re.findall(r"^\s+(LWSH_[A-Z_]+)", text, re.M))
    syms |= set(re.findall(r"^#define (LWS_HARDENED\w*)", text, re.M))
    return syms


def doc_symbols(text):
    names = re.findall(r"`((?:enum )?(?:lws_hardened_\w+|LWSH_[A-Z_]+|LWS_HARDENED\w*))", text)
    # "LWSH_CTR_SESSION_*" names a group, not a symbol
    return {n for n in names if not n.endswith("_")}


def undocumented_functions(lines):
    bad = []
    for i, line in enumerate(lines):
        m = re.match(r"^(lws_hardened_\w+)\(", line)
        if not m:
            continue
        j = i - 1
        while j >= 0 and (lines[j].startswith("LWS_VISIBLE") or not lines[j].strip()):
            j -= 1
        end = j
        while j >= 0 and not lines[j].startswith("/**"):
            j -= 1
        block = "\n".join(lines[j:end + 1]) if j >= 0 else ""
        if not lines[end].rstrip().endswith("*/") or "%s() - " % m.group(1) not in block:
            bad.append(m.group(1))
    return bad


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    repo = sys.argv[1]
    with open(os.path.join(repo, "include", "libwebsockets", "lws-hardened.h")) as f:
        hdr = f.read()
    with open(os.path.join(repo, "docs", "API.md")) as f:
        doc = f.read()
    h, d = header_symbols(hdr), doc_symbols(doc)
    fails = []
    if len(h) < 10:
        fails.append("only %d symbols found in the header: the parser is broken" % len(h))
    fails += ["%s is declared in lws-hardened.h but not described in docs/API.md" % s
              for s in sorted(h - d)]
    fails += ["docs/API.md names %s, which lws-hardened.h does not declare" % s
              for s in sorted(d - h)]
    fails += ["%s() has no doxygen comment (/** ... %s() - ...) right before it" % (f, f)
              for f in undocumented_functions(hdr.splitlines())]
    for f in fails:
        print("FAIL: " + f)
    if fails:
        print("%d mismatch(es)" % len(fails))
        return 1
    print("PASS: docs/API.md describes all %d public symbols of lws-hardened.h, and no other"
          % len(h))
    return 0


if __name__ == "__main__":
    sys.exit(main())
