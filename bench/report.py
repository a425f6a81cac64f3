"""Report of scripts/bench: BENCHMARKS.md, plots and results.json from the
results dictionary.  Only figures present in the results are printed; a
figure that was not measured is shown as "-" (never guessed).

write(res, out_dir, repo) -> path of the Markdown report
"""

import json
import os
import subprocess

FLAVOURS = ("vanilla", "hardened")
GOAL_ECHO = 0.99        # hardened / vanilla echo throughput, at least
GOAL_INSTR = 1.01       # hardened / vanilla instructions per message, at most
GOAL_RESUMED = 95.0     # % of clean reconnects resumed (hardened), at least
GOAL_RES_CHEAPER = 3.0  # full / resumed client cost, TLS 1.2, at least
GOAL_NODE_CPU = 0.6     # server CPU per message / node-ws, at most
GOAL_NGINX = 1.0        # handshake capacity / nginx, at least


def med(sp):
    return None if not sp else sp.get("median")


def f(x, fmt="%.0f"):
    return "-" if x is None else fmt % x


def fr(x):
    return "-" if x is None else "%.3f" % x


def spread(sp, fmt="%.0f"):
    if not sp:
        return "-"
    if sp["n"] == 1 or sp["min"] == sp["max"]:
        return fmt % sp["median"]
    return (fmt + " (" + fmt + "-" + fmt + ")") % (sp["median"], sp["min"], sp["max"])


def size_name(s):
    return {64: "64 B", 1024: "1 KiB", 16384: "16 KiB"}.get(s, "%d B" % s)


def geomean(v):
    import math
    v = [x for x in v if x]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else None


# ---- goals ----------------------------------------------------------------------

