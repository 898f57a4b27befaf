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
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from monitor.config import LoadedConfig
from monitor.page.build import PageData, account_views, read_account_data, read_site_data, site_view
from monitor.page.forked import Forked, can_fork
from monitor.page.render import PublishError, render_accounts, render_index
from monitor.page.views import AccountView
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
SPLIT_FROM = 300
"""From this many accounts, about half of their pages are rendered in a second process (a
fork: see `monitor/page/forked.py`). A thousand accounts' pages take seconds of CPU, and
the two parts run on two cores; a small site is done before the copy would pay for itself."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublishReport:
    site_dir: Path
    files: int
    bytes: int
    processes: int = 1
    """How many processes rendered the site (2 when a large one was split)."""


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


def write_files(files: Mapping[str, bytes], staging: Path) -> None:
    """Write `files` (by relative path) into `staging`, each `FILE_MODE` whatever the umask."""
    folders: set[Path] = set()  # each made once: a large site has two folders, 2,000 files
    for relative, content in files.items():
        target = staging / relative
        if target.parent not in folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with open(handle, "wb") as out:
            os.fchmod(handle, FILE_MODE)  # the mode whatever the umask
            out.write(content)


def seal(staging: Path) -> None:
    """The marker, and every folder `FOLDER_MODE`: the last step before the swap."""
    write_files({MARKER: MARKER_TEXT}, staging)
    for folder, _subfolders, _files in os.walk(staging):
        os.chmod(folder, FOLDER_MODE)


def stage(site_dir: Path) -> Path:
    """A fresh folder beside `site_dir` (absolute, resolved) to write the next site into."""
    parent = site_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise PublishError(
            f"site_dir: cannot write beside {site_dir} ({exc.strerror or exc})"
        ) from None


def discarded(staging: Path, failed: str, exc: OSError) -> PublishError:
    """`staging` removed, and the PublishError saying what `failed` and why."""
    shutil.rmtree(staging, ignore_errors=True)
    return PublishError(
        f"site_dir: {failed} ({exc.strerror or exc}); the previous site is untouched"
    )


@contextlib.contextmanager
def staged(site_dir: Path) -> Iterator[Path]:
    """`stage`, removed again when the block fails (an OSError becomes a PublishError): the
    previous site is untouched."""
    staging = stage(site_dir)
    try:
        yield staging
        seal(staging)
    except OSError as exc:
        raise discarded(staging, f"cannot render into {staging}", exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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
    with staged(site_dir) as staging:
        write_files(files, staging)
    swap_in(staging, site_dir, protected)
    return PublishReport(
        site_dir=site_dir, files=len(files), bytes=sum(len(c) for c in files.values())
    )


def swap_in(staging: Path, site_dir: Path, protected: Sequence[tuple[str, Path]] = ()) -> None:
    """Put the sealed `staging` in the place of `site_dir` (absolute, resolved); on failure
    `staging` is removed and the previous site is untouched."""
    retired = site_dir.parent / f".{site_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}"
    try:
        # Two publishers (two daemons, a daemon and `imagewatch publish`) swap one at a time:
        # interleaved renames made both fail and left a retired folder behind.
        with swap_lock(site_dir.parent):
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
        raise discarded(staging, f"cannot publish to {site_dir}", exc) from None
    shutil.rmtree(retired, ignore_errors=True)


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class Written:
    """What rendering wrote: the accounts' views (for the index), the files and bytes."""

    views: list[AccountView]
    files: int
    bytes: int
    processes: int = 1


def write_accounts(
    staging: Path,
    store: Store,
    loaded: LoadedConfig,
    now: datetime,
    shared: PageData,
    names: Sequence[str] | None,
) -> Written:
    """Read, build, render and write the pages and badges of `names` (None: every account),
    shared data as read already."""
    wanted = None if names is None else frozenset(names)
    data = dataclasses.replace(shared, accounts=read_account_data(store, loaded, now, wanted))
    views = account_views(data, loaded, now, wanted)
    files = render_accounts(site_view(views, data, loaded, now), views)
    write_files(files, staging)
    return Written(views=views, files=len(files), bytes=sum(map(len, files.values())))


def write_accounts_forked(
    staging: Path,
    store: Store,
    loaded: LoadedConfig,
    now: datetime,
    shared: PageData,
    names: Sequence[str],
) -> Written:
    """`write_accounts` in the forked copy: its own connections to the store (SQLAlchemy's
    recipe for a fork: the copy drops the pool it inherited without closing the parent's
    connections), and only what the index needs of each view sent back."""
    store.engine.dispose(close=False)
    written = write_accounts(staging, store, loaded, now, shared, names)
    index_only = [
        dataclasses.replace(view, histories=[], charts=[], traffic=[]) for view in written.views
    ]
    return dataclasses.replace(written, views=index_only)


def render_into(
    staging: Path,
    store: Store,
    loaded: LoadedConfig,
    now: datetime,
    shared: PageData,
    split_from: int | None,
) -> Written:
    """Every file of the site, written into `staging`: the accounts' pages, half of them in
    a forked copy of this process when there are `split_from` accounts or more (its failure
    fails the publish), then the index, the feed and status.json."""
    names = [account.name for account in loaded.accounts]
    split = split_from is not None and len(names) >= max(2, split_from) and can_fork(store)
    if split:
        # the copy takes the larger part: this process renders the index besides
        cut = max(1, len(names) * 9 // 20)
        with Forked(
            lambda: write_accounts_forked(staging, store, loaded, now, shared, names[cut:])
        ) as copy:
            mine = write_accounts(staging, store, loaded, now, shared, names[:cut])
            try:
                theirs = copy.result()
            except PublishError as exc:
                raise PublishError(f"{exc}; the previous site is untouched") from None
        pages = Written(
            views=mine.views + theirs.views,
            files=mine.files + theirs.files,
            bytes=mine.bytes + theirs.bytes,
            processes=2,
        )
    else:
        pages = write_accounts(staging, store, loaded, now, shared, None)
    files = render_index(site_view(pages.views, shared, loaded, now))
    write_files(files, staging)
    return dataclasses.replace(
        pages, files=pages.files + len(files), bytes=pages.bytes + sum(map(len, files.values()))
    )


def publish(
    store: Store,
    loaded: LoadedConfig,
    now: datetime,
    site_dir: Path | None = None,
    *,
    split_from: int | None = SPLIT_FROM,
) -> PublishReport:
    """Read → build → render → write: the site as of `now`, into `site_dir` (default: the
    config's). A site of `split_from` accounts or more renders half of their pages in a
    second process (see `monitor/page/split.py`; None: never)."""
    target = (site_dir or Path(loaded.config.monitor.site_dir)).resolve()
    protected = protected_folders(store, loaded)
    refuse_unowned_waiting(target, protected)  # before reading the store: fail fast
    with collector_paused():
        shared = read_site_data(store, now)
        with staged(target) as staging:
            written = render_into(staging, store, loaded, now, shared, split_from)
    swap_in(staging, target, protected)
    return PublishReport(
        site_dir=target, files=written.files, bytes=written.bytes, processes=written.processes
    )
