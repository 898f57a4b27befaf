"""`imagewatch explain`: the error rules as ops read them, and the verdict on one answer.

Everything it is given is hostile input: the body is read up to a cap (a body file may be
huge, binary or /dev/zero) and every string shown from it goes through the same parsing and
cleaning as a probe's answer (`checks.openai_errors.parse_error`, `checks.text.clean`).
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from monitor.cli.helpers import exits, report_error
from monitor.cli.options import json_option

if TYPE_CHECKING:
    from checks.error_rules import Rule

MAX_EXPLAIN_BODY = 1024 * 1024
"""Real error bodies are a few hundred bytes; past this the answer is cut (and said so)."""
MAX_SHOWN_INPUT = 80
AZURE_HEADERS = ("region", "apim_request_id")
"""Azure's own headers (x-ms-region, apim-request-id), shown when the answer carries them."""
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # a header name (RFC 9110 token)


class InputError(Exception):
    """A flag's value that cannot be used: one `error:` line."""


@click.command()
@click.option("--status", "status_text", metavar="CODE", help="HTTP status of the answer.")
@click.option(
    "--body", "body_path", metavar="FILE", help="The answer's body: a file, or - for stdin."
)
@click.option(
    "--header",
    "header_lines",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A header of the answer (repeatable), e.g. 'retry-after: 20'.",
)
@json_option("Print JSON.")
@exits
def explain(
    status_text: str | None, body_path: str | None, header_lines: tuple[str, ...], as_json: bool
) -> int:
    """Print the error rules, or say which rule decides one answer and whether it is retried.

    Without --status: every rule of checks/error_rules.py in the order it is tried (the
    first that matches decides), with what it matches, the reason, why, and the public
    sources it was learned from. With --status (and --body, --header): the rule that decides
    that answer, the reason ops would see with its advice, and what the generation probe
    would do next (retry once, or not at all).
    """
    import json

    if status_text is None:
        if body_path is not None or header_lines:
            return report_error(["--status: required with --body and --header"])
        if as_json:
            click.echo(json.dumps({"rules": rules_listing()}, indent=2))
        else:
            from checks.contract_docs import render_rules

            click.echo(render_rules(), nl=False)
        return 0
    try:
        status = parse_status(status_text)
        headers = parse_header_lines(header_lines)
        body, cut = read_body(body_path)
    except InputError as exc:
        return report_error([str(exc)])
    explained = explanation(status, body, headers, cut=cut)
    click.echo(json.dumps(explained, indent=2) if as_json else render_explanation(explained))
    return 0


def shown(text: str) -> str:
    """A user's input quoted back in an error line: cleaned and short."""
    from checks.text import clean

    cleaned = clean(text)
    return cleaned if len(cleaned) <= MAX_SHOWN_INPUT else cleaned[:MAX_SHOWN_INPUT] + "…"


def parse_status(text: str) -> int:
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit() or not 100 <= int(stripped) <= 599:
        raise InputError(f"--status: {shown(text)!r} is not an HTTP status (100-599)")
    return int(stripped)


