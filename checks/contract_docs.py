"""The contract knowledge rendered for people: the table of error rules (what an `explain`
command shows) and the README's table of reason codes. Both are generated from the code, so
the documentation cannot drift from what the classifier does."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from checks.error_rules import RULES, Rule
from checks.reasons import REASONS

CORPUS = "tests/fixtures/openai_answers"


def describe_statuses(statuses: tuple[int, ...] | None) -> str:
    """`any`, `403`, `400, 403`, `500-599`: runs of three or more shown as a range."""
    if statuses is None:
        return "any"
    runs: list[list[int]] = []
    for status in sorted(statuses):
        if runs and status == runs[-1][-1] + 1:
            runs[-1].append(status)
        else:
            runs.append([status])
    return ", ".join(
        f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs
    )


def is_corpus_file(source: str) -> bool:
    """A source that names a file of the corpus of real answers (not an address)."""
    return source.endswith(".json") and "/" not in source


def source_link(source: str, *, short: bool = False) -> str:
    """A Markdown link: corpus files point into the corpus, addresses to themselves; `short`
    labels an address by its site (and repository, on GitHub)."""
    if is_corpus_file(source):
        return f"[{source.removesuffix('.json')}]({CORPUS}/{source})"
    label = re.sub(r"^https?://(www\.)?", "", source).rstrip("/")
    if short:
        parts = urlsplit(source)
        path = parts.path.strip("/").split("/")
        label = parts.netloc + ("/" + "/".join(path[:2]) if parts.netloc == "github.com" else "")
    return f"[{label}]({source})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_rules(rules: tuple[Rule, ...] = RULES) -> str:
    """Every rule in the order it is tried: what it matches, the reason, why, and sources."""
    lines = [
        "| # | rule | statuses | matches | reason | provider | why | sources |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, rule in enumerate(rules, 1):
        cells = (
            str(number),
            f"`{rule.name}`",
            describe_statuses(rule.statuses),
            _cell(rule.condition()),
            f"`{rule.reason}`",
            rule.provider,
            _cell(rule.why),
            " · ".join(source_link(source) for source in rule.sources),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _reason_sources(code: str) -> str:
    sources = [source for rule in RULES if rule.reason == code for source in rule.sources]
    answers = len({source for source in sources if is_corpus_file(source)})
    links = [f"[{answers} real answers]({CORPUS}/README.md)"] if answers else []
    seen: set[str] = set()
    for source in sources:
        link = source_link(source, short=True)
        if not is_corpus_file(source) and link not in seen:
            seen.add(link)
            links.append(link)
    return " · ".join(links)


def reason_table() -> str:
    """The README's "Reason codes" table: every reason with its status, words and advice, and
    where the rules that lead to it were learned."""
    lines = [
        "| reason | status | what it means | what to do | sources |",
        "|---|---|---|---|---|",
    ]
    for reason in REASONS.values():
        cells = (
            f"`{reason.code}`",
            str(reason.status),
            _cell(reason.words),
            _cell(reason.advice),
            _reason_sources(reason.code),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
