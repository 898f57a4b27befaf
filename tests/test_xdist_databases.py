"""The suite split over pytest-xdist workers: each worker's PostgreSQL database is its own."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from tests.conftest import worker_database_url

CONFIGURED = "postgresql+psycopg://imagewatch:secret@127.0.0.1:5432/imagewatch_test"


def test_each_worker_empties_a_database_of_its_own_named_after_the_configured_one() -> None:
    urls = {worker_database_url(CONFIGURED, worker) for worker in ("gw0", "gw1", "gw2")}
    assert {make_url(url).database for url in urls if url} == {
        "imagewatch_test_gw0",
        "imagewatch_test_gw1",
        "imagewatch_test_gw2",
    }
    first = make_url(worker_database_url(CONFIGURED, "gw0") or "")
    assert (first.username, first.password, first.host, first.port) == (
        "imagewatch",
        "secret",
        "127.0.0.1",
        5432,
    )


def test_a_run_in_one_process_uses_the_configured_database_and_none_stays_none() -> None:
    assert worker_database_url(CONFIGURED, None) == CONFIGURED
    assert worker_database_url(None, "gw0") is None
