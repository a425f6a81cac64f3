"""Shared by the benchmark scripts (scripts/bench-*)."""

import re


def callgrind_total(outfile):
    """The instruction total of a callgrind output file, or None."""
    with open(outfile) as f:
        for line in f:
            m = re.match(r"^(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    return None


# ---- process figures from /proc (scripts/bench) ------------------------------

CLK_TCK = None


def proc_cpu_s(pid):
    """utime + stime of a process (all its threads) in seconds, or None."""
    global CLK_TCK
    if CLK_TCK is None:
        import os
        CLK_TCK = os.sysconf("SC_CLK_TCK")
    try:
        with open("/proc/%d/stat" % pid) as f:
            txt = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name may hold spaces and parentheses: split after the last ')'
    fields = txt[txt.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)


def proc_rss_kib(pid):
    """Resident set size (VmRSS) of a process in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def proc_children(pid):
    """Direct children of a process (its main thread's), as pids."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


# ---- summaries ---------------------------------------------------------------

def spread(values):
    """{median, min, max, n, runs} of the numbers in values (None skipped)."""
    import statistics
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v),
            "runs": v}


def ratio(a, b, digits=4):
    """a / b rounded, None when either is missing or b is 0."""
    if a is None or not b:
        return None
    return round(a / float(b), digits)


def cpu_busy_s():
    """{cpu index: busy seconds (all but idle and iowait)} from /proc/stat."""
    import os
    global CLK_TCK
    if CLK_TCK is None:
        CLK_TCK = os.sysconf("SC_CLK_TCK")
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                v = line.split()
                t = [int(x) for x in v[1:9]]
                out[int(v[0][3:])] = (sum(t) - t[3] - t[4]) / float(CLK_TCK)
    return out
