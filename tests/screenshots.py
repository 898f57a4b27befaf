"""Screenshots of the demo's status page for the README: 1400 and 390 px wide, light and
dark, into site/screenshots/.

Regenerate them (after the page or the demo changes) with one command, from the checkout:

    python -m tests.screenshots

It runs `imagewatch demo` in a temporary folder, opens the published index in headless
Chromium (Debian's, as the browser test does) and writes index-<width>-<scheme>.png. The
first screen of each is kept, not the whole page, in a 128-colour palette, so the four stay
a few hundred KB together.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).parents[1] / "site" / "screenshots"
SHOTS = [(1400, 900), (390, 844)]
SCHEMES = ("light", "dark")


def small(path: Path) -> None:
    """Rewrite a screenshot with a 128-colour palette: a third of the size, and text and
    chips stay sharp (the page has few colours)."""
    from PIL import Image

    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    palette.save(path, optimize=True)


def shoot(browser: Any, site: Path, out: Path) -> list[Path]:
    """Screenshot `site`'s index at each width and colour scheme; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for width, height in SHOTS:
        for scheme in SCHEMES:
            context = browser.new_context(
                viewport={"width": width, "height": height}, color_scheme=scheme
            )
            page = context.new_page()
            page.goto((site / "index.html").as_uri())
            path = out / f"index-{width}-{scheme}.png"
            page.screenshot(path=str(path))
            context.close()
            small(path)
            written.append(path)
    return written


def main() -> int:
    from playwright.sync_api import sync_playwright

    from tests.test_page_browser import CHROMIUM_FLAGS

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.stderr.write("error: chromium is not installed (apt-get install chromium)\n")
        return 2
    with tempfile.TemporaryDirectory() as folder:
        demo = subprocess.run(
            [sys.executable, "-m", "monitor", "demo", "--dir", folder],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if demo.returncode not in (0, 1):  # 1: a scenario mismatch still publishes a page
            sys.stderr.write(demo.stderr)
            return 2
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            for path in shoot(browser, Path(folder) / "public", OUT):
                sys.stdout.write(f"{path} {path.stat().st_size // 1024} KB\n")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
