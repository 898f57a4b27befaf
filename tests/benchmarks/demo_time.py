"""`imagewatch demo` (30 days replayed) in an empty folder: wall time and CPU time, median of
3 runs. Target: under 15 s. CPU time is what the demo costs on an idle machine; wall time
grows with whatever else the machine is running."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 3
TARGET_S = 15.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    walls, cpus = [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as folder:
            cpu_before = children_cpu()
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "monitor", "demo"],
                cwd=folder,
                check=True,
                capture_output=True,
                timeout=300,
            )
            walls.append(time.perf_counter() - start)
            cpus.append(children_cpu() - cpu_before)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    load = os.getloadavg()[0]
    print(
        f"imagewatch demo: median wall {wall:.2f} s (max {max(walls):.2f} s), "
        f"median CPU {cpu:.2f} s over {RUNS} runs, load average {load:.1f}; "
        f"target < {TARGET_S:.0f} s: {'met' if wall < TARGET_S else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
