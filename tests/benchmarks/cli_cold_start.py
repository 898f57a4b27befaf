"""Benchmark (a): `imagewatch --help` cold start, median of 15 runs. Target: under 0.3 s."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

RUNS = 15
TARGET = 0.3


def main() -> None:
    command = [shutil.which("imagewatch") or "imagewatch", "--help"]
    if not shutil.which("imagewatch"):
        command = [sys.executable, "-m", "monitor", "--help"]
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        f"imagewatch --help cold start: median {median * 1000:.0f} ms over {RUNS} runs "
        f"(min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms); "
        f"target < {TARGET * 1000:.0f} ms: {'met' if median < TARGET else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
