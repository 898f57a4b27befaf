"""Every answer of the corpus of real answers (tests/fixtures/openai_answers/) through the
classifier and through the generation probe at the HTTP seam: the rules are proven against
what the API and the gateways in front of it really said, not against bodies we imagined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from checks.contract_docs import is_corpus_file
from checks.error_rules import RULES
from checks.headers import parse_retry_after
from checks.openai_errors import match_error, parse_error
from checks.reasons import REASONS
from tests.conftest import FIXTURES, Api, run_check

CORPUS = FIXTURES / "openai_answers"
FILES = sorted(CORPUS.glob("*.json"))
PROBE_MAX_RETRY_WAIT = 30.0
# Headers that describe the quoted body's bytes, not the one replayed here.
FRAMING = {"content-length", "content-encoding", "transfer-encoding", "connection"}


def load(path: Path) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return answer


def statuses(answer: dict[str, Any]) -> list[int]:
    """The quoted status, or those the file assumes (argued in `why`) when none was shown."""
    return [answer["status"]] if answer["status"] is not None else answer["assumed_status"]


def body_bytes(answer: dict[str, Any]) -> tuple[bytes, str]:
    """The body as it went over the wire, and its content type. A message quoted alone is
    sent as the envelope's message only when the file says it was taken from one."""
    body, kind = answer["body"], answer["body_kind"]
    if kind == "json":
        return json.dumps(body).encode(), "application/json"
    if kind == "message_only" and answer["transcription"].startswith("message from"):
        return json.dumps({"error": {"message": body}}).encode(), "application/json"
    return body.encode(), "text/html" if kind == "html" else "text/plain"


def expected_requests(answer: dict[str, Any], status: int) -> int:
    """What the official SDK would retry (408, 409, 429, 5xx), less what a probe never
    retries (a fact about the account) or cannot wait for (a retry-after beyond the probe's
    max_retry_wait): then two requests, otherwise one."""
    reason = REASONS[answer["expect"]["reason"]]
    retryable = status in (408, 409, 429) or status >= 500
    wait = parse_retry_after(answer["headers"])
    too_long = wait is not None and wait > PROBE_MAX_RETRY_WAIT
    return 2 if retryable and not reason.structural and not too_long else 1


CASES = [
    pytest.param(path, status, id=f"{path.stem}-{status}")
    for path in FILES
    for status in statuses(load(path))
]


def test_the_corpus_has_at_least_80_answers() -> None:
    assert len(FILES) >= 80


@pytest.mark.parametrize(("path", "status"), CASES)
def test_the_classifier_reads_each_real_answer(path: Path, status: int) -> None:
    answer = load(path)
    body, _ = body_bytes(answer)
    match = match_error(parse_error(status, body))
    assert match.reason.code == answer["expect"]["reason"], match.rule.name
    assert str(match.reason.status) == answer["expect"]["status"]


@pytest.mark.parametrize(("path", "status"), CASES)
def test_the_generation_probe_reads_each_real_answer_and_retries_only_weather(
    path: Path, status: int
) -> None:
    answer = load(path)
    body, content_type = body_bytes(answer)
    headers = {k: v for k, v in answer["headers"].items() if k.lower() not in FRAMING}
    headers = {"content-type": content_type, **headers}
    api = Api().on(
        "POST", "/v1/images/generations", httpx.Response(status, content=body, headers=headers)
    )
    outcome = run_check("generation", api)
    assert (outcome.reason, str(outcome.status)) == (
        answer["expect"]["reason"],
        answer["expect"]["status"],
    )
    assert len(api.requests) == expected_requests(answer, status)
    assert outcome.cost_usd is None


def _deciding_rules() -> dict[str, set[str]]:
    decided: dict[str, set[str]] = {}
    for path in FILES:
        answer = load(path)
        body, _ = body_bytes(answer)
        decided[path.name] = {
            match_error(parse_error(status, body)).rule.name for status in statuses(answer)
        }
    return decided


def test_each_rule_cites_exactly_the_real_answers_it_decides() -> None:
    decided = _deciding_rules()
    cited = {
        (source, rule.name) for rule in RULES for source in rule.sources if is_corpus_file(source)
    }
    deciding = {(name, rule) for name, rules in decided.items() for rule in rules}
    assert cited - deciding == set(), "a rule cites an answer another rule decides"
    assert deciding - cited == set(), "an answer is decided by a rule that does not cite it"


def test_every_provider_of_the_corpus_has_answers_the_rules_read() -> None:
    providers = {load(path)["provider"] for path in FILES}
    assert providers == {"openai", "azure", "litellm", "openrouter", "one-api"}
    assert {rule.provider for rule in RULES} >= {"openai", "azure", "openrouter"}
