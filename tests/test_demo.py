from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.simulator import SCENARIOS


def test_demo_runs_in_an_empty_folder_with_no_key_and_no_network(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # the code under test, wherever it is
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "scenario mismatch" not in run.stderr
    for scenario in SCENARIOS:
        assert scenario.name in run.stdout
    assert "verified" in run.stdout
    assert "ready" in run.stdout
    assert "NOT READY — generation: Organization not verified" in run.stdout
    database = tmp_path / "imagewatch-demo" / "imagewatch.db"
    assert f"Results stored in {database}" in run.stdout
    with sqlite3.connect(database) as db:
        count = db.execute("SELECT count(*) FROM probe_results").fetchone()[0]
    assert count == sum(len(s.expect) for s in SCENARIOS)  # a result per expected reason


def test_demo_serve_keeps_the_simulator_up_until_ctrl_c(tmp_path: Path) -> None:
    import re
    import signal
    import time

    import httpx

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # the code under test, wherever it is
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            found = re.search(r"Simulator stays up on (http://127\.0\.0\.1:\d+/v1)", line)
            url = found.group(1) if found else None
        assert url is not None
        models = httpx.get(
            f"{url}/models",
            timeout=5,
            headers={"Authorization": "Bearer sk-sim-verified-7c1e9a4b2d"},
        )
        assert models.status_code == 200
        assert (tmp_path / "imagewatch-demo" / "public" / "index.html").exists()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
