"""`imagewatch publish`: read the store, build the views, render them and write the site
into `site_dir`.

The site is rendered into a temporary folder beside `site_dir`, then swapped in, so a crash
mid-render leaves the previous site intact and readers never see half a site. Swapping in
replaces the whole folder, so `publish` only ever replaces a folder it owns: one holding its
marker file, an empty one, or a site a release before the marker wrote. It refuses anything
else, and any folder that holds (or is) the working folder, the home folder, the config
file or the SQLite database, before it touches the disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gc
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from monitor.config import LoadedConfig
from monitor.page.build import build, read_page_data
from monitor.page.render import PublishError, render
from monitor.store import Store
from monitor.store.engine import sqlite_file

MARKER = ".imagewatch-site"
MARKER_TEXT = (
    b"This folder is an imagewatch status site: each `imagewatch publish` replaces all of it.\n"
)
# Served as is by any web server, whatever the umask of the process that published it.
FILE_MODE, FOLDER_MODE = 0o644, 0o755
# What a release before the marker wrote, and nothing else: such a folder is adopted.
EARLIER_SITE_FILES = frozenset({"index.html", "status.json", "feed.atom"})
EARLIER_SITE_FOLDERS = {"accounts": ".html", "badges": ".svg"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublishReport:
    site_dir: Path
    files: int
    bytes: int


def _plain_file(path: Path, suffix: str | None = None) -> bool:
    return path.is_file() and not path.is_symlink() and suffix in (None, path.suffix)


def _plain_folder(folder: Path, suffix: str) -> bool:
    """A real folder of plain `*suffix` files only."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return all(_plain_file(p, suffix) for p in folder.iterdir())


