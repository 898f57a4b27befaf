"""Benchmark: `imagewatch run` with 1,000 numbered simulator accounts (simulator in its own
process, 200 ms per call), for `--minutes` (5 by default; `--minutes 30` for the long run).
Prints the daemon's RSS over time, its CPU, and how late each scheduled probe started after
its slot. Targets: RSS under 150 MB after 5 minutes and flat afterwards; every probe started
within 1 s of its slot.

    python tests/benchmarks/daemon_memory.py [--accounts 1000] [--minutes 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import ServedProcess, children_cpu, process_cpu

from monitor import cadence
from monitor.config import parse
from monitor.daemon import last_of
from monitor.plan import plan
from monitor.simulator.fleet import as_env_file, as_toml, fleet_config
from monitor.store import ProbeResult, Store

DELAY = 0.2
SAMPLE_EVERY = 10.0
TARGET_RSS_MB = 150.0
TARGET_LATE_S = 1.0


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclasses.dataclass(frozen=True)
class Late:
    """One scheduled probe: when the daemon started (seconds after its own start), its
    check, and how late its request started after the slot the scheduler had planned."""

    at: float
    check: str
    seconds: float


def lateness(
    database_url: str, data: dict[str, object], env: dict[str, str], started: datetime
) -> list[Late]:
    """Each scheduled run's lateness: from the slot the scheduler planned after the pair's
    run before (`cadence.next_run` over the interval that run's result set, never before a
    wait the API asked for) to the moment its request started (the result's `started_at`,
    taken once the probe is through its concurrency gates). Each pair's first run, the
    catch-up on start, has no slot and is left out."""
    loaded = parse(data, env)
    probes = {(p.account.name, p.check, p.model): p for p in plan(loaded)}
    store = Store.open(database_url)
    rows = store.results(limit=10_000_000)
    store.close()
    found = []
    before: dict[tuple[str, str, str], ProbeResult] = {}
    for row in sorted(rows, key=lambda r: r.started_at):
        pair = (row.account, row.check, row.model)
        previous = before.get(pair)
        before[pair] = row
        if previous is None:
            continue
        probe = probes[pair]
        last = last_of(previous)
        settings = loaded.config.check_settings(probe.check)
        interval = cadence.next_interval(settings, last, previous.finished_at)
        planned = cadence.next_run(probe.key, interval, previous.finished_at)
        held = cadence.not_before(last)
        if held is not None:
            planned = max(planned, held)
        found.append(
            Late(
                at=(row.started_at - started).total_seconds(),
                check=row.check,
                seconds=(row.started_at - planned).total_seconds(),
            )
        )
    return found


def report_lateness(late: list[Late]) -> None:
    # A run more than a second before its planned slot is off its slot by design: a paid
    # probe confirming a change of a free check's status, or following a recovery.
    off_slot = [x for x in late if x.seconds < -TARGET_LATE_S]
    late = [x for x in late if x.seconds >= -TARGET_LATE_S]
    if not late:
        print("  no scheduled probe ran (only the catch-up on start)")
        return
    seconds = sorted(x.seconds for x in late)
    over = [x for x in late if x.seconds > TARGET_LATE_S]
    print(
        f"  {len(late)} scheduled probes: start after slot median "
        f"{statistics.median(seconds):.2f} s, p99 {seconds[int(len(seconds) * 0.99)]:.2f} s, "
        f"max {seconds[-1]:.2f} s; {len(over)} later than {TARGET_LATE_S:.0f} s "
        f"(and {len(off_slot)} runs off their slot, confirming a change)"
    )
    for x in sorted(late, key=lambda x: -x.seconds)[:5]:
        print(f"    {x.seconds:5.2f} s late: {x.check} at {x.at / 60:5.2f} min")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--keep", type=Path, help="keep the database and the daemon's log here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ServedProcess(delay=DELAY) as served:
        folder = Path(tmp) if args.keep is None else args.keep
        folder.mkdir(parents=True, exist_ok=True)
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
        load_before = loadavg()
        start = time.monotonic()
        started = datetime.now(UTC)
        samples: list[tuple[float, float, float]] = []
        try:
            while (elapsed := time.monotonic() - start) < args.minutes * 60:
                if daemon.poll() is not None:
                    raise RuntimeError("the daemon ended early")
                samples.append((elapsed, rss_mb(daemon.pid), process_cpu(daemon.pid)))
                time.sleep(SAMPLE_EVERY)
            samples.append((time.monotonic() - start, rss_mb(daemon.pid), process_cpu(daemon.pid)))
            publish_cpu = children_cpu(daemon.pid)
            load_after = loadavg()
        finally:
            daemon.terminate()
            daemon.wait(timeout=200)
            log.close()
        errors = (folder / "daemon.log").read_text().splitlines()
        server_cpu = process_cpu(served.process.pid)
        late = lateness(database_url, data, env, started)
    print(
        f"imagewatch run, {args.accounts} accounts, simulator {DELAY * 1000:.0f} ms per call, "
        f"{args.minutes:g} minutes:"
    )
    # Wall figures depend on what else runs on the machine: say how loaded it was.
    print(f"  load average at the start {load_before}, at the end {load_after}")
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
    report_lateness(late)


if __name__ == "__main__":
    main()
