"""What a user can get wrong must not cost them data, and no error is a traceback: `publish`
replaces only a folder it owns, with files a web server can read; a broken or unreachable
database is one `error:` line, its password hidden; the database password can come from the
environment."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from checks.base import SystemClock
from checks.model_listing import ModelListing
from monitor.config import ConfigError, parse
from monitor.daemon import Daemon
from monitor.page import PublishError, write_atomically
from monitor.scheduler import serve
from monitor.simulator.scenarios import scenario
from monitor.store import ProbeResult, Store, StoreError, make_engine
from tests.conftest import PG_URL, ServedSimulator, drop_every_table, free_port

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MARKER = ".imagewatch-site"  # the file name the README documents
CANARY = "Canary-Pass-7f3a9e"  # a database password that must never be shown


def content(path: Path) -> bytes:
    """A file's bytes; a SQLite database's rows (opening one rewrites its header's change
    counter, which is no change to what it holds)."""
    if path.suffix != ".db":
        return path.read_bytes()
    with contextlib.closing(sqlite3.connect(path)) as db:
        return "\n".join(db.iterdump()).encode()


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under `folder`: its content's hash and its mode."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        if path.name.endswith(("-wal", "-shm")):
            continue  # SQLite's own, while a database is open
        digest = "" if path.is_dir() else hashlib.sha256(content(path)).hexdigest()
        seen[str(path.relative_to(folder))] = (digest, path.stat().st_mode)
    return seen


def a_result(finished_at: datetime = NOW) -> ProbeResult:
    return ProbeResult(
        account="prod",
        check="model_listing",
        model="gpt-image-2",
        status="pass",
        reason="listed",
        summary="gpt-image-2 listed",
        details={},
        started_at=finished_at - timedelta(seconds=1),
        finished_at=finished_at,
    )


def setup_folder(folder: Path, site_dir: str, database_url: str | None = None) -> Path:
    """`imagewatch.toml` and a database with results in `folder`; returns the config."""
    folder.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{folder / 'imagewatch.db'}"
    if database_url is None:
        store = Store.open(url)
        store.add_results([a_result(NOW - timedelta(minutes=m)) for m in range(40)])
        store.close()
    config = folder / "imagewatch.toml"
    config.write_text(
        f'[monitor]\ndatabase_url = "{url}"\nsite_dir = "{site_dir}"\n'
        f'[[accounts]]\nname = "prod"\nbase_url = "http://127.0.0.1:{free_port()}/v1"\n'
        'api_key_env = "KEY"\n',
        encoding="utf-8",
    )
    return config


def imagewatch(
    *args: str, cwd: Path, home: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "HOME": str(home or cwd),
        "KEY": "sk-test-0000000011112222",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def assert_one_error_line(run: subprocess.CompletedProcess[str], *words: str) -> str:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]
    return lines[0]


# --- publish replaces only what it owns ------------------------------------------------


@pytest.mark.parametrize(
    ("site_dir", "flag", "cwd", "why"),
    [
        ("", None, "ops", "it is the database's folder"),
        ("public", ".", "ops", "it is the database's folder"),
        ("public", "..", "ops", "it holds the database's folder"),
        ("{etc}", None, "work", "it is the config file's folder"),
        ("public", "{tmp}/work", "work", "it is the working folder"),
        ("public", "/", "work", "it is the root folder"),
        ("public", "{home}", "work", "it is the home folder"),
        ("public", "{ops}/imagewatch.db", "work", "it is a file"),
        ("public", "{tmp}/notes", "work", "it is not empty and holds no .imagewatch-site marker"),
    ],
)
def test_publish_refuses_a_site_dir_it_does_not_own_and_changes_nothing(
    tmp_path: Path, site_dir: str, flag: str | None, cwd: str, why: str
) -> None:
    """The database and its results in ops/, the config in etc/."""
    places = {name: str(tmp_path / name) for name in ("ops", "etc", "home", "work")}
    places["tmp"] = str(tmp_path)
    config = setup_folder(tmp_path / "ops", site_dir.format(**places))
    for folder in ("etc", "home", "work", "notes"):
        (tmp_path / folder).mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    config = config.rename(tmp_path / "etc" / config.name)
    before = snapshot(tmp_path)
    args = ["publish", "--config", str(config)]
    if flag is not None:
        args += ["--site-dir", flag.format(**places)]
    run = imagewatch(*args, cwd=tmp_path / cwd, home=tmp_path / "home")
    assert_one_error_line(run, "error: site_dir: will not replace", why)
    assert snapshot(tmp_path) == before


def test_publish_adopts_an_empty_folder_and_marks_every_site_it_writes(tmp_path: Path) -> None:
    config = setup_folder(tmp_path, str(tmp_path / "www"))
    (tmp_path / "www").mkdir()
    run = imagewatch("publish", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "www" / MARKER).is_file()
    assert (tmp_path / "www" / "index.html").is_file()
    (tmp_path / "www" / "robots.txt").write_text("added by hand: the folder is imagewatch's")
    run = imagewatch("publish", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "www" / "robots.txt").exists()


def test_publish_adopts_a_site_an_earlier_release_wrote_but_nothing_more(tmp_path: Path) -> None:
    config = setup_folder(tmp_path, str(tmp_path / "public"))
    earlier = tmp_path / "public"
    for name, text in {
        "index.html": "<html>",
        "feed.atom": "<feed/>",
        "status.json": json.dumps({"version": 1, "generated_at": "x", "accounts": []}),
        "accounts/prod.html": "<html>",
        "badges/prod.svg": "<svg/>",
    }.items():
        (earlier / name).parent.mkdir(parents=True, exist_ok=True)
        (earlier / name).write_text(text)
    (earlier / "accounts" / "notes.txt").write_text("not a page")
    before = snapshot(tmp_path)
    assert_one_error_line(
        imagewatch("publish", "--config", str(config), cwd=tmp_path), "holds no .imagewatch-site"
    )
    assert snapshot(tmp_path) == before
    (earlier / "accounts" / "notes.txt").unlink()
    run = imagewatch("publish", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (earlier / MARKER).is_file()


def test_site_files_are_readable_by_a_web_server_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_atomically({"index.html": b"<html>", "accounts/prod.html": b"<html>"}, tmp_path / "s")
    finally:
        os.umask(previous)
    modes = {str(p.relative_to(tmp_path)): p.stat().st_mode & 0o777 for p in tmp_path.rglob("*")}
    assert modes == {
        "s": 0o755,
        "s/accounts": 0o755,
        "s/accounts/prod.html": 0o644,
        "s/index.html": 0o644,
        f"s/{MARKER}": 0o644,
    }


def test_write_atomically_refuses_a_protected_folder_before_touching_the_disk(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(PublishError, match="it holds the database's folder"):
        write_atomically(
            {"index.html": b"x"}, tmp_path, [("the database's folder", tmp_path / "data")]
        )
    assert snapshot(tmp_path) == before


def unshared(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`script` in a private user and mount namespace: a read-only or full file system
    for the test, with no privilege, gone when the script ends."""
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode
    ):
        pytest.skip("needs unshare with user namespaces")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "HOME": str(tmp_path),
            "KEY": "sk-test-0000000011112222",
        },
    )