def earlier_site(folder: Path) -> bool:
    """True when `folder` holds exactly a site published before sites carried the marker:
    index.html, status.json (imagewatch's), feed.atom, accounts/*.html, badges/*.svg."""
    names = {p.name for p in folder.iterdir()}
    if not EARLIER_SITE_FILES <= names <= EARLIER_SITE_FILES | set(EARLIER_SITE_FOLDERS):
        return False
    if not all(_plain_file(folder / name) for name in EARLIER_SITE_FILES):
        return False
    for name, suffix in EARLIER_SITE_FOLDERS.items():
        if name in names and not _plain_folder(folder / name, suffix):
            return False
    try:
        status = json.loads((folder / "status.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(status, dict) and {"version", "generated_at", "accounts"} <= set(status)


def refuse_unowned(site_dir: Path, protected: Sequence[tuple[str, Path]]) -> None:
    """PublishError when publishing must not replace `site_dir` (see `refusal`)."""
    refused = refusal(site_dir, protected)
    if refused is not None:
        raise PublishError(
            f"site_dir: will not replace {site_dir}: {refused} (publishing swaps in a whole "
            "new folder; give the site a folder of its own, new or empty)"
        )


def refuse_unowned_waiting(site_dir: Path, protected: Sequence[tuple[str, Path]]) -> None:
    """`refuse_unowned` once no other publisher is swapping into `site_dir`'s folder: mid-swap
    the folder can look foreign for an instant (the marker gone, the next site's files not)."""
    if not site_dir.parent.is_dir():
        refuse_unowned(site_dir, protected)
        return
    with swap_lock(site_dir.parent):
        refuse_unowned(site_dir, protected)


def refusal(site_dir: Path, protected: Sequence[tuple[str, Path]] = ()) -> str | None:
    """Why publishing must not replace `site_dir` (an absolute, resolved path), or None
    when it may. `protected` names folders (the working folder, the config's…) that must
    survive: `site_dir` may be neither one of them nor hold one."""
    if site_dir == Path(site_dir.anchor):
        return "it is the root folder"
    for what, folder in protected:
        if site_dir == folder:
            return f"it is {what}"
        if site_dir in folder.parents:
            return f"it holds {what} ({folder})"
    if not site_dir.exists():
        return None
    if not site_dir.is_dir():
        return "it is a file, not a folder imagewatch published"
    try:
        if (site_dir / MARKER).is_file() or not any(site_dir.iterdir()) or earlier_site(site_dir):
            return None
    except FileNotFoundError:
        return None  # another publisher is swapping it: the check under the lock decides
    return f"it is not empty and holds no {MARKER} marker"


def protected_folders(store: Store, loaded: LoadedConfig) -> list[tuple[str, Path]]:
    """The folders a site must never replace: the SQLite database's, the config file's,
    the working folder and the home folder (the first that matches names a refusal)."""
    folders = []
    database = sqlite_file(store.engine.url)
    if database is not None:
        folders.append(("the database's folder", database.resolve().parent))
    if loaded.path:
        folders.append(("the config file's folder", Path(loaded.path).resolve().parent))
    folders.append(("the working folder", Path.cwd()))
    with contextlib.suppress(RuntimeError):  # no home folder to find
        folders.append(("the home folder", Path.home()))
    return [(what, folder.resolve()) for what, folder in folders]


def _write_files(files: dict[str, bytes], staging: Path) -> None:
    folders: set[Path] = set()  # each made once: a large site has two folders, 2,000 files
    for relative, content in {**files, MARKER: MARKER_TEXT}.items():
        target = staging / relative
        if target.parent not in folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with open(handle, "wb") as out:
            os.fchmod(handle, FILE_MODE)  # the mode whatever the umask
            out.write(content)
    for folder, _subfolders, _files in os.walk(staging):
        os.chmod(folder, FOLDER_MODE)


@contextlib.contextmanager
def swap_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` itself (no lock file left beside the site) while the
    block runs; held only for two renames, so a second publisher waits milliseconds."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def write_atomically(
    files: dict[str, bytes], site_dir: Path, protected: Sequence[tuple[str, Path]] = ()
) -> PublishReport:
    """Write `files` (and the marker) into a fresh folder beside `site_dir`, then swap it
    in; PublishError, with nothing on disk changed, when `site_dir` is not publish's to
    replace (see `refusal`)."""
    site_dir = site_dir.resolve()
    refuse_unowned_waiting(site_dir, protected)
    parent = site_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise PublishError(
            f"site_dir: cannot write beside {site_dir} ({exc.strerror or exc})"
        ) from None
    try:
        _write_files(files, staging)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(
            f"site_dir: cannot render into {staging} "
            f"({exc.strerror or exc}); the previous site is untouched"
        ) from None
    retired = parent / f".{site_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}"
    try:
        # Two publishers (two daemons, a daemon and `imagewatch publish`) swap one at a time:
        # interleaved renames made both fail and left a retired folder behind.
        with swap_lock(parent):
            refuse_unowned(site_dir, protected)  # again: what is there now is replaced
            if site_dir.exists():
                site_dir.rename(retired)
            try:
                staging.rename(site_dir)
            except OSError:
                if retired.exists():
                    retired.rename(site_dir)  # put the previous site back
                raise
    except PublishError:
        shutil.rmtree(staging, ignore_errors=True)
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


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off for the block, then left as it was. A
    thousand accounts' read, build and render make millions of objects that all live until
    the files are written, and every collection walked them again: about half of such a
    publish's CPU (4 of 8 s) went to collections that found some 200 cycles. Holding it off
    does not raise the peak (389 MB either way); those cycles are freed at the next
    collection after the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def publish(
    store: Store, loaded: LoadedConfig, now: datetime, site_dir: Path | None = None
) -> PublishReport:
    """Read → build → render → write: the site as of `now`, into `site_dir` (default: the
    config's)."""
    target = site_dir or Path(loaded.config.monitor.site_dir)
    protected = protected_folders(store, loaded)
    refuse_unowned_waiting(target.resolve(), protected)  # before reading the store: fail fast
    with collector_paused():
        files = render(build(read_page_data(store, loaded, now), loaded, now))
    return write_atomically(files, target, protected)