def goals(res):
    """[(goal, verdict, measured, why)]; verdict: met / missed / not measured."""
    out = []
    echo, instr, hs, rc = res.get("echo"), res.get("instr"), res.get("handshake"), \
        res.get("reconnect")
    prof = None
    if instr:
        top = instr.get("profile_msg", {}).get("largest_differences", [])[:4]
        prof = "; ".join("%s %+d" % (k, h - v) for k, h, v in top)

    # 1. echo throughput
    if echo:
        rs = [(c["connections"], c["size"], c["hardened_over_vanilla"]["msgs_per_s"])
              for c in echo["cells"]]
        g = geomean([r for _, _, r in rs])
        low = [(n, s, r) for n, s, r in rs if r is not None and r < GOAL_ECHO]
        bn = sorted({c["servers"]["hardened"]["bottleneck"] for c in echo["cells"]})
        why = None
        if g is None or g < GOAL_ECHO:
            why = ("bottleneck side(s) in the echo cells: %s; per-message instructions "
                   "hardened/vanilla %s%s" % (", ".join(bn), fr((instr or {}).get(
                       "hardened_over_vanilla", {}).get("instr_per_message")),
                       ("; largest per-message differences (callgrind, instr): " + prof)
                       if prof else ""))
        out.append(("hardened / vanilla echo throughput >= %.2f" % GOAL_ECHO,
                    "met" if g is not None and g >= GOAL_ECHO else "missed",
                    "geometric mean over %d cells %s; cells below %.2f: %s" % (
                        len(rs), fr(g), GOAL_ECHO,
                        ", ".join("%d x %s: %.3f" % (n, size_name(s), r) for n, s, r in low)
                        or "none"), why))
    else:
        out.append(("hardened / vanilla echo throughput >= %.2f" % GOAL_ECHO, "not measured",
                    "-", None))

    # 2. instructions per message
    if instr:
        r = instr["hardened_over_vanilla"]["instr_per_message"]
        out.append(("hardened / vanilla instructions per message <= %.2f" % GOAL_INSTR,
                    "met" if r is not None and r <= GOAL_INSTR else "missed",
                    "%s (%s vs %s instr/message); per handshake %s" % (
                        fr(r), instr["variants"]["hardened"]["instr_per_message"],
                        instr["variants"]["vanilla"]["instr_per_message"],
                        fr(instr["hardened_over_vanilla"]["instr_per_handshake"])),
                    None if r is not None and r <= GOAL_INSTR else
                    "largest per-message differences (callgrind self instr, hardened - "
                    "vanilla): " + (prof or "-")))
    else:
        out.append(("hardened / vanilla instructions per message <= %.2f" % GOAL_INSTR,
                    "not measured", "-", None))

    # 3. resumption rate, 4. resumed cheaper
    if rc:
        pcts = {t: rc["rows"][t]["hardened"]["resumed"]["client_resumption_rate_pct"]
                for t in rc["rows"]}
        vp = {t: rc["rows"][t]["vanilla"]["resumed"]["client_resumption_rate_pct"]
              for t in rc["rows"]}
        ok = all(p is not None and p >= GOAL_RESUMED for p in pcts.values())
        out.append(("hardened: >= %.0f %% of clean reconnects resumed" % GOAL_RESUMED,
                    "met" if ok else "missed",
                    "; ".join("TLS %s: hardened %s %%, vanilla %s %%" % (
                        t, f(pcts[t], "%.1f"), f(vp[t], "%.1f")) for t in sorted(pcts)),
                    None if ok else "see the reconnect table: the server refused or the "
                    "client did not offer its session"))
        x12 = rc["rows"].get("1.2", {}).get("hardened", {}).get("full_over_resumed_client_instr")
        x13 = rc["rows"].get("1.3", {}).get("hardened", {}).get("full_over_resumed_client_instr")
        out.append(("hardened: resumed reconnects >= %.0fx cheaper on the client (TLS 1.2)"
                    % GOAL_RES_CHEAPER,
                    "met" if x12 is not None and x12 >= GOAL_RES_CHEAPER else "missed",
                    "TLS 1.2: full / resumed client instructions %s; TLS 1.3 (its real "
                    "saving, a resumption still does an X25519 exchange): %s" % (fr(x12),
                                                                                  fr(x13)),
                    None if x12 is not None and x12 >= GOAL_RES_CHEAPER else
                    "a resumed reconnect still pays the TCP connect, ws upgrade, echo and "
                    "close; see the reconnect table"))
    else:
        out.append(("resumption and resumed cost", "not measured", "-", None))

    # 5. server CPU per message vs node-ws
    if echo and "node" in echo["servers"]:
        rs = [(c["connections"], c["size"], c["over_node"]["hardened"]["server_cpu_us_per_msg"])
              for c in echo["cells"]]
        bad = [(n, s, r) for n, s, r in rs if r is None or r > GOAL_NODE_CPU]
        why = None
        if bad:
            worst = max((r for _, _, r in bad if r is not None), default=None)
            big = [s for n, s, r in bad]
            why = ("at large messages the work is the AES-GCM record crypto both servers do "
                   "in the same OpenSSL (see the physical limit); " if big and min(big) >= 16384
                   else "") + "worst %s; largest per-message costs (callgrind, hardened): %s" % (
                fr(worst), "; ".join("%s %d" % (k, h) for k, h, _ in
                                     (instr or {}).get("profile_msg", {}).get(
                                         "top_hardened", [])[:4]) or "-")
        out.append(("server CPU per message <= %.1fx node-ws at every size" % GOAL_NODE_CPU,
                    "met" if not bad else "missed",
                    ", ".join("%d x %s: %s" % (n, size_name(s), fr(r)) for n, s, r in rs),
                    why))
    else:
        out.append(("server CPU per message <= %.1fx node-ws" % GOAL_NODE_CPU,
                    "not measured", "-", None))

    # 6. handshake capacity vs nginx
    if hs and "nginx" in hs["servers"]:
        rs = [("TLS %s %s" % (c["tls"], c["mode"]), c["capacity_over_nginx"]["hardened"])
              for c in hs["cells"]]
        bad = [(m, r) for m, r in rs if r is None or r < GOAL_NGINX]
        why = None
        if bad:
            sp = res.get("speed")
            why = "server CPU per handshake is higher than nginx's for the same OpenSSL " \
                  "crypto"
            if sp:
                why += " (crypto bound %.0f full handshakes per CPU-s)" % \
                    sp["bound_full_hs_per_cpu_s"]
            ph = (instr or {}).get("profile_hs", {}).get("top_hardened", [])[:4]
            if ph:
                why += "; largest per-handshake costs (callgrind, hardened lws server): " + \
                    "; ".join("%s %d" % (k, h) for k, h, _ in ph)
        out.append(("handshake capacity >= %.1fx nginx in all four modes" % GOAL_NGINX,
                    "met" if not bad else "missed",
                    ", ".join("%s: %s" % (m, fr(r)) for m, r in rs), why))
    else:
        out.append(("handshake capacity >= %.1fx nginx" % GOAL_NGINX, "not measured", "-", None))
    return out


# ---- plots ----------------------------------------------------------------------

