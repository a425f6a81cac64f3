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
