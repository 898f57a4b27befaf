from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.server import HostileServer


@pytest.fixture(scope="session")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()
