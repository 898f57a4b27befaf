"""Benchmark: two `imagewatch run` instances on one PostgreSQL with 1,000 numbered simulator
accounts (simulator in its own process, 200 ms per call), for `--minutes` (3 by default).
Targets: each instance runs 40-60 % of the probes; no paid probe runs twice in a window.
Uses IMAGEWATCH_TEST_DATABASE_URL, whose tables it drops first.

    IMAGEWATCH_TEST_DATABASE_URL=postgresql+psycopg://… python tests/benchmarks/two_instances.py
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ServedProcess, process_cpu
from sqlalchemy import MetaData, select
from sqlmodel import Session, col

from checks.generation import Generation
from monitor import cadence
from monitor.config import parse
from monitor.plan import plan
from monitor.simulator.fleet import as_toml, fleet_config
from monitor.store import ProbeResult, ProbeSlot, Store, make_engine

DELAY = 0.2
WARM_UP = 60.0  # before both instances' first heartbeats are read, they race


def empty_database(url: str) -> None:
    engine = make_engine(url)
    found = MetaData()
    found.reflect(engine)
    found.drop_all(engine)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    url = os.environ["IMAGEWATCH_TEST_DATABASE_URL"]
    empty_database(url)
    Store.open(url).close()
    with tempfile.TemporaryDirectory() as tmp, ServedProcess(delay=DELAY) as served:
        folder = Path(tmp)
        data, env = fleet_config(served.url, args.accounts, database_url=url)
        daemons = []
        for name in ("one", "two"):
            data["monitor"]["site_dir"] = str(folder / f"public-{name}")  # type: ignore[index]
            (folder / f"{name}.toml").write_text(as_toml(data, "env"), encoding="utf-8")
            daemons.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "monitor",
                        "run",
                        "--config",
                        str(folder / f"{name}.toml"),
                    ],
                    env={**os.environ, **env},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        started = time.monotonic()
        try:
            while time.monotonic() - started < args.minutes * 60:
                if any(d.poll() is not None for d in daemons):
                    raise RuntimeError("a daemon ended early")
                time.sleep(1)
            cpu = [process_cpu(d.pid) for d in daemons]
        finally:
            for daemon in daemons:
                daemon.terminate()
            for daemon in daemons:
                daemon.wait(timeout=200)
    loaded = parse(data, env)
    probes = {(p.account.name, p.check, p.model): p for p in plan(loaded)}
    store = Store.open(url)
    with Session(store.engine) as session:
        claims = list(session.scalars(select(ProbeSlot)))
        paid = list(
            session.scalars(select(ProbeResult).where(col(ProbeResult.check) == Generation.name))
        )
    store.close()
    first = min(c.claimed_at for c in claims)
    later = [c for c in claims if (c.claimed_at - first).total_seconds() >= WARM_UP]
    settings = loaded.config.check_settings(Generation.name)
    windows = collections.Counter(
        (r.account, cadence.claim_slot(probes[(r.account, r.check, r.model)].key, settings,
                                       r.started_at))
        for r in paid
    )  # fmt: skip
    twice = sum(n - 1 for n in windows.values() if n > 1)
    print(
        f"two imagewatch run instances on PostgreSQL, {args.accounts} accounts, "
        f"{args.minutes:g} minutes, simulator {DELAY * 1000:.0f} ms per call:"
    )
    for label, rows in (("all probes", claims), (f"after the first {WARM_UP:.0f} s", later)):
        shares = collections.Counter(c.instance for c in rows)
        parts = ", ".join(
            f"{n / len(rows):.1%}" for _, n in sorted(shares.items())
        ) if rows else "none"  # fmt: skip
        print(f"  {label}: {len(rows)} probes run; share per instance {parts}")
    print(f"  paid probes: {len(paid)}; run twice in one window: {twice} (target 0)")
    print(f"  daemon CPU: {', '.join(f'{c:.1f} s' for c in cpu)}")


if __name__ == "__main__":
    main()