def write_plots(res, bdir, repo):
    echo, hs = res.get("echo"), res.get("handshake")
    pngs = []
    sizes = []
    if echo:
        sizes = sorted({c["size"] for c in echo["cells"]})
        for s in sizes:
            with open(os.path.join(bdir, "echo-%d.dat" % s), "w") as fh:
                fh.write("# connections, msgs/s med min max x (vanilla hardened node), "
                         "server CPU us/msg med min max x (vanilla hardened node)\n")
                for c in sorted((c for c in echo["cells"] if c["size"] == s),
                                key=lambda c: c["connections"]):
                    row = [str(c["connections"])]
                    for k in ("msgs_per_s", "server_cpu_us_per_msg"):
                        for srv in ("vanilla", "hardened", "node"):
                            sp = c["servers"].get(srv, {}).get(k)
                            row += (["%g" % sp["median"], "%g" % sp["min"], "%g" % sp["max"]]
                                    if sp else ["NaN"] * 3)
                    fh.write(" ".join(row) + "\n")
        pngs += ["echo-throughput.png", "echo-server-cpu.png"]
    if hs:
        with open(os.path.join(bdir, "handshakes.dat"), "w") as fh:
            fh.write("# mode, capacity/server CPU-s (vanilla hardened nginx), hs/s (same)\n")
            for c in hs["cells"]:
                row = ['"%s %s"' % (c["tls"], c["mode"])]
                for k in ("capacity_per_server_cpu_s", "hs_per_s"):
                    for srv in ("vanilla", "hardened", "nginx"):
                        sp = c["servers"].get(srv, {}).get(k)
                        row.append("%g" % sp["median"] if sp else "NaN")
                fh.write(" ".join(row) + "\n")
        pngs.append("handshakes.png")
    if not pngs:
        return []
    if not sizes:
        # the echo part of the script needs at least one size; draw nothing for it
        sizes = []
    gp = os.path.join(repo, "bench", "plots.gp")
    expr = "dir='%s'; sizes='%s'; hs=%d" % (bdir, " ".join(str(s) for s in sizes), 1 if hs else 0)
    if not sizes:
        pngs = [p for p in pngs if p.startswith("handshakes")]
        expr += "; n=0"
    r = subprocess.run(["gnuplot", "-e", expr, gp], capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise RuntimeError("gnuplot failed: " + r.stderr[-500:])
    return [p for p in pngs if os.path.exists(os.path.join(bdir, p))]


# ---- markdown -------------------------------------------------------------------

def write(res, out_dir, repo):
    bdir = os.path.join(out_dir, "bench")
    os.makedirs(bdir, exist_ok=True)
    with open(os.path.join(bdir, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1, sort_keys=True)
    pngs = write_plots(res, bdir, repo)
    L = []
    w = L.append
    m, v = res["machine"], res["versions"]
    w("# Benchmarks: hardened vs vanilla vs the anchors")
    w("")
    w("Generated by `scripts/bench` from `bench/results.json` (%s run, %s, %.0f s); do not "
      "edit by hand: `scripts/bench --report-only %s/bench/results.json` regenerates it. "
      "Every figure below was measured in that one run; \"-\" means not measured."
      % (res["mode"], res["date"], res.get("seconds", 0), os.path.relpath(out_dir, repo)
         if out_dir.startswith(repo) else out_dir))
    if res["mode"] == "quick":
        w("")
        w("**Quick (smoke) run**: one repetition, short cells, few connections. The "
          "figures show the pipeline works; they are not the benchmark.")
    w("")
    w("## Machine and versions")
    w("")
    w("| | |")
    w("|---|---|")
    w("| CPU | %s, %s cores (server pinned to CPU %s, client to CPU %s with `taskset`) |"
      % (m["cpu_model"], m["cores"], res["pinning"]["server_cpu"], res["pinning"]["client_cpu"]))
    w("| kernel, OS | Linux %s, Debian %s, %d MiB RAM |" % (m["kernel"], m["os"],
                                                           m["mem_total_kib"] // 1024))
    w("| load average at start / end | %s / %s (a shared machine) |" % (
        " ".join(m["loadavg_at_start"]), " ".join(m.get("loadavg_at_end", ["-"]))))
    apps = v.get("apps") or {}
    for fl in FLAVOURS:
        a = apps.get(fl) or {}
        w("| %s-%s | lws %s, %s |" % (fl, res["backend"], a.get("lws", "-"),
                                     a.get("tls_library", "-")))
    w("| openssl CLI | %s |" % v.get("openssl_cli", "-"))
    w("| Node.js, ws | %s, ws %s |" % (v.get("node", "-"), v.get("ws", "-")))
    w("| nginx | %s |" % v.get("nginx", "-"))
    w("| repository | %s%s |" % (v.get("repo_commit", "-"),
                                 " (with uncommitted changes)" if v.get("repo_dirty") else ""))
    w("| command | `%s` |" % " ".join(res["argv"]))
    w("")
    w("Figures are medians of %d interleaved repetitions (A B C A B C ...), min-max in "
      "parentheses." % res["plan"]["reps"])
    w("")

    w("## Goals")
    w("")
    w("| goal | verdict | measured |")
    w("|---|---|---|")
    gl = goals(res)
    for g, verdict, measured, why in gl:
        w("| %s | **%s** | %s |" % (g, verdict, measured))
    whys = [(g, why) for g, verdict, _, why in gl if verdict == "missed" and why]
    if whys:
        w("")
        w("Why (for each missed goal):")
        w("")
        for g, why in whys:
            w("- *%s*: %s" % (g, why))
    w("")

    sp = res.get("speed")
    if sp:
        w("## The physical limit (one core, `openssl speed`)")
        w("")
        w("| AES-128-GCM 16 KiB | AES-256-GCM 16 KiB | X25519 | ECDSA P-256 sign | verify | "
          "full-handshake bound | TLS 1.3 resumed bound |")
        w("|---|---|---|---|---|---|---|")
        w("| %.2f GB/s | %.2f GB/s | %.0f/s | %.0f/s | %.0f/s | %.0f/CPU-s | %.0f/CPU-s |" % (
            sp["aes_128_gcm_Bps"] / 1e9, sp["aes_256_gcm_Bps"] / 1e9, sp["x25519_per_s"],
            sp["ecdsa_p256_sign_per_s"], sp["ecdsa_p256_verify_per_s"],
            sp["bound_full_hs_per_cpu_s"], sp["bound_tls13_resumed_hs_per_cpu_s"]))
        w("")
        w("Bounds: a full handshake costs the server two X25519 operations (key generation, "
          "shared secret) and one ECDSA P-256 signature: 1 / (2/X25519 + 1/sign); a TLS 1.3 "
          "resumption keeps the X25519 exchange. An echoed message is decrypted and encrypted "
          "once by the server: bound = AES-256-GCM bytes/s / 2 (TLS 1.3 negotiates "
          "TLS_AES_256_GCM_SHA384 here). Commands: `%s`." % "`, `".join(sp["commands"]))
        w("")

    echo = res.get("echo")
    if echo:
        w("## wss echo")
        w("")
        w("Every server driven by the same client (`lws-stress-client` of %s), one message "
          "in flight per connection. Server CPU per message is the server's utime + stime "
          "(`/proc/PID/stat`) over a steady window (every connection up, from the client's "
          "status lines) divided by the messages echoed in it; MB/s counts payload one way; "
          "mean round trip = connections / (messages/s) (Little's law). p50 / p99 round "
          "trip: the client times every message (just before `lws_write()` to the arrival "
          "of its echo, log-linear histogram, within 1.6 %%) and prints the p50 and p99 of "
          "the echoes of each status-line interval (0.25 s); a run's p50 and p99 are the "
          "medians of those per-interval values inside the steady window (not the "
          "percentiles of the pooled window), \"-\" when the client printed none. "
          "Bottleneck: the side whose core "
          "was >= 90 %% busy in the window (`/proc/stat`; other processes on a shared "
          "machine count, and are named as \"other load\")." % echo["client_variant"])
        w("")
        w("```")
        w(echo["command"])
        w("```")
        w("")
        for p in ("echo-throughput.png", "echo-server-cpu.png"):
            if p in pngs:
                w("![%s](bench/%s)" % (p[:-4], p))
                w("")
        w("| conns x size | server | messages/s | MB/s | mean RTT us | p50 RTT us | "
          "p99 RTT us | server CPU us/msg | server / client process CPU (core busy) | "
          "bottleneck |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for c in echo["cells"]:
            for srv in echo["servers"]:
                s = c["servers"][srv]
                w("| %d x %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |" % (
                    c["connections"], size_name(c["size"]),
                    "node ws" if srv == "node" else srv, spread(s["msgs_per_s"]),
                    spread(s["MB_per_s"], "%.2f"), spread(s["mean_rtt_us"]),
                    # older results files have no percentiles: "-"
                    spread(s.get("p50_rtt_us")), spread(s.get("p99_rtt_us")),
                    spread(s["server_cpu_us_per_msg"], "%.2f"),
                    "%s (%s)" % (f(med(s["server_cpu_util"]), "%.2f"),
                                 f(med(s.get("server_core_busy")), "%.2f")),
                    "%s (%s)" % (f(med(s["client_cpu_util"]), "%.2f"),
                                 f(med(s.get("client_core_busy")), "%.2f")),
                    s["bottleneck"]))
        w("")
        w("Ratios (medians):")
        w("")
        w("| conns x size | hardened / vanilla msgs/s | hardened / vanilla server CPU/msg | "
          "hardened / node msgs/s | hardened / node server CPU/msg | vanilla / node server "
          "CPU/msg | echo payload per server CPU-s, % of the AES bound |")
        w("|---|---|---|---|---|---|---|")
        for c in echo["cells"]:
            hv, on = c["hardened_over_vanilla"], c.get("over_node") or {}
            frac = None
            cpu = med(c["servers"]["hardened"]["server_cpu_us_per_msg"])
            if sp and cpu:
                frac = 100.0 * (c["size"] * 1e6 / cpu) / (sp["aes_256_gcm_Bps"] / 2)
            w("| %d x %s | %s | %s | %s | %s | %s | %s |" % (
                c["connections"], size_name(c["size"]), fr(hv["msgs_per_s"]),
                fr(hv["server_cpu_us_per_msg"]),
                fr((on.get("hardened") or {}).get("msgs_per_s")),
                fr((on.get("hardened") or {}).get("server_cpu_us_per_msg")),
                fr((on.get("vanilla") or {}).get("server_cpu_us_per_msg")),
                f(frac, "%.1f %%")))
        w("")

    instr = res.get("instr")
    if instr:
        w("## Instructions (callgrind, server)")
        w("")
        w("| | instr / message (64 B) | instr / full handshake |")
        w("|---|---|---|")
        for fl in FLAVOURS:
            x = instr["variants"][fl]
            w("| %s | %d | %d |" % (fl, x["instr_per_message"], x["instr_per_handshake"]))
        h = instr["hardened_over_vanilla"]
        w("| hardened / vanilla | %s | %s |" % (fr(h["instr_per_message"]),
                                               fr(h["instr_per_handshake"])))
        w("")
        w("Each figure is (I(B) - I(A)) / (B - A) for runs of %s messages and %s connections "
          "(`scripts/bench-instructions`' runs): `%s`." % (
              "/".join(map(str, instr["messages"])), "/".join(map(str, instr["handshakes"])),
              instr["command"]))
        w("")
        for what, name in (("msg", "message"), ("hs", "handshake")):
            pr = instr.get("profile_" + what)
            if not pr:
                continue
            w("Per %s, self instructions by function (callgrind_annotate, the same "
              "difference of two runs), hardened vs vanilla:" % name)
            w("")
            w("| function | hardened | vanilla |")
            w("|---|---|---|")
            for k, hh, vv in pr["top_hardened"][:8]:
                w("| `%s` | %d | %d |" % (k, hh, vv))
            w("")
            w("Largest differences: %s." % ", ".join(
                "`%s` %+d" % (k, hh - vv) for k, hh, vv in pr["largest_differences"][:6]))
            w("")

    hs = res.get("handshake")
    if hs:
        w("## Handshakes (openssl s_time)")
        w("")
        w("```")
        w(hs["command"])
        w("```")
        w("")
        w("The stress server's HTTPS endpoint answers `GET /` with a 404 page, so "
          "`s_time -www /` reads a page and TLS 1.3 tickets arrive; nginx answers the same "
          "way (`return 404`). Server CPU from `/proc/PID/stat` (nginx: its one worker) "
          "around each s_time run; capacity = handshakes per server CPU-second. "
          "Each connection also carries one HTTP request and response.")
        w("")
        for srv, sv in sorted(hs["suites"].items()):
            w("- %s negotiates: %s" % (srv, "; ".join(
                "TLS %s: %s %s, %s" % (ver, x.get("protocol"), x.get("cipher"),
                                      x.get("peer_temp_key")) for ver, x in sorted(sv.items()))))
        w("")
        if "handshakes.png" in pngs:
            w("![handshakes](bench/handshakes.png)")
            w("")
        w("| mode | server | handshakes/s | server CPU us / handshake | capacity / server "
          "CPU-s | resumed % |")
        w("|---|---|---|---|---|---|")
        for c in hs["cells"]:
            for srv in hs["servers"]:
                s = c["servers"][srv]
                w("| TLS %s %s | %s | %s | %s | %s | %s |" % (
                    c["tls"], c["mode"], srv, spread(s["hs_per_s"]),
                    spread(s["server_cpu_us_per_hs"], "%.1f"),
                    spread(s["capacity_per_server_cpu_s"]),
                    f(med(s["resumed_pct"]), "%.1f")))
        w("")
        w("| mode | hardened / nginx capacity | vanilla / nginx | hardened / vanilla | "
          "hardened capacity, % of the crypto bound |")
        w("|---|---|---|---|---|")
        for c in hs["cells"]:
            bound = None
            if sp and c["mode"] == "full":
                bound = sp["bound_full_hs_per_cpu_s"]
            elif sp and c["tls"] == "1.3":
                bound = sp["bound_tls13_resumed_hs_per_cpu_s"]
            cap = med(c["servers"]["hardened"]["capacity_per_server_cpu_s"])
            w("| TLS %s %s | %s | %s | %s | %s |" % (
                c["tls"], c["mode"], fr(c["capacity_over_nginx"].get("hardened")),
                fr(c["capacity_over_nginx"].get("vanilla")),
                fr(c["capacity_hardened_over_vanilla"]),
                f(100.0 * cap / bound if bound and cap else None, "%.1f %%")))
        w("")

    rc = res.get("reconnect")
    if rc:
        w("## The lws client's reconnect loop")
        w("")
        w("`%s`. Client instructions per reconnect: (I(%d) - I(%d)) / %d under callgrind; "
          "reconnects/s: median of %d native runs of %d reconnects; resumed %% measured by "
          "the client over every run of the cell." % (
              rc["command"], rc["reconnects"][1], rc["reconnects"][0],
              rc["reconnects"][1] - rc["reconnects"][0], rc["rate_runs"],
              rc["rate_reconnects"]))
        w("")
        w("| TLS | client | client instr full / resumed | full / resumed | reconnects/s full / "
          "resumed | resumed % |")
        w("|---|---|---|---|---|---|")
        for tls in sorted(rc["rows"]):
            for fl in FLAVOURS:
                x = rc["rows"][tls][fl]
                fu, re_ = x["full"], x["resumed"]
                w("| %s | %s | %s / %s | %s | %s / %s | %s |" % (
                    tls, fl, f(fu["client_instr_per_reconnect"]),
                    f(re_["client_instr_per_reconnect"]),
                    fr(x["full_over_resumed_client_instr"]),
                    f(fu["reconnects_per_s"]), f(re_["reconnects_per_s"]),
                    f(re_["client_resumption_rate_pct"], "%.1f")))
        w("")

    mem = res.get("memory")
    if mem:
        w("## Memory per idle wss connection")
        w("")
        w(mem["command"] + ".")
        w("")
        w("| connections | " + " | ".join("node ws" if s == "node" else s
                                          for s in mem["servers"]) + " |")
        w("|---" * (len(mem["servers"]) + 1) + "|")
        for c in mem["cells"]:
            w("| %d | %s |" % (c["connections"], " | ".join(
                spread(c["servers"][s], "%.1f") + " KiB" for s in mem["servers"])))
        w("")

    dl = res.get("deadlink")
    if dl:
        w("## Socket memory after dead links")
        w("")
        w("`%s` (each variant; D1/D2 scenario: the peer vanishes, the server declares the "
          "links dead)." % dl.get("command", "tests/scenarios/deadlink.py"))
        w("")
        w("| | place | sockets 1 s after the decision | Send-Q then | sockets at the end "
          "| orphans at the end | Send-Q at the end | end of observation |")
        w("|---|---|---|---|---|---|---|---|")
        for fl in FLAVOURS:
            x = dl["variants"].get(fl)
            if not x:
                continue
            w("| %s | %s | %s | %s B | %s | %s | %s B | %s s after the cut |" % (
                fl, x.get("place"), x.get("sockets_left_1s_after_decision"),
                x.get("sendq_1s_after_decision_bytes"), x.get("sockets_at_end"),
                x.get("orphans_at_end"), x.get("sendq_total_at_end_bytes"),
                x.get("end_of_observation_s_after_cut")))
        w("")

    w("## Time")
    w("")
    w("Seconds per section: %s; total %.0f s." % (
        ", ".join("%s %.0f" % kv for kv in res.get("section_seconds", {}).items()),
        res.get("seconds", 0)))
    w("")
    path = os.path.join(out_dir, "BENCHMARKS.md")
    with open(path, "w") as fh:
        fh.write("\n".join(L))
    return path
