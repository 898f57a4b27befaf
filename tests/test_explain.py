"""`imagewatch explain`: the rule table, and one answer explained, on real answers of the
corpus (tests/fixtures/openai_answers/) and on hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from checks.contract_docs import render_rules
from checks.error_rules import RULES
from monitor.cli.explain import MAX_EXPLAIN_BODY
from monitor.cli.main import main
from tests.test_real_answers import CORPUS, FILES, body_bytes, expected_requests, load, statuses


def explain(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["explain", *args], input=stdin)


def explained(*args: str, stdin: bytes | None = None) -> dict[str, Any]:
    result = explain(*args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def body_file(tmp_path: Path, content: bytes, name: str = "body") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_explain_without_a_status_prints_every_rule_in_the_order_it_is_tried() -> None:
    result = explain()
    assert result.exit_code == 0
    assert result.stdout == render_rules()
    listing = explained()["rules"]
    assert [r["name"] for r in listing] == [r.name for r in RULES]
    assert [r["number"] for r in listing] == list(range(1, len(RULES) + 1))
    assert all(r["sources"] for r in listing)


def test_explain_names_rule_reason_advice_and_sources_and_never_retries_billing(
    tmp_path: Path,
) -> None:
    name = "billing-not-active-429-ai-research-assistant-174.json"
    body = body_file(tmp_path, json.dumps(load(CORPUS / name)["body"]).encode())
    result = explain("--status", "429", "--body", body)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "answer:  HTTP 429 · type billing_not_active · code billing_not_active · "
        "OpenAI error envelope"
    )
    assert lines[1] == (
        "message: Your account is not active, please check your billing details on our website."
    )
    assert (
        lines[2] == "rule:    #4 billing_not_active_by_code (statuses any; code billing_not_active)"
    )
    assert lines[3].startswith("reason:  billing_not_active (fail) — Billing not active")
    assert lines[5].startswith("advice:  Set up or renew billing")
    assert lines[6] == f"sources: tests/fixtures/openai_answers/{name}"
    assert lines[-1] == (
        "retry:   no — billing_not_active is a fact about the account: waiting does not change "
        "it (generation probe: 1 request)"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_explain_gives_every_real_answer_its_reason_and_the_probes_request_count(
    path: Path, tmp_path: Path
) -> None:
    answer = load(path)
    status = statuses(answer)[0]
    body, _ = body_bytes(answer)
    headers = [f"--header={name}: {value}" for name, value in answer["headers"].items()]
    document = explained("--status", str(status), "--body", body_file(tmp_path, body), *headers)
    assert document["reason"]["code"] == answer["expect"]["reason"]
    assert document["reason"]["status"] == answer["expect"]["status"]
    assert document["retry"]["requests"] == expected_requests(answer, status)
    assert document["rule"]["reason"] == answer["expect"]["reason"]


def test_explain_reads_the_body_from_stdin() -> None:
    body = json.dumps(load(CORPUS / "key-scope-401-trae-agent-162.json")["body"]).encode()
    document = explained("--status", "401", "--body", "-", stdin=body)
    assert (document["rule"]["name"], document["reason"]["code"]) == (
        "key_scope_missing",
        "key_scope_missing",
    )
    assert document["answer"]["http_status"] == 401


@pytest.mark.parametrize(
    ("headers", "retry", "wait", "why"),
    [
        ((), True, 0.5, "HTTP 503 is retried, as the SDK does"),
        (("retry-after-ms: 1200",), True, 1.2, "HTTP 503 is retried, as the SDK does"),
        (("retry-after-ms: 1200", "retry-after: 9"), True, 1.2, "HTTP 503"),
        (("x-should-retry: false",), False, None, "x-should-retry: false"),
        (("Retry-After: 3600",), False, None, "the wait (3600 s) is longer than max_retry_wait"),
    ],
)
def test_explain_says_which_retry_decision_the_probe_takes(
    headers: tuple[str, ...], retry: bool, wait: float | None, why: str
) -> None:
    args = [item for header in headers for item in ("--header", header)]
    document = explained("--status", "503", *args)
    assert (document["retry"]["retry"], document["retry"]["wait_s"]) == (retry, wait)
    assert document["retry"]["why"].startswith(why)
    assert document["retry"]["requests"] == (2 if retry else 1)


def test_a_huge_body_is_read_up_to_the_cap_and_said_to_be_cut(tmp_path: Path) -> None:
    body = body_file(tmp_path, b"x" * (MAX_EXPLAIN_BODY * 3))
    document = explained("--status", "502", "--body", body)
    assert document["answer"]["body_cut_at_bytes"] == MAX_EXPLAIN_BODY
    assert document["reason"]["code"] == "server_error"
    assert len(document["answer"]["message"]) <= 500


def test_a_binary_body_and_escape_sequences_are_cleaned_before_they_are_printed(
    tmp_path: Path,
) -> None:
    binary = body_file(tmp_path, bytes(range(256)) * 4, "binary")
    hostile = json.dumps(
        {"error": {"message": "\x1b]0;owned\x07\x1b[2J\u202eevil\x00", "code": "x\x1b[31m"}}
    ).encode()
    for path in (binary, body_file(tmp_path, hostile, "hostile")):
        result = explain("--status", "403", "--body", path)
        assert result.exit_code == 0, result.output
        for control in ("\x1b", "\x00", "\x07", "\u202e", "\x9b"):
            assert control not in result.stdout


NOT_A_HEADER = "error: --header: {!r} is not 'name: value'"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--status", "abc"), "error: --status: 'abc' is not an HTTP status (100-599)"),
        (("--status", "99"), "error: --status: '99' is not an HTTP status (100-599)"),
        (("--status", "600"), "error: --status: '600' is not an HTTP status (100-599)"),
        (("--status", "٤٠٣"), "error: --status: '٤٠٣' is not an HTTP status (100-599)"),
        (("--status", "4\x1b[2J"), "error: --status: '4\ufffd[2J' is not an HTTP status (100-599)"),
        (("--status", "403", "--header", "no colon"), NOT_A_HEADER.format('no colon')),
        (("--status", "403", "--header", "bad name: x"), NOT_A_HEADER.format('bad name: x')),
        (("--body", "-"), "error: --status: required with --body and --header"),
        (("--header", "a: b"), "error: --status: required with --body and --header"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_line_and_exit_2(args: tuple[str, ...], line: str) -> None:
    result = explain(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [line]


def test_a_missing_or_unreadable_body_file_is_one_error_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative names: the line shortens a long path, and the temporary folder's depth varies
    # (a pytest-xdist worker's is deeper).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    result = explain("--status", "403", "--body", "missing.json")
    assert (result.exit_code, result.stderr) == (2, "error: --body: missing.json: no such file\n")
    folder = explain("--status", "403", "--body", "folder")
    assert (folder.exit_code, folder.stderr) == (2, "error: --body: folder: Is a directory\n")
    assert folder.stdout == ""
