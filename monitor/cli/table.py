"""What `check`, `run --once` and `demo` print for a round: a table that fits the terminal,
numbered notes under it for evidence too long for a cell, and a verdict line per account.

The layout never splits a word and never cuts a URL. Column widths are chosen here, not by
rich: each column is at least as wide as its longest word, and a layout whose words do not
fit the width gives way to a narrower one (wide at 140 columns and above, compact below,
then one stanza per result). Evidence with a URL or a word too long for a cell goes under
the table in full, wrapped only between words. Every string from a result is cleaned, so
no escape sequence from an API answer reaches the terminal.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from checks.base import Verdict
from checks.reasons import is_dependent, words
from checks.text import clean
from monitor.console import STYLE, counts
from monitor.store import ProbeResult

WIDE = 140
"""From this width on, the table has a column for each fact (latency and cost included)."""
CELL_WORD = 24
"""Evidence with a longer word (a URL, an id, a path) goes under the table in full."""
CELL_TEXT = 160
"""Longer evidence goes under the table too: a cell is for a glance."""
NOTE_INDENT = "    "
VERDICT_WORDS = {
    Verdict.READY: "ready",
    Verdict.NOT_READY: "NOT READY",
    Verdict.INCONCLUSIVE: "inconclusive",
}


@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[ProbeResult, str], str]
    """The cell's text from the result and its note reference (`[2]`, or empty)."""
    grows: bool = False
    """Takes the width left over once every column holds its longest word."""


def evidence(row: ProbeResult) -> str:
    """The result's summary and request id, cleaned, in full."""
    text = clean(row.summary).strip()
    if row.request_id:
        text += f" [{clean(row.request_id)}]"
    return text


def summary(row: ProbeResult) -> str:
    return clean(row.summary).strip()


def evidence_cell(row: ProbeResult, ref: str) -> str:
    """The summary when it fits a cell (the request id is in the note); else the note's
    number."""
    text = summary(row)
    return joined(text, ref) if fits_a_cell(text) else f"see {ref}"


def fits_a_cell(text: str) -> bool:
    return len(text) <= CELL_TEXT and all(
        cell_len(word) <= CELL_WORD and "://" not in word for word in text.split()
    )


def status_text(row: ProbeResult) -> str:
    return row.status.upper()


def latency(row: ProbeResult) -> str:
    return f"{row.latency_ms:.0f} ms" if row.latency_ms is not None else "—"


def cost(row: ProbeResult) -> str:
    return f"${row.cost_usd:.4f}" if row.cost_usd else "—"


def joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


WIDE_COLUMNS = (
    Column("Account", lambda r, _: clean(r.account)),
    Column("Check", lambda r, _: r.check),
    Column("Model", lambda r, _: clean(r.model)),
    Column("Status", lambda r, _: status_text(r)),
    Column("Reason", lambda r, _: words(r.reason), grows=True),
    Column("Evidence", evidence_cell, grows=True),
    Column("Latency", lambda r, _: latency(r)),
    Column("Cost", lambda r, _: cost(r)),
)
COMPACT_COLUMNS = (
    Column("Account", lambda r, _: clean(r.account)),
    Column("Check · model", lambda r, _: f"{r.check}\n{clean(r.model)}"),
    Column("Status", lambda r, _: status_text(r)),
    Column("Reason", lambda r, ref: joined(words(r.reason), ref), grows=True),
)


def notes_for(results: Sequence[ProbeResult], wide: bool) -> dict[int, str]:
    """Result index → its note's text: the evidence in full, with the request id, of every
    result that did not pass and, when wide, of any whose summary does not fit a cell."""
    found: dict[int, str] = {}
    for index, row in enumerate(results):
        text = evidence(row)
        if text and (row.status != "pass" or (wide and not fits_a_cell(summary(row)))):
            found[index] = text
    return found


def longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def longest_line(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


def column_widths(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int
) -> list[int] | None:
    """Each column's width: its longest word at least, its longest line at most, the
    growing column taking what is left; None when the longest words alone do not fit."""
    overhead = 3 * len(columns) - 3  # a separator and a space either side between columns
    least = [
        max([longest_word(c.header)] + [longest_word(row[i]) for row in cells])
        for i, c in enumerate(columns)
    ]
    most = [
        max([cell_len(c.header)] + [longest_line(row[i]) for row in cells])
        for i, c in enumerate(columns)
    ]
    # A fixed column's widest line is short (a name, a status, a number): it gets it all.
    widths = [most[i] if not c.grows else least[i] for i, c in enumerate(columns)]
    if sum(widths) + overhead > width:
        widths = least
    if sum(widths) + overhead > width:
        return None
    spare = width - overhead - sum(widths)
    growing = [i for i, c in enumerate(columns) if c.grows]
    while spare > 0 and growing:  # shares, until each is whole or no space is left
        share = max(1, spare // len(growing))
        for i in list(growing):
            extra = min(share, most[i] - widths[i], spare)
            widths[i] += extra
            spare -= extra
            if widths[i] >= most[i]:
                growing.remove(i)
    return widths


def table(
    results: Sequence[ProbeResult], columns: Sequence[Column], refs: dict[int, str], width: int
) -> Table | None:
    cells = [[c.cell(r, refs.get(i, "")) for c in columns] for i, r in enumerate(results)]
    widths = column_widths(columns, cells, width)
    if widths is None:
        return None
    grid = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", expand=False
    )
    for column, size in zip(columns, widths, strict=True):
        grid.add_column(column.header, width=size, overflow="fold")
    for row, line in zip(results, cells, strict=True):
        styled = [Text(text) for text in line]
        styled[[c.header for c in columns].index("Status")].stylize(STYLE.get(row.status, ""))
        grid.add_row(*styled)
    return grid


def wrapped(text: str, width: int, indent: str = NOTE_INDENT) -> list[str]:
    """Lines of at most `width` cells, broken only between words (a longer word, such as a
    URL, stands whole on a line of its own)."""
    return textwrap.wrap(
        text,
        width=max(20, width),
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [""]


def stanza(row: ProbeResult, ref: str) -> str:
    head = f"{clean(row.account)} · {row.check} · {clean(row.model)}"
    return joined(f"{head}: {status_text(row)}", f"— {words(row.reason)}", ref)


def render(results: Sequence[ProbeResult], console: Console) -> None:
    """The results as a table (or stanzas, when no table fits), the notes, the counts and
    a verdict line per account."""
    width = console.width
    layouts: list[tuple[Sequence[Column], bool]] = [(COMPACT_COLUMNS, False)]
    if width >= WIDE:
        layouts.insert(0, (WIDE_COLUMNS, True))
    grid = None
    notes: dict[int, str] = {}
    refs: dict[int, str] = {}
    for columns, wide in layouts:
        notes = notes_for(results, wide)
        refs = {index: f"[{n}]" for n, index in enumerate(notes, start=1)}
        grid = table(results, columns, refs, width)
        if grid is not None:
            break
    if grid is not None:
        console.print(grid)
    else:
        for index, row in enumerate(results):
            for line in wrapped(stanza(row, refs.get(index, "")), width):
                console.print(Text(line), soft_wrap=True)
    for n, (index, text) in enumerate(notes.items(), start=1):
        row = results[index]
        what = f"[{n}] {clean(row.account)} · {row.check} · {clean(row.model)}: {row.reason} —"
        for line in wrapped(f"{what} {text}", width):
            console.print(Text(line), soft_wrap=True)
    console.print(Text(counts(results)), soft_wrap=True)
    for line in verdict_lines(results, width):
        console.print(Text(line), soft_wrap=True)


def verdicts(results: Sequence[ProbeResult]) -> dict[str, tuple[str, list[ProbeResult]]]:
    """Per account: its verdict in words, and its problems (fails first, then unknowns; not
    an unknown another result explains, such as no headers because generation failed)."""
    by_account: dict[str, list[ProbeResult]] = {}
    for row in results:
        by_account.setdefault(row.account, []).append(row)
    out = {}
    for account, rows in by_account.items():
        verdict = VERDICT_WORDS[Verdict.of(r.status for r in rows)]
        problems = [r for r in rows if r.status == "fail"] + [
            r for r in rows if r.status == "unknown" and not is_dependent(r.reason)
        ]
        out[account] = (verdict, problems)
    return out


def verdict_lines(results: Sequence[ProbeResult], width: int) -> list[str]:
    """One line per account (wrapped between words when long): its verdict and, when it is
    not ready, its first two problems in words."""
    found = verdicts(results)
    if not found:
        return []
    name_width = min(24, max(cell_len(clean(a)) for a in found))
    lines = [""]
    for account, (verdict, problems) in found.items():
        why = "; ".join(f"{p.check}: {words(p.reason)}" for p in problems[:2])
        text = f"  {clean(account):<{name_width}} {verdict}{' — ' + why if why else ''}"
        lines += wrapped(text, width, indent=" " * (name_width + 3))
    return lines
