"""Benchmark: `imagewatch run` with 1,000 numbered simulator accounts (simulator in its own
process, 200 ms per call), for `--minutes` (5 by default; `--minutes 30` for the long run).
Prints the daemon's RSS over time, its CPU, and how late each scheduled probe started after
its slot. Targets: RSS under 150 MB after 5 minutes and flat afterwards; every probe started
within 1 s of its slot.

    python tests/benchmarks/daemon_memory.py [--accounts 1000] [--minutes 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ServedProcess, children_cpu, process_cpu

from monitor import cadence
from monitor.config import parse
from monitor.plan import plan
from monitor.simulator.fleet import as_env_file, as_toml, fleet_config
from monitor.store import Store

DELAY = 0.2
SAMPLE_EVERY = 10.0
TARGET_RSS_MB = 150.0
TARGET_LATE_S = 1.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lateness(database_url: str, data: dict[str, object], env: dict[str, str]) -> list[float]:
    """Seconds from each scheduled probe's slot to its start (each pair's first run, the
    catch-up on start, is left out: it has no slot)."""
    loaded = parse(data, env)
    probes = {(p.account.name, p.check, p.model): p for p in plan(loaded)}
    store = Store.open(database_url)
    rows = store.results(limit=10_000_000)
    store.close()
    late = []
    seen: set[tuple[str, str, str]] = set()
    for row in sorted(rows, key=lambda r: r.started_at):
        pair = (row.account, row.check, row.model)
        if pair not in seen:
            seen.add(pair)
            continue
        probe = probes[(row.account, row.check, row.model)]
        every = loaded.config.check_settings(probe.check).every
        slot = cadence.slot_at(probe.key, every, row.started_at).start
        late.append((row.started_at - slot).total_seconds())
    return late


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ServedProcess(delay=DELAY) as served:
        folder = Path(tmp)
        database_url = f"sqlite:///{folder / 'daemon.db'}"
        data, env = fleet_config(served.url, args.accounts, database_url=database_url)
        data["monitor"]["site_dir"] = str(folder / "public")  # type: ignore[index]
        config = folder / "fleet.toml"
        config.write_text(as_toml(data, "fleet.toml.env"), encoding="utf-8")
        (folder / "fleet.toml.env").write_text(as_env_file(env), encoding="utf-8")
        log = (folder / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        start = time.monotonic()
        samples: list[tuple[float, float, float]] = []
        try:
            while (elapsed := time.monotonic() - start) < args.minutes * 60:
                if daemon.poll() is not None:
                    raise RuntimeError("the daemon ended early")
                samples.append((elapsed, rss_mb(daemon.pid), process_cpu(daemon.pid)))
                time.sleep(SAMPLE_EVERY)
            samples.append((time.monotonic() - start, rss_mb(daemon.pid), process_cpu(daemon.pid)))
            publish_cpu = children_cpu(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(timeout=200)
            log.close()
        errors = (folder / "daemon.log").read_text().splitlines()
        server_cpu = process_cpu(served.process.pid)
        late = lateness(database_url, data, env)
    print(
        f"imagewatch run, {args.accounts} accounts, simulator {DELAY * 1000:.0f} ms per call, "
        f"{args.minutes:g} minutes:"
    )
    for elapsed, rss, cpu in samples[:: max(1, len(samples) // 15)]:
        print(f"  {elapsed / 60:5.1f} min  RSS {rss:6.1f} MB  CPU {cpu:7.1f} s")
    after_five = [rss for elapsed, rss, _ in samples if elapsed >= 300] or [samples[-1][1]]
    print(
        f"  RSS after 5 min: first {after_five[0]:.1f} MB, last {after_five[-1]:.1f} MB, "
        f"max {max(after_five):.1f} MB; target < {TARGET_RSS_MB:.0f} MB and flat"
    )
    print(
        f"  daemon CPU {samples[-1][2]:.1f} s, its publish processes {publish_cpu:.1f} s; "
        f"simulator CPU {server_cpu:.1f} s"
    )
    print(f"  {len(errors)} lines on stderr{': ' + errors[0][:200] if errors else ''}")
    if late:
        late.sort()
        print(
            f"  {len(late)} scheduled probes: start after slot median "
            f"{statistics.median(late):.2f} s, p99 {late[int(len(late) * 0.99)]:.2f} s, "
            f"max {late[-1]:.2f} s; within {TARGET_LATE_S:.0f} s: "
            f"{sum(x <= TARGET_LATE_S for x in late) / len(late):.1%}"
        )


if __name__ == "__main__":
    main()
