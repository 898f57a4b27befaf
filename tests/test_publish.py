from __future__ import annotations

import gc
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts import process
from monitor.config import LoadedConfig, parse
from monitor.page import (
    PublishError,
    SiteView,
    build,
    publish,
    read_page_data,
    render,
    write_atomically,
)
from monitor.page.publish import collector_paused
from monitor.store import ProbeResult, Silence, Store
from tests.traffic import spend_row, usage_row

GOLDEN = Path(__file__).parent / "fixtures" / "golden_site"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PINNED = "gpt-image-2-2026-04-21"


def loaded_config() -> LoadedConfig:
    accounts = [
        {
            "name": name,
            "api_key_env": "KEY",
            "snapshots": [PINNED],
            "required_images_per_minute": 20,
            "tags": [tag],
        }
        for name, tag in (("prod", "us"), ("eu", "europe"))
    ]
    # prod reads its own traffic and bill (the usage and spend charts)
    accounts[0].update(project="proj_prod", admin_key_env="ADMIN_KEY")
    return parse(
        {"monitor": {"title": "GPT Image readiness"}, "accounts": accounts},
        {"KEY": "sk-test-0000000011112222", "ADMIN_KEY": "sk-admin-test-0000111122223333"},
    )


def row(
    account: str,
    check: str,
    status: str,
    reason: str,
    summary: str,
    at: datetime,
    model: str = "gpt-image-2",
    **extra: object,
) -> ProbeResult:
    values: dict[str, object] = {
        "account": account,
        "check": check,
        "model": model,
        "status": status,
        "reason": reason,
        "summary": summary,
        "details": {},
        "latency_ms": 420.0,
        "started_at": at - timedelta(seconds=1),
        "finished_at": at,
    }
    values.update(extra)
    return ProbeResult(**values)  # type: ignore[arg-type]


def fill(
    store: Store,
    message: str = "Your organization must be verified to use the model `gpt-image-2`.",
) -> None:
    """Ten days of history for two accounts; prod healthy, eu unverified since day 8, and
    an incident on eu's pricing that opened on day 6 and resolved on day 5."""
    for day in range(10, 0, -1):
        at = NOW - timedelta(days=day - 1, minutes=2)
        rows: list[ProbeResult] = []
        for account in ("prod", "eu"):
            failing = account == "eu" and day <= 3
            rows += [
                row(
                    account,
                    "model_listing",
                    "pass",
                    "listed",
                    "gpt-image-2 listed",
                    at,
                    details={"family_snapshots": [PINNED]},
                ),
                row(
                    account,
                    "snapshot",
                    "pass",
                    "snapshot_available",
                    f"{PINNED} available",
                    at,
                    model=PINNED,
                ),
                row(
                    account,
                    "generation",
                    "fail" if failing else "pass",
                    "org_verification_required" if failing else "ok",
                    f"POST /v1/images/generations: HTTP 403 — {message}"
                    if failing
                    else "JPEG 1408x480 generated for $0.0017",
                    at,
                    http_status=403 if failing else 200,
                    request_id=f"req_{account}{day:02d}",
                    cost_usd=None if failing else 0.00168,
                    latency_ms=300.0 + day * 10,
                ),
                row(
                    account,
                    "rate_limits",
                    "pass",
                    "headroom_ok",
                    "50 images/min (tier 3)",
                    at,
                    details={
                        "images_per_minute": 50,
                        "tier": 3,
                        "limit_source": "x-ratelimit-limit-requests header",
                        "headers": {
                            "requests": {"limit": 50, "remaining": 49, "reset_raw": "1.2s"}
                        },
                    },
                ),
                row(
                    account,
                    "pricing",
                    "pass",
                    "price_unchanged",
                    "as the baseline",
                    at,
                    details={
                        "source": "https://prices.example/litellm.json",
                        "baseline": {"image_output": "30"},
                        "published": {"image_output": "30"},
                    },
                ),
            ]
        if day in (6, 5):
            rows[-1].status = "fail" if day == 6 else "pass"
            rows[-1].reason = "price_changed" if day == 6 else "price_unchanged"
        if day == 1:
            rows += [usage_row("prod", at), spend_row("prod", at)]
        store.add_results(rows)
        process(store, loaded_config(), rows, at, 0)
    store.beat(
        "monitor-1", "host", 1, "0.1.0", NOW - timedelta(hours=2), NOW - timedelta(seconds=20)
    )
    store.add_silence(
        Silence(
            account="prod",
            check="pricing",
            reason="price review until the new baseline lands",
            created_at=NOW - timedelta(hours=3),
            until=NOW + timedelta(days=1),
        )
    )


