from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from checks import REGISTRY
from checks.base import Account, Evidence, Outcome, ProbeContext
from monitor.clock import FrozenClock
from monitor.store import Store, make_engine

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://api.openai.test/v1"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def error_fixture(name: str) -> bytes:
    return fixture_bytes(f"errors/{name}")


def make_account(**overrides: Any) -> Account:
    values: dict[str, Any] = {
        "name": "prod",
        "base_url": BASE,
        "api_key": "sk-proj-test-secret-abcd1234",
        "models": ("gpt-image-2",),
        "snapshots": ("gpt-image-2-2026-04-21",),
    }
    values.update(overrides)
    return Account(**values)


def image_b64(width: int, height: int, fmt: str = "JPEG") -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 200, 200)).save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


def generation_body(
    width: int = 1408, height: int = 480, output_tokens: int = 54, **extra: Any
) -> dict[str, Any]:
    body = {
        "created": 1776400000,
        "data": [{"b64_json": image_b64(width, height)}],
        "background": "opaque",
        "output_format": "jpeg",
        "quality": "low",
        "size": f"{width}x{height}",
        "usage": {
            "input_tokens": 12,
            "output_tokens": output_tokens,
            "total_tokens": 12 + output_tokens,
            "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
        },
    }
    body.update(extra)
    return body


class Api:
    """A scripted OpenAI API at the HTTP seam: answers per (method, path), in order; the
    last answer repeats. Records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[httpx.Response | Exception]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: httpx.Response | Exception) -> Api:
        self.routes[(method, path)] = list(answers)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(
                404,
                json={
                    "error": {
                        "message": "no route in test",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def raw_response(
    status: int,
    content: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(
        status, content=content, headers={"content-type": content_type, **(headers or {})}
    )


def run_check(
    check: str,
    api: Api,
    *,
    model: str = "gpt-image-2",
    account: Account | None = None,
    settings: dict[str, Any] | None = None,
    evidence: Evidence | None = None,
    sleeps: list[float] | None = None,
) -> Outcome:
    async def record_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def go() -> Outcome:
        async with api.client() as client:
            ctx = ProbeContext(
                client=client,
                account=account or make_account(),
                model=model,
                settings=settings or {},
                clock=FrozenClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
                evidence=evidence or Evidence(),
                sleep=record_sleep,
            )
            return await REGISTRY[check].run(ctx)

    return asyncio.run(go())


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedSimulator:
    """The simulator under uvicorn on 127.0.0.1, in a thread, for real-HTTP tests."""

    def __init__(self, app: Any = None) -> None:
        import uvicorn

        from monitor.simulator import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app or create_app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # A client some test left connected must not hold the session's end for long.
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sim/reset", timeout=5).raise_for_status()

    def control(self, name: str, **changes: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/_sim/accounts/{name}", json=changes, timeout=5)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="session")
def served_simulator() -> Iterator[ServedSimulator]:
    simulator = ServedSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(served_simulator: ServedSimulator) -> ServedSimulator:
    served_simulator.reset()
    return served_simulator


Handler = Callable[[httpx.Request], httpx.Response]


def worker_database_url(url: str | None, worker: str | None) -> str | None:
    """The PostgreSQL database of one pytest-xdist worker: the configured database's name
    with the worker's id appended (`imagewatch_test_gw0`), since every test empties the
    database it uses; the configured one itself when the run is not split over workers."""
    if not url or not worker:
        return url
    base = make_url(url)
    return base.set(database=f"{base.database}_{worker}").render_as_string(hide_password=False)


CONFIGURED_PG_URL = os.environ.get("IMAGEWATCH_TEST_DATABASE_URL")
PG_URL = worker_database_url(CONFIGURED_PG_URL, os.environ.get("PYTEST_XDIST_WORKER"))


WORKERS = 4  # measured on the 2-core machine (2, 3 and 4): beat 2 and 3 while others load it


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`pytest` runs on WORKERS pytest-xdist workers unless told otherwise: `-n 0` (or
    `-p no:xdist`, or `--pdb`) runs in one process, `-n N` on N workers."""
    option = config.option
    if not hasattr(option, "numprocesses"):
        return  # pytest-xdist is off
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        # A worker parses the command line again, without the distribution chosen here; it
        # must know it to send each test's group along (see pytest_configure_node).
        option.loadgroup = option.loadgroup or workerinput.get("dist") == "loadgroup"
        return
    if option.numprocesses is None and option.dist == "no" and not option.usepdb:
        option.numprocesses = WORKERS
    if option.numprocesses and option.dist == "no":
        option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tells each pytest-xdist worker the distribution pytest_cmdline_main chose."""
    node.workerinput["dist"] = node.config.option.dist


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), a module whose tests share a module-scoped
    fixture (the demo, Chromium, `imagewatch simulate`, the hostile rounds) runs whole on one
    worker, so that fixture starts once; every other test goes to whichever worker is free."""

    def module_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    def shares_a_module_fixture(item: pytest.Item) -> bool:
        info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the item's fixtures
        found = info.name2fixturedefs.values() if info is not None else ()
        return any(defs and defs[-1].scope == "module" for defs in found)

    grouped = {module_of(item) for item in items if shares_a_module_fixture(item)}
    for item in items:
        if module_of(item) in grouped:
            # The name ends each test's id in reports (`…::test_x@test_cli`): kept short.
            item.add_marker(pytest.mark.xdist_group(Path(module_of(item)).stem))


def pytest_sessionstart(session: pytest.Session) -> None:
    """A worker creates its own database on the first run (the role needs CREATEDB, which
    `.ci/start-postgres` grants); an unreachable server is left for the tests to report."""
    if not CONFIGURED_PG_URL or not PG_URL or PG_URL == CONFIGURED_PG_URL:
        return
    name = make_url(PG_URL).database
    admin = create_engine(CONFIGURED_PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if found is None:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError:
        return
    except ProgrammingError as exc:
        raise pytest.UsageError(
            f"cannot create the worker's database {name}: grant the role CREATEDB "
            f"(.ci/start-postgres does) or run serially with -n 0 ({exc.orig})"
        ) from exc
    finally:
        admin.dispose()


def open_store(backend: str, tmp_path: Path) -> Store:
    """A fresh store: a SQLite file always; PostgreSQL when IMAGEWATCH_TEST_DATABASE_URL is
    set (CI sets it and must not skip)."""
    if backend == "sqlite":
        return Store.open(f"sqlite:///{tmp_path / 'imagewatch.db'}")
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set IMAGEWATCH_TEST_DATABASE_URL to run the PostgreSQL tests")
        pytest.skip("set IMAGEWATCH_TEST_DATABASE_URL to run against PostgreSQL")
    store = Store(make_engine(PG_URL))
    drop_every_table(store.engine)
    store.upgrade_schema()
    return store


def drop_every_table(engine: Engine) -> None:
    """An empty database again: every table goes, the schema's version included."""
    from sqlalchemy import MetaData

    found = MetaData()
    found.reflect(engine)
    found.drop_all(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(request.param, tmp_path)
    yield opened
    opened.close()
