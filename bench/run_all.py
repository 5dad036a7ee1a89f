"""Run every benchmark with its defaults and print one JSON line each."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.inbound",
    "bench.inbound_sustained",
    "bench.rsvp",
    "bench.outbound",
    "bench.member_search",
    "bench.login_flood",
]

if __name__ == "__main__":
    for module in BENCHMARKS:
        subprocess.run([sys.executable, "-m", module], check=True)
