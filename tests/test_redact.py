"""A key echoed back by the API, in any form, never reaches the store, the page or a message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.base import Outcome, Status
from monitor.plan import Probe
from monitor.redact import TAIL, Redactor
from monitor.runner import to_row
from tests.conftest import make_account

KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ0"
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "echoed",
    [
        KEY,
        KEY.upper(),
        KEY.lower(),
        KEY.removeprefix("sk-"),
        KEY.removeprefix("sk-proj-"),
        KEY.replace("-", "\u2010"),  # a Unicode hyphen
        KEY.replace("-", "\u2212"),  # a minus sign
        "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in KEY),  # full width
        KEY[-20:],  # the distinctive tail alone
    ],
)
def test_every_rewritten_form_of_the_key_is_redacted(echoed: str) -> None:
    text = Redactor([KEY]).text(f"Incorrect API key provided: {echoed}. Check it.")
    tail = KEY[-12:].lower()
    assert tail not in text.lower()
    assert "Incorrect API key provided" in text
    assert text.endswith("Check it.")


def test_what_is_left_of_a_redacted_key_is_its_fingerprint() -> None:
    assert Redactor([KEY]).text(f"key {KEY} here") == "key [secret …XyZ0] here"


def test_text_without_a_secret_is_only_cleaned() -> None:
    redactor = Redactor([KEY])
    assert redactor.text("Rate limit reached for gpt-image-2") == (
        "Rate limit reached for gpt-image-2"
    )
    assert redactor.text("bad \ud800\x1b[31m value") == "bad \ufffd\ufffd[31m value"


def test_short_secrets_are_not_matched_inside_ordinary_words() -> None:
    assert Redactor(["abc"]).text("abc is not a key") == "abc is not a key"


def test_other_openai_keys_are_cut_to_their_fingerprint() -> None:
    other = "sk-admin-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2"
    assert other not in Redactor([KEY]).text(f"leaked {other}")


def test_a_key_echoed_in_the_request_id_does_not_reach_the_stored_row() -> None:
    account = make_account(api_key=KEY)
    outcome = Outcome(
        Status.PASS,
        "ok",
        "fine",
        {"headers": {"request_id": f"req_{KEY}"}, f"k-{KEY.upper()}": [KEY]},
        request_id=f"req_{KEY.replace('-', chr(0x2010))}",
    )
    row = to_row(Probe(account, "generation", "gpt-image-2"), outcome, T0, T0, Redactor([KEY]))
    stored = repr(row.model_dump()).lower()
    assert KEY[-12:].lower() not in stored
    assert row.request_id == "[secret …XyZ0]"  # the whole key-like token goes


def test_each_of_a_thousand_keys_is_redacted_wherever_it_is_echoed() -> None:
    keys = [f"sk-sim-verified-{n:04d}-{n * 7919:08d}" for n in range(1000)]
    redactor = Redactor([*keys, "https://hooks.example.com/T000/B000/secretpath"])
    for key in (keys[0], keys[499], keys[999]):
        text = redactor.text(f"echo: {key.upper()} and more")
        assert key[-12:].lower() not in text.lower()
        assert "[secret" in text
    assert "secretpath" not in redactor.text("posted to hooks.example.com/T000/B000/secretpath")
    assert redactor.text("width") == "width"


def test_a_secret_that_is_the_start_of_another_secret_is_still_found() -> None:
    redactor = Redactor(["abcdefgh", "abcdefghij"])
    for text in ("see abcdefghij here", "see abcdefghzz here", "ABCDEFGH"):
        assert "abcdefgh" not in redactor.text(text).lower()


def test_a_key_run_with_letters_that_only_fold_to_ascii_is_redacted_whole() -> None:
    # Dotless and dotted i and the Kelvin sign fold to ASCII letters: the run around the key's
    # tail that goes includes them, as it did when the whole pattern ignored case.
    for neighbour in ("\u0131", "\u0130", "\u212a"):
        echoed = f"key=ab{neighbour}cd{KEY}{neighbour}x end"
        redacted = Redactor([KEY]).text(echoed)
        assert redacted.startswith("key=[secret "), redacted
        assert redacted.endswith("] end"), redacted
        assert KEY[-TAIL:].lower() not in redacted.lower()
