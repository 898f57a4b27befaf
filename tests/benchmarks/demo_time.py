"""`imagewatch demo` wall time in an empty folder, median of 3 runs. Target: under 20 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 3


def main() -> None:
    times = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "monitor", "demo"],
                cwd=folder,
                check=True,
                capture_output=True,
                timeout=120,
            )
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        f"imagewatch demo: median {median:.2f} s over {RUNS} runs "
        f"(max {max(times):.2f} s); target < 20 s: {'met' if median < 20 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
