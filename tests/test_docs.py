"""The README is a documented surface: these fail when it and the code drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from checks import REGISTRY
from checks.contract_docs import reason_table
from checks.reasons import REASONS

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_newcomer_commands() -> None:
    lines = [line for line in README.splitlines() if line.startswith("pip install")]
    assert lines[0].startswith("pip install -e . && imagewatch demo")
    assert lines[1].startswith("pip install -e '.[test]' && pytest")


def test_readme_reason_table_lists_every_reason_with_its_status() -> None:
    table = dict(re.findall(r"^\| `([a-z_]+)` \| (\w+) \|", README, flags=re.MULTILINE))
    assert table == {code: str(reason.status) for code, reason in REASONS.items()}


def test_readme_reason_table_is_the_one_generated_from_reasons_and_rules() -> None:
    section = README.split("## Reason codes", 1)[1].split("\n## ", 1)[0]
    assert reason_table() in section, (
        "README's reason table differs from checks.contract_docs.reason_table(): "
        "paste its output under '## Reason codes'"
    )


def test_readme_has_a_section_per_check() -> None:
    sections = re.findall(r"^### ([a-z_]+)$", README, flags=re.MULTILINE)
    assert sections == list(REGISTRY)


def test_every_check_documents_what_it_calls_and_costs() -> None:
    for check in REGISTRY.values():
        doc = type(check).__doc__ or ""
        assert "Calls" in doc or "Reads" in doc, check.name
        assert "free" in doc.lower() or "paid" in doc.lower(), check.name


def test_readme_documents_the_status_json_keys() -> None:
    from monitor.page import STATUS_SCHEMA_VERSION

    block = README.split("`status.json`, schema version ")[1]
    assert block.startswith(f"{STATUS_SCHEMA_VERSION}:")
    for key in (
        "version",
        "generated_at",
        "verdict",
        "heartbeat",
        "accounts",
        "ready",
        "models",
        "checks",
        "stale",
        "request_id",
    ):
        assert f'"{key}"' in block.split("```")[1], key
