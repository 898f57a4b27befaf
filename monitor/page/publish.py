"""`imagewatch publish`: read the store, build the views, render them and write the site
into `site_dir`.

The site is rendered into a temporary folder beside `site_dir`, then swapped in, so a crash
mid-render leaves the previous site intact and readers never see half a site.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from monitor.config import LoadedConfig
from monitor.page.build import build, read_page_data
from monitor.page.render import PublishError, render
from monitor.store import Store


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublishReport:
    site_dir: Path
    files: int
    bytes: int


def write_atomically(files: dict[str, bytes], site_dir: Path) -> PublishReport:
    """Write `files` into a fresh folder beside `site_dir`, then swap it in."""
    site_dir = site_dir.resolve()
    parent = site_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise PublishError(
            f"site_dir: cannot write beside {site_dir} ({exc.strerror or exc})"
        ) from None
    try:
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        os.chmod(staging, 0o755)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(
            f"site_dir: cannot render into {staging} "
            f"({exc.strerror or exc}); the previous site is untouched"
        ) from None
    retired = parent / f".{site_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}"
    try:
        if site_dir.exists():
            site_dir.rename(retired)
        try:
            staging.rename(site_dir)
        except OSError:
            if retired.exists():
                retired.rename(site_dir)  # put the previous site back
            raise
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(
            f"site_dir: cannot publish to {site_dir} "
            f"({exc.strerror or exc}); the previous site is untouched"
        ) from None
    shutil.rmtree(retired, ignore_errors=True)
    return PublishReport(
        site_dir=site_dir, files=len(files), bytes=sum(len(c) for c in files.values())
    )


def publish(
    store: Store, loaded: LoadedConfig, now: datetime, site_dir: Path | None = None
) -> PublishReport:
    """Read → build → render → write: the site as of `now`, into `site_dir` (default: the
    config's)."""
    target = site_dir or Path(loaded.config.monitor.site_dir)
    site = build(read_page_data(store, loaded, now), loaded, now)
    return write_atomically(render(site), target)