def site_view(store: Store) -> SiteView:
    loaded = loaded_config()
    return build(read_page_data(store, loaded, NOW), loaded, NOW)


def site_files(tmp_path: Path) -> dict[str, bytes]:
    store = Store.open(f"sqlite:///{tmp_path / 'golden.db'}")
    fill(store)
    files = render(site_view(store))
    store.close()
    return files


def test_a_fixed_store_and_clock_render_the_golden_site(tmp_path: Path) -> None:
    files = site_files(tmp_path)
    if os.environ.get("IMAGEWATCH_UPDATE_GOLDEN"):
        for relative, content in files.items():
            (GOLDEN / relative).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / relative).write_bytes(content)
    expected = {
        str(p.relative_to(GOLDEN)): p.read_bytes() for p in GOLDEN.rglob("*") if p.is_file()
    }
    assert sorted(files) == sorted(expected)
    for relative, content in files.items():
        assert content == expected[relative], f"{relative} differs from the golden copy"


def test_rendering_twice_is_byte_identical(tmp_path: Path) -> None:
    assert site_files(tmp_path / "a") == site_files(tmp_path / "b")


def test_the_index_says_the_verdict_and_why(tmp_path: Path) -> None:
    index = site_files(tmp_path)["index.html"].decode()
    assert "1 of 2 accounts not ready" in index
    assert "Organization not verified — generation refused with 403" in index
    assert "Verify the organization at" in index
    assert "Monitor running: last heartbeat 2026-11-21 11:59 UTC (1 instance)." in index
    assert " ago" not in index.split("<script>")[0]  # a static page states absolute times
    head = index.split("<body>")[0]
    assert "<link" not in head  # no external stylesheets or fonts


def test_stale_results_are_marked(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    store.add_result(
        row("prod", "model_listing", "pass", "listed", "ok", NOW - timedelta(minutes=11))
    )  # every 5m: stale after 10m
    site = site_view(store)
    cell = site.accounts[0].cells_for("model_listing")[0]
    assert cell.stale
    assert site.accounts[0].ready == "unknown"


def test_status_json_is_versioned_and_complete(tmp_path: Path) -> None:
    status = json.loads(site_files(tmp_path)["status.json"])
    assert status["version"] == 2
    assert status["generated_at"] == "2026-11-21T12:00:00Z"
    assert status["banner"] == {
        "state": "not_ready",
        "headline": "1 of 2 accounts not ready",
        "newest_result_at": "2026-11-21T11:58:00Z",
    }
    assert status["heartbeat"]["state"] == "running"
    assert [(i["account"], i["check"]) for i in status["open_incidents"]] == [("eu", "generation")]
    assert status["silences"] == [
        {
            "account": "prod",
            "check": "pricing",
            "reason": "price review until the new baseline lands",
            "since": "2026-11-21T09:00:00Z",
            "until": "2026-11-22T12:00:00Z",
        }
    ]
    assert [a["name"] for a in status["accounts"]] == ["prod", "eu"]
    eu = status["accounts"][1]
    assert (eu["ready"], eu["tags"], eu["uptime_90d"]) == ("not_ready", ["europe"], 0.92)
    generation = next(c for c in eu["checks"] if c["check"] == "generation")
    assert generation["reason"] == "org_verification_required"
    assert generation["request_id"] == "req_eu01"


HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)> " onmouseover="alert(2)" data-x=\''
)


