"""The published page in a real browser: headless Chromium (Debian's), opened from disk."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.page import publish
from monitor.store import Store
from tests.test_publish import NOW, fill, loaded_config

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's chromium for the browser test")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    store = Store.open(f"sqlite:///{folder / 'page.db'}")
    fill(store, message='<script>document.title="owned"</script> refused')
    publish(store, loaded_config(), NOW, folder / "public")
    store.close()
    return folder / "public"


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("page_path", ["index.html", "accounts/eu.html"])
def test_the_page_renders_cleanly_from_disk(
    browser: Any, site: Path, width: int, page_path: str
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((site / page_path).as_uri())
    page.wait_for_load_state("load")

    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests  # self-contained
    assert page.title() != "owned"  # API text stayed text
    table = page.locator("table").first
    assert table.is_visible()
    box = table.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] < width
    first_row = page.locator("tbody tr").first
    assert first_row.is_visible()
    if page_path == "index.html":
        assert page.get_by_text("1 of 2 accounts ready for gpt-image-2.").is_visible()
        # Status never by colour alone: each state carries its word.
        assert page.locator(".s-fail").first.inner_text().strip().endswith("Fail")
    ARTIFACTS.mkdir(exist_ok=True)
    name = page_path.replace("/", "-").removesuffix(".html")
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    context.close()


def test_dark_mode_changes_the_colours(browser: Any, site: Path) -> None:
    colours = []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto((site / "index.html").as_uri())
        colours.append(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        context.close()
    assert colours[0] != colours[1]
