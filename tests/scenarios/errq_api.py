#!/usr/bin/env python3
"""Q2, lws's non-I/O OpenSSL APIs: no entries left on the error queue.

Runs lws-errq-api-check (test-apps/errq-api) of the variant: it calls
lws_x509_parse_from_pem / _verify / _info / _public_to_jwk / _jwk_privkey_pem,
lws_tls_vhost_cert_info, lws_tls_session_dump_load / _save and the lws_gen*
helpers (genhash, genhmac, genaes, genrsa, genecdsa, genecdh) with bad input
(garbage and truncated PEM, wrong keys and passphrases, corrupted signatures,
tags and session blobs...) and with good input, each from an empty queue, and
counts what each call left on the thread's OpenSSL error queue.

Correct: no API leaves anything, on failure or on success.  APIs the library
was built without (LWS_WITH_GENCRYPTO and LWS_WITH_JOSE are off by upstream
default) are reported as skipped.  Figures: entries left per API, the APIs
that left some, and the first entry of each call that did (JSON).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as sl  # noqa: E402


def body(sc):
    if sc.backend != "openssl":
        raise sl.SetupError("the OpenSSL error queue exists only on OpenSSL variants")
    out = sc.path("api-check.json")
    p = sc.start("api-check", [sc.app("lws-errq-api-check"), "--pki", sc.pki,
                               "--json", out])
    rc = sc.wait(p, 120)
    if sc.sanitizer_reports():
        raise sl.AppCrashed("lws-errq-api-check exited %s with a sanitizer report" % rc)
    if rc not in (0, 1):
        raise sl.SetupError("lws-errq-api-check exited %s:\n%s" % (rc, sc.tail("api-check")))
    r = sc.load_json("api-check.json")

    apis = r["apis"]
    sc.figure("calls", r["calls"])
    sc.figure("entries_total", r["entries_total"])
    sc.figure("leaking_apis", r["leaking"])
    sc.figure("entries_per_api", {a: v["entries"] for a, v in apis.items() if v["entries"]})
    sc.figure("skipped", sorted(r["skipped"]))
    sc.figure("left_by", ["%s [%s]: %d, first %s" % (c["api"], c["case"], c["entries"], c["first"])
                          for c in r["calls_detail"] if c["entries"]][:40])

    sc.require(r["calls"] > 0 and apis, "the check ran (%d calls)" % r["calls"])
    if (rc == 1) != (r["entries_total"] > 0):
        raise sl.SetupError("exit status %d does not match entries_total %d"
                            % (rc, r["entries_total"]))
    for a in sorted(apis):
        v = apis[a]
        sc.require(v["entries"] == 0,
                   "%s leaves nothing on the queue (%d entries over %d of %d calls; "
                   "%d with bad input, %d with good)"
                   % (a, v["entries"], v["calls_that_left_entries"], v["calls"],
                      v["entries_bad_input"], v["entries_good_input"]))


if __name__ == "__main__":
    sl.main("errq-api", __doc__.split("\n")[0], body)
