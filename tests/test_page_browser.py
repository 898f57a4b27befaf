"""The published page in a real browser: headless Chromium (Debian's), opened from disk,
checked for overflow on a phone, dark mode, a page complete without JavaScript, and
accessibility with axe-core (npm's, installed into .ci/node_modules by .ci/run)."""

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
AXE = Path(__file__).parents[1] / ".ci" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ["index.html", "accounts/eu.html", "accounts/prod.html"]  # prod: the traffic charts
LONG_URL = "https://platform.example/settings/" + "x" * 200


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's chromium for the browser test")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def axe_source() -> str:
    if AXE.is_file():
        return AXE.read_text(encoding="utf-8")
    if os.environ.get("CI"):
        pytest.fail(f"CI must install axe-core ({AXE} is missing; see .ci/run)")
    pytest.skip("axe-core is not installed (npm install --prefix .ci --no-save axe-core@4)")


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
    # Hostile text, and an unbroken 200-character URL that must wrap on a phone.
    fill(store, message=f'<script>document.title="owned"</script> refused {LONG_URL}')
    publish(store, loaded_config(), NOW, folder / "public")
    store.close()
    return folder / "public"


def scroll_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("page_path", PAGES)
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
    assert scroll_width(page) <= width  # no sideways scrolling, on a phone either
    table = page.locator("table").first
    assert table.is_visible()
    box = table.bounding_box()
    assert box is not None
    assert 0 <= box["x"] < width
    assert box["x"] + box["width"] <= width
    if page_path == "index.html":
        banner = page.locator(".banner")
        assert banner.is_visible()
        assert "1 of 2 accounts not ready" in banner.inner_text()
        assert "Monitor running" in banner.inner_text()
        # Status never by colour alone: each state carries its word.
        assert page.locator(".chip.s-fail").first.inner_text().strip().endswith("fail")
        # The all-ready group is collapsed, the one with a problem open.
        rows = page.locator("tbody th a")
        assert rows.filter(has_text="eu").first.is_visible()
        assert not rows.filter(has_text="prod").first.is_visible()
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert scroll_width(page) <= width  # nor with every group and advice open
    ARTIFACTS.mkdir(exist_ok=True)
    name = page_path.replace("/", "-").removesuffix(".html")
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    context.close()


def test_the_page_is_complete_without_javascript(browser: Any, site: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((site / "index.html").as_uri())
    text = page.locator(".banner").inner_text()
    assert "Newest result: 2026-11-21 11:58 UTC." in text
    assert "ago" not in text
    # The advice of a failing cell is one click away, without a script.
    advice = page.get_by_text("What to do: Verify the organization")
    assert not advice.is_visible()
    page.locator(".why summary").first.click()
    assert advice.is_visible()
    context.close()


def test_the_script_adds_relative_times_in_the_readers_browser(browser: Any, site: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto((site / "index.html").as_uri())
    first = page.locator(".banner time").first.inner_text()
    assert first.startswith("2026-11-21 11:58 UTC (")
    assert first.endswith(" ago)")
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


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("page_path", PAGES)
def test_axe_finds_no_serious_or_critical_violations(
    browser: Any, site: Path, page_path: str, scheme: str
) -> None:
    source = axe_source()
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto((site / page_path).as_uri())
    page.add_script_tag(content=source)
    # Open every <details> so axe judges the collapsed groups and the advice too.
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    context.close()


def test_the_readme_screenshots_are_made_at_both_widths_light_and_dark(
    browser: Any, site: Path, tmp_path: Path
) -> None:
    from PIL import Image

    from tests.screenshots import shoot

    written = shoot(browser, site, tmp_path)
    assert sorted(p.name for p in written) == [
        "index-1400-dark.png",
        "index-1400-light.png",
        "index-390-dark.png",
        "index-390-light.png",
    ]
    for path in written:
        with Image.open(path) as image:
            assert image.width == int(path.name.split("-")[1])
    committed = Path(__file__).parents[1] / "site" / "screenshots"
    assert {p.name for p in committed.glob("*.png")} == {p.name for p in written}
    assert sum(p.stat().st_size for p in committed.glob("*.png")) < 400_000


def test_a_link_shows_only_the_accounts_not_ready_without_a_script(
    browser: Any, site: Path
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((site / "index.html").as_uri())
    groups = page.locator("details.group")
    assert groups.count() == 2
    page.get_by_role("link", name="only those not ready or unknown").click()
    assert page.locator("details.group:visible").count() == 1
    assert page.locator("tbody th a:visible").all_inner_texts() == ["eu"]
    page.get_by_role("link", name="all accounts").click()
    assert page.locator("details.group:visible").count() == 2
    context.close()