def parse_header_lines(lines: tuple[str, ...]) -> dict[str, str]:
    """`name: value` lines as a mapping (the last of a repeated name wins)."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.match(name):
            raise InputError(f"--header: {shown(line)!r} is not 'name: value'")
        headers[name.lower()] = value.strip()
    return headers


def _read(stream: BinaryIO) -> tuple[bytes, bool]:
    data = stream.read(MAX_EXPLAIN_BODY + 1)
    return data[:MAX_EXPLAIN_BODY], len(data) > MAX_EXPLAIN_BODY


def read_body(path: str | None) -> tuple[bytes, bool]:
    """The body (at most MAX_EXPLAIN_BODY bytes) and whether it was cut; none: empty."""
    from pathlib import Path

    if path is None:
        return b"", False
    if path == "-":
        return _read(sys.stdin.buffer)
    try:
        with Path(path).open("rb") as stream:
            return _read(stream)
    except FileNotFoundError:
        raise InputError(f"--body: {shown(path)}: no such file") from None
    except OSError as exc:
        raise InputError(f"--body: {shown(path)}: {exc.strerror or exc}") from None


def source_reference(source: str) -> str:
    """A corpus file as its path in the repository; an address as itself."""
    from checks.contract_docs import CORPUS, is_corpus_file

    return f"{CORPUS}/{source}" if is_corpus_file(source) else source


def rule_facts(rule: Rule) -> dict[str, Any]:
    from checks.contract_docs import describe_statuses
    from checks.error_rules import RULES

    return {
        "number": RULES.index(rule) + 1,
        "name": rule.name,
        "statuses": describe_statuses(rule.statuses),
        "condition": rule.condition(),
        "reason": rule.reason,
        "provider": rule.provider,
        "why": rule.why,
        "sources": [source_reference(s) for s in rule.sources],
    }


def rules_listing() -> list[dict[str, Any]]:
    from checks.error_rules import RULES

    return [rule_facts(rule) for rule in RULES]


def explanation(
    status: int, body: bytes, headers: dict[str, str], *, cut: bool = False
) -> dict[str, Any]:
    """What the classifier and the generation probe make of one answer."""
    from datetime import UTC, datetime

    from checks.generation import MAX_ATTEMPTS, Generation
    from checks.headers import parse_headers
    from checks.openai_errors import match_error, parse_error
    from checks.retries import decide_retry
    from checks.settings import GenerationSettings

    error = parse_error(status, body)
    match = match_error(error)
    reason = match.reason
    # What the probe reads of the headers, as it would at this moment (an HTTP-date
    # retry-after counts from now).
    meta = parse_headers(headers, datetime.now(UTC))
    max_wait = GenerationSettings().max_retry_wait
    decision = decide_retry(status, meta, reason, max_wait)
    return {
        "answer": error.as_dict() | ({"body_cut_at_bytes": MAX_EXPLAIN_BODY} if cut else {}),
        "headers": meta.as_dict(),
        "rule": rule_facts(match.rule),
        "reason": {
            "code": reason.code,
            "status": str(reason.status),
            "words": reason.words,
            "advice": reason.advice,
        },
        "retry": {
            "check": Generation.name,
            "retry": decision.retry,
            "wait_s": decision.wait if decision.retry else None,
            "why": decision.why,
            "requests": MAX_ATTEMPTS if decision.retry else 1,
            "max_retry_wait_s": max_wait,
        },
    }


def render_explanation(explained: dict[str, Any]) -> str:
    answer, rule, reason, retry = (explained[k] for k in ("answer", "rule", "reason", "retry"))
    facts = [f"HTTP {answer['http_status']}"]
    facts += [f"{key} {answer[key]}" for key in ("type", "code", "param") if key in answer]
    if "inner_code" in answer:
        facts.append(f"inner_error.code {answer['inner_code']}")
    facts.append("OpenAI error envelope" if answer["well_formed"] else "not the error envelope")
    if "body_cut_at_bytes" in answer:
        facts.append(f"body cut at {answer['body_cut_at_bytes']} bytes")
    then = f"yes, once, after {retry['wait_s']:g} s" if retry["retry"] else "no"
    lines = [
        ("answer", " · ".join(facts)),
        ("message", answer.get("message") or "(none)"),
        ("rule", f"#{rule['number']} {rule['name']} (statuses {rule['statuses']}; "
                 f"{rule['condition']})"),
        ("reason", f"{reason['code']} ({reason['status']}) — {reason['words']}"),
        ("why", rule["why"]),
        ("advice", reason["advice"] or "—"),
        ("sources", "\n".join(rule["sources"]) or "—"),
        ("retry", f"{then} — {retry['why']} ({retry['check']} probe: "
                  f"{retry['requests']} request{'s' if retry['requests'] > 1 else ''})"),
    ]  # fmt: skip
    azure = [f"{k} {explained['headers'][k]}" for k in AZURE_HEADERS if k in explained["headers"]]
    if azure:
        lines.insert(2, ("azure", " · ".join(azure)))
    width = max(len(label) for label, _ in lines) + 2
    out = []
    for label, text in lines:
        first, *rest = text.splitlines() or [""]
        out.append(f"{label + ':':<{width}}{first}")
        out.extend(" " * width + line for line in rest)
    return "\n".join(out)