def test_a_read_only_site_folder_is_one_line_and_the_previous_site_stays(tmp_path: Path) -> None:
    www = tmp_path / "www"
    config = setup_folder(tmp_path / "ops", str(www / "site"))
    assert imagewatch("publish", "--config", str(config), cwd=tmp_path).returncode == 0
    before = snapshot(www)
    run = unshared(
        f"mount --bind {www} {www} && mount -o remount,bind,ro {www} && "
        f"exec {sys.executable} -m monitor publish --config {config}",
        tmp_path,
    )
    assert_one_error_line(run, "site_dir: cannot write beside", "Read-only file system")
    assert snapshot(www) == before


def test_a_full_disk_under_the_site_is_one_line_and_the_previous_site_stays(
    tmp_path: Path,
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    config = setup_folder(tmp_path / "ops", str(www / "site"))
    run = unshared(
        f"mount -t tmpfs -o size=16k tmpfs {www} && mkdir {www}/site && "
        f"echo previous > {www}/site/index.html && touch {www}/site/{MARKER} && "
        f"(head -c 65536 /dev/zero > {www}/filler) 2>/dev/null; "
        f"{sys.executable} -m monitor publish --config {config}; "
        f"echo exit=$?; cat {www}/site/index.html; ls -A {www}",
        tmp_path,
    )
    err = run.stderr.strip().splitlines()
    assert len(err) == 1, run.stderr
    assert err[0].startswith("error: site_dir: cannot render")
    assert "No space left on device" in err[0]
    assert "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    assert lines[:4] == ["exit=2", "previous", "filler", "site"]


# --- a broken database is one line -------------------------------------------------------


def corrupt(database: Path) -> str:
    """Garbage over every page but the first (the schema stays readable, the rows do not);
    returns the file's hash afterwards."""
    size = database.stat().st_size
    assert size > 8 * 4096, "the database must span several pages"
    with database.open("r+b") as file:
        file.seek(4096)
        file.write(bytes(range(256)) * ((size - 4096) // 256))
    return hashlib.sha256(database.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", [["publish"], ["check"], ["run", "--once"]])
def test_a_corrupted_sqlite_file_is_one_error_line_and_is_left_as_it_was(
    tmp_path: Path, command: list[str]
) -> None:
    config = setup_folder(tmp_path, str(tmp_path / "public"))
    database = tmp_path / "imagewatch.db"
    store = Store.open(f"sqlite:///{database}")
    store.add_results([a_result(NOW - timedelta(hours=h)) for h in range(400)])
    store.close()
    hashed = corrupt(database)
    run = imagewatch(*command, "--config", str(config), cwd=tmp_path)
    assert_one_error_line(run, "error: database", "malformed", str(database))
    assert hashlib.sha256(database.read_bytes()).hexdigest() == hashed
    assert not (tmp_path / "public").exists()


@pytest.mark.parametrize("command", ["publish", "check", "prune"])
def test_a_database_url_whose_port_is_not_a_number_is_one_line_without_its_password(
    tmp_path: Path, command: str
) -> None:
    url = f"postgresql+psycopg://ops:{CANARY}@localhost:notaport/imagewatch"
    config = setup_folder(tmp_path, "public", database_url=url)
    line = assert_one_error_line(
        imagewatch(command, "--config", str(config), cwd=tmp_path),
        "error: database_url: cannot parse",
        "the port is not a number",
        "postgresql+psycopg://ops:***@localhost:notaport/imagewatch",
    )
    assert CANARY not in line


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://ops:{CANARY}@127.0.0.1:{free_port()}/imagewatch"
    config = setup_folder(tmp_path, "public", database_url=url)
    run = imagewatch("check", "--config", str(config), cwd=tmp_path)
    line = assert_one_error_line(run, "error: database: connection failed", "ops:***@127.0.0.1")
    assert CANARY not in line + run.stdout


def test_a_database_failing_mid_query_is_a_store_error_naming_the_database(
    tmp_path: Path,
) -> None:
    database = tmp_path / "x.db"
    store = Store.open(f"sqlite:///{database}")
    store.add_results([a_result(NOW - timedelta(hours=h)) for h in range(400)])
    store.engine.dispose()
    corrupt(database)
    with pytest.raises(StoreError, match=r"^database: .*malformed \(sqlite:///"):
        store.latest_per_pair()
    with pytest.raises(StoreError, match=r"^database: could not store results: .*malformed"):
        store.add_result(a_result())
    store.close()


# --- the database password from the environment ------------------------------------------


def password_config(url: str, environ: dict[str, str]) -> str:
    data = {
        "monitor": {"database_url": url, "database_password_env": "IMAGEWATCH_DB_PASSWORD"},
        "accounts": [{"name": "prod", "api_key_env": "KEY"}],
    }
    loaded = parse(data, {"KEY": "sk-test-0000000011112222", **environ})
    assert loaded.database_password in loaded.secrets
    return loaded.config.monitor.database_url


def test_the_database_password_can_come_from_the_environment() -> None:
    password = "p@ss:w/rd %2F é"
    url = password_config(
        "postgresql+psycopg://ops@db.internal:5432/imagewatch",
        {"IMAGEWATCH_DB_PASSWORD": password},
    )
    parsed = make_url(url)
    assert (parsed.username, parsed.password, parsed.host) == ("ops", password, "db.internal")


def test_a_missing_password_variable_or_a_second_password_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as missing:
        password_config("postgresql+psycopg://ops@db/imagewatch", {})
    assert missing.value.problems == [
        "monitor.database_password_env: environment variable IMAGEWATCH_DB_PASSWORD is not set"
    ]
    with pytest.raises(ConfigError) as twice:
        password_config(
            f"postgresql+psycopg://ops:{CANARY}@db/imagewatch", {"IMAGEWATCH_DB_PASSWORD": "x"}
        )
    assert twice.value.problems == [
        "monitor.database_password_env: database_url already holds a password; keep only one "
        "of the two"
    ]
    assert CANARY not in str(twice.value)


def test_a_password_from_the_environment_never_reaches_an_error_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://ops@127.0.0.1:{free_port()}/imagewatch"
    config = setup_folder(tmp_path, "public", database_url=url)
    text = config.read_text().replace(
        "[monitor]\n", '[monitor]\ndatabase_password_env = "IMAGEWATCH_DB_PASSWORD"\n'
    )
    config.write_text(text)
    for command in ("check", "publish", "run"):
        run = imagewatch(
            command, "--config", str(config), cwd=tmp_path, IMAGEWATCH_DB_PASSWORD=CANARY
        )
        line = assert_one_error_line(run, "error: database: connection failed", "ops:***@")
        assert CANARY not in line + run.stdout


@pytest.mark.postgres
def test_publish_reaches_postgresql_with_the_password_from_the_environment(
    tmp_path: Path,
) -> None:
    if not PG_URL:
        pytest.skip("set IMAGEWATCH_TEST_DATABASE_URL to run against PostgreSQL")
    real = make_url(PG_URL)
    assert real.password, "the test database's URL carries its password"
    engine = make_engine(PG_URL)
    drop_every_table(engine)  # whatever an earlier test on this database left
    engine.dispose()
    without = f"{real.drivername}://{real.username}@{real.host}:{real.port}/{real.database}"
    config = setup_folder(tmp_path, str(tmp_path / "public"), database_url=without)
    config.write_text(
        config.read_text().replace(
            "[monitor]\n", '[monitor]\ndatabase_password_env = "IMAGEWATCH_DB_PASSWORD"\n'
        )
    )
    run = imagewatch(
        "publish", "--config", str(config), cwd=tmp_path, IMAGEWATCH_DB_PASSWORD=real.password
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "public" / "index.html").is_file()


def test_the_daemon_logs_a_refused_site_dir_in_one_line_and_keeps_probing(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    foreign = tmp_path / "www"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not imagewatch's")
    before = snapshot(foreign)
    loaded = parse(
        {
            "monitor": {
                "database_url": f"sqlite:///{tmp_path / 'iw.db'}",
                "site_dir": str(foreign),
            },
            "accounts": [
                {"name": "verified", "base_url": f"{simulator.url}/v1", "api_key_env": "KEY"}
            ],
            "checks": {
                "model_listing": {"every": "1s"},
                "pricing": {"source": f"{simulator.url}/_sim/prices/published.json"},
            },
        },
        {"KEY": scenario("verified").api_key},
    )
    store = Store.open(loaded.config.monitor.database_url)
    lines: list[str] = []

    def listings() -> int:
        return sum(1 for r in store.results() if r.check == ModelListing.name)

    async def watch(stop: asyncio.Event) -> None:
        deadline = time.monotonic() + 60
        refused = [line for line in lines if "will not replace" in line]
        while not refused and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            refused = [line for line in lines if "will not replace" in line]
        after = listings()
        while listings() <= after and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()

    async def go() -> None:
        stop = asyncio.Event()
        async with httpx.AsyncClient() as client:
            daemon = Daemon(loaded, store, client, SystemClock(), "a")
            await asyncio.gather(serve(daemon, lines.append, stop=stop), watch(stop))

    asyncio.run(go())
    refused = [line for line in lines if "will not replace" in line]
    assert refused, lines
    assert refused[0].startswith(f"error: publish: site_dir: will not replace {foreign}")
    assert "\n" not in refused[0]
    assert lines[-1] == "stopped"
    assert listings() >= 2  # probing went on after the refusal
    assert snapshot(foreign) == before
    store.close()
