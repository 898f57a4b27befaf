"""Work run in a forked copy of the publishing process, beside the work it goes on with: a
large site renders half of its accounts' pages there, on the second core. A fork, not a
fresh interpreter: the copy starts in milliseconds with the modules, the config and what
was read already in it (a fresh one spent a second importing), and it is asked for only
where a fork is safe: a process running no other thread."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from monitor.page.render import PublishError
from monitor.store import Store
from monitor.store.engine import sqlite_file

T = TypeVar("T")


def can_fork(store: Store) -> bool:
    """Whether this process may fork to read `store` in the copy: no other thread (a lock
    another thread held at the fork stays held for ever in the copy), a system that forks,
    and a database the copy can open again (an in-memory SQLite one lives in this process
    only)."""
    url = store.engine.url
    return (
        threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
        and (url.get_backend_name() != "sqlite" or sqlite_file(url) is not None)
    )


def one_line(exc: BaseException) -> str:
    """An exception as one line of text: its own words, or its kind when it has none."""
    words = " ".join(str(exc).split())
    return words or type(exc).__name__


def _run(work: Callable[[], object], sender: Connection) -> None:
    """The copy's whole life: `work`'s value or its failure in one line, sent back. Never a
    traceback on the terminal (the publishing process says what went wrong)."""
    try:
        try:
            outcome: tuple[str, object] = ("value", work())
        except BaseException as exc:  # Ctrl-C too: the publishing process reports it
            outcome = ("error", one_line(exc))
        sender.send(outcome)
    except BaseException as exc:
        sender.send(("error", f"its result could not be sent back: {one_line(exc)}"))
    finally:
        sender.close()


class Forked(Generic[T]):
    """`work` running in a forked copy of this process from the moment this is made;
    `result` waits for its value. Use as a context manager: leaving the block ends the copy
    if it still runs (the publish failed here), and always waits for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        # daemonic: ended with this process, should it end first
        self._process = context.Process(target=_run, args=(work, sender), daemon=True)
        self._process.start()
        sender.close()  # the copy's end only: its death then reads as the end of the pipe
        self._answered = False

    def result(self) -> T:
        """`work`'s value; PublishError, in one line, when it failed or the copy died."""
        try:
            kind, value = self._receiver.recv()
            self._answered = True
        except EOFError:
            self._process.join()
            raise PublishError(
                "the second rendering process ended without a result "
                f"(exit code {self._process.exitcode})"
            ) from None
        if kind == "error":
            raise PublishError(f"the second rendering process failed: {value}")
        return value  # type: ignore[no-any-return]

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *_: object) -> None:
        if not self._answered:
            self._process.terminate()  # nothing to wait for: this process failed first
        self._process.join()
        self._receiver.close()