def test_hostile_api_text_and_account_names_show_as_text(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    fill(store, message=HOSTILE)
    store.add_silence(
        Silence(account="eu", reason=HOSTILE, created_at=NOW, until=NOW + timedelta(hours=1))
    )
    site = site_view(store)
    site.accounts[1].name = "eu"  # a hostile name cannot be configured; see the next test
    site.title = HOSTILE
    files = render(site)
    for name in ("index.html", "accounts/eu.html", "feed.atom", "badges/eu.svg"):
        text = files[name].decode()
        assert '<script>alert("x")' not in text, name  # the page's own script is not the API's
        assert "<img src=x" not in text, name
        assert '" onmouseover="' not in text, name
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in files["accounts/eu.html"].decode()
    assert json.loads(files["status.json"])["title"] == HOSTILE  # JSON: data, not markup


def test_an_account_name_that_is_not_a_safe_file_name_is_refused(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'n.db'}")
    site = site_view(store)
    site.accounts[0].name = '../"><script>'
    with pytest.raises(PublishError, match="cannot name a page"):
        render(site)


def test_publish_swaps_the_site_in_and_leaves_nothing_behind(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    fill(store)
    site_dir = tmp_path / "public"
    report = publish(store, loaded_config(), NOW, site_dir)
    assert report.files == 7  # index, 2 account pages, 2 badges, feed, status.json
    assert (site_dir / "index.html").exists()
    assert (site_dir / "accounts" / "eu.html").exists()
    assert (site_dir / "badges" / "prod.svg").read_text().startswith("<svg")
    publish(store, loaded_config(), NOW + timedelta(minutes=1), site_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.db", "p.db-shm", "p.db-wal", "public"]


def test_publish_holds_the_garbage_collector_off_and_leaves_it_as_it_found_it(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    fill(store)
    assert gc.isenabled()
    publish(store, loaded_config(), NOW, tmp_path / "public")
    assert gc.isenabled()
    seen = []

    def failing_render() -> None:
        with collector_paused():
            seen.append(gc.isenabled())
            raise PublishError("render failed")

    with pytest.raises(PublishError):
        failing_render()
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # one who held it off keeps it off
    finally:
        gc.enable()


def test_a_failed_render_leaves_the_previous_site_intact(tmp_path: Path) -> None:
    site_dir = tmp_path / "public"
    write_atomically({"index.html": b"previous"}, site_dir)
    broken = {"index.html": b"new", "accounts": b"a file", "accounts/x.html": b"cannot"}
    with pytest.raises(PublishError, match="previous site is untouched"):
        write_atomically(broken, site_dir)
    assert (site_dir / "index.html").read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["public"]


def test_publish_command_writes_the_site(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    fill(store)
    store.close()
    config = tmp_path / "imagewatch.toml"
    config.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{tmp_path / "c.db"}"\n'
        f'site_dir = "{tmp_path / "site"}"\n[[accounts]]\nname = "prod"\n'
        'api_key_env = "KEY"\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "publish", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "KEY": "sk-x-1234567890"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"published 5 files to {tmp_path / 'site' / 'index.html'}"


def test_an_installed_wheel_finds_its_templates(tmp_path: Path) -> None:
    """The wheel installs site/ as `imagewatch_site` beside `monitor`: no checkout needed."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    installed = tmp_path / "site-packages"
    for package in ("monitor", "checks"):
        shutil.copytree(root / package, installed / package)
    shutil.copytree(root / "site", installed / "imagewatch_site")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import inspect; from monitor.page.render import site_root;"
            " print(inspect.getfile(site_root)); print(site_root())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # not the checkout: `-c` puts the working directory on sys.path
        env={"PYTHONPATH": str(installed), "PATH": os.environ.get("PATH", "")},
    )
    assert run.returncode == 0, run.stderr
    module, found = run.stdout.split()
    assert module.startswith(str(installed))
    assert found == str(installed / "imagewatch_site")
