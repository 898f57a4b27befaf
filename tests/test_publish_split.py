"""A large site renders half of its accounts' pages in a forked copy of the publishing
process: the same files as one process writes, and a failure in the copy fails the publish
in one line and leaves the previous site as it was."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from monitor.config import LoadedConfig, parse
from monitor.page import PublishError, PublishReport, publish
from monitor.page.forked import Forked
from monitor.page.render import status_text
from monitor.store import Store
from tests.test_publish import NOW, PINNED, fill

# the second half of the accounts (eu) probes a capability: the first half's pages show the
# capability matrix all the same
EU_DOORS = {"capabilities": ["edit"]}


def loaded_config(database: Path) -> LoadedConfig:
    accounts = [
        {"name": name, "api_key_env": "KEY", "snapshots": [PINNED], "tags": [tag]}
        for name, tag in (("prod", "us"), ("eu", "europe"))
    ]
    accounts[0].update(project="proj_prod", admin_key_env="ADMIN_KEY")
    accounts[1].update(EU_DOORS)
    return parse(
        {"monitor": {"database_url": f"sqlite:///{database}"}, "accounts": accounts},
        {"KEY": "sk-test-0000000011112222", "ADMIN_KEY": "sk-admin-test-0000111122223333"},
    )


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[tuple[LoadedConfig, Store]]:
    loaded = loaded_config(tmp_path / "data" / "site.db")
    store = Store.open(loaded.config.monitor.database_url)
    fill(store)
    yield loaded, store
    store.close()


def publish_here(
    loaded: LoadedConfig, site_dir: Path, moved: tuple[Path, Path] | None
) -> PublishReport:
    store = Store.open(loaded.config.monitor.database_url)
    try:
        if moved is not None:
            # The database's folder moves away: this process reads on through the
            # connection it holds; the copy opens the database again, by its path, and cannot.
            store.latest_per_pair()
            moved[0].rename(moved[1])
        return publish(store, loaded, NOW, site_dir, split_from=2)
    finally:
        store.close()


def publish_fresh(
    loaded: LoadedConfig, site_dir: Path, moved: tuple[Path, Path] | None = None
) -> PublishReport:
    """A publish split from two accounts on, in a fresh process running no other thread, as
    `imagewatch publish` and the daemon's publish process are (this one runs the threads
    of other tests' servers, and a process with threads renders alone)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(publish_here, loaded, site_dir, moved).result()


def site_files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_split_publish_writes_the_files_one_process_writes(
    tmp_path: Path, filled: tuple[LoadedConfig, Store]
) -> None:
    loaded, store = filled
    alone = publish(store, loaded, NOW, tmp_path / "alone", split_from=None)
    split = publish_fresh(loaded, tmp_path / "split")
    assert (alone.processes, split.processes) == (1, 2)
    assert (split.files, split.bytes) == (alone.files, alone.bytes)
    files = site_files(tmp_path / "split")
    assert files == site_files(tmp_path / "alone")
    assert b'id="capabilities"' in files["accounts/prod.html"]
    assert json.loads(files["status.json"])["capabilities"][0]["account"] == "prod"


def test_a_failure_in_the_second_process_fails_the_publish_in_one_line_leaving_the_old_site(
    tmp_path: Path, filled: tuple[LoadedConfig, Store]
) -> None:
    loaded, store = filled
    site_dir = tmp_path / "public"
    publish(store, loaded, NOW, site_dir, split_from=None)
    before = site_files(site_dir)
    with pytest.raises(PublishError) as failed:
        publish_fresh(loaded, site_dir, moved=(tmp_path / "data", tmp_path / "moved"))
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("the second rendering process failed: database: unable to open")
    assert message.endswith("the previous site is untouched")
    assert site_files(site_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moved", "public"]  # nothing staged


def test_a_second_process_that_dies_fails_in_one_line_with_its_exit_code() -> None:
    with Forked(lambda: os._exit(3)) as copy, pytest.raises(PublishError) as failed:
        copy.result()
    assert str(failed.value) == "the second rendering process ended without a result (exit code 3)"


def test_a_second_process_sends_back_its_value_or_its_error_in_one_line() -> None:
    with Forked(lambda: {"pages": 500}) as copy:
        assert copy.result() == {"pages": 500}

    def fails() -> None:
        raise ValueError("no such\ntemplate")

    with Forked(fails) as copy, pytest.raises(PublishError) as failed:
        copy.result()
    assert str(failed.value) == "the second rendering process failed: no such template"


def test_leaving_before_the_second_process_answered_ends_it() -> None:
    never = threading.Event()
    with pytest.raises(RuntimeError), Forked(lambda: never.wait(60)) as copy:
        raise RuntimeError("this half failed")
    assert not copy._process.is_alive()
    assert copy._process.exitcode is not None


def test_a_process_running_other_threads_publishes_in_one_process(
    tmp_path: Path, filled: tuple[LoadedConfig, Store]
) -> None:
    loaded, store = filled
    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(60,))
    other.start()
    try:
        report = publish(store, loaded, NOW, tmp_path / "public", split_from=2)
    finally:
        release.set()
        other.join()
    assert report.processes == 1
    assert report.files == 7


def test_an_in_memory_database_publishes_in_one_process(tmp_path: Path) -> None:
    loaded = loaded_config(tmp_path / "unused.db")
    store = Store.open("sqlite://")
    fill(store)
    assert publish(store, loaded, NOW, tmp_path / "public", split_from=2).processes == 1


def test_status_json_is_a_key_a_line_and_an_item_a_line_and_parses_back() -> None:
    document = {
        "version": 2,
        "title": 'Statut "prêt" ✓',
        "accounts": [{"name": "a", "checks": [{"stale": False}]}, {"name": "b", "checks": []}],
        "silences": [],
    }
    text = status_text(document)
    assert json.loads(text) == document
    assert text.splitlines() == [
        "{",
        '  "version": 2,',
        '  "title": "Statut \\"prêt\\" ✓",',
        '  "accounts": [',
        '    {"name": "a", "checks": [{"stale": false}]},',
        '    {"name": "b", "checks": []}',
        "  ],",
        '  "silences": []',
        "}",
    ]
