"""The one place that turns an error answer into a reason code.

`parse_error` reads what an answer says — the envelope `{"error": {"message", "type", "param",
"code"}}`, a gateway's bare object, or any text — every part of which may be missing or
malformed. `classify` then tries the rules of `checks.error_rules` in order and returns the
reason with the rule that decided it, so a result can say why.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from checks.error_rules import RULES, Rule
from checks.reasons import REASONS, Reason
from checks.text import clean

MAX_MESSAGE = 500


@dataclasses.dataclass(frozen=True)
class ApiError:
    http_status: int
    message: str | None
    type: str | None
    code: str | None
    param: str | None
    well_formed: bool
    """True when the body is the OpenAI error envelope; False for HTML pages, text, bare
    `{"message": …}` objects from proxies and gateways, and anything else."""
    inner_code: str | None = None
    """Azure's `inner_error.code` (also spelt `innererror`), e.g. ResponsibleAIPolicyViolation."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True)
class Match:
    """A reason and the rule that decided it."""

    reason: Reason
    rule: Rule


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return clean(value[:MAX_MESSAGE])
    if isinstance(value, dict | list):  # a wrong shape is evidence, not text to keep whole
        return clean(type(value).__name__)
    return clean(str(value)[:MAX_MESSAGE])  # OpenRouter's numeric code 402 becomes "402"


def parse_json(body: bytes) -> Any:
    """JSON or None: a proxy's HTML page is not an exception."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _fields(data: object) -> tuple[dict[str, Any] | None, bool]:
    """The object holding message/type/code, and whether it is the real envelope."""
    if not isinstance(data, dict):
        return None, False
    if isinstance(data.get("error"), dict):
        return data["error"], True
    if "message" in data or "code" in data:
        # A client's reprint of the inner object, or OpenRouter's error inside a 200.
        return data, False
    return None, False


def parse_error(http_status: int, body: bytes) -> ApiError:
    data = parse_json(body)
    fields, envelope = _fields(data)
    if fields is not None:
        inner = fields.get("inner_error", fields.get("innererror"))
        return ApiError(
            http_status=http_status,
            message=_text(fields.get("message")),
            type=_text(fields.get("type")),
            code=_text(fields.get("code")),
            param=_text(fields.get("param")),
            well_formed=envelope,
            inner_code=_text(inner.get("code")) if isinstance(inner, dict) else None,
        )
    message: str | None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        message = _text(data["error"])
    else:
        # Gateways (LiteLLM, OpenRouter relays) wrap OpenAI's words in their own text; the
        # rules read the first MAX_MESSAGE characters of it.
        text = body[: MAX_MESSAGE * 4].decode("utf-8", "replace")
        message = clean(text).strip()[:MAX_MESSAGE] or None
    return ApiError(http_status, message, None, None, None, well_formed=False)


_SPACES = re.compile(r"\s+")


def classify(
    http_status: int | None,
    error_type: str | None,
    code: str | None,
    message: str | None,
    *,
    inner_code: str | None = None,
    well_formed: bool = True,
) -> Match:
    """The first rule that matches these facts, and its reason."""
    text = _SPACES.sub(" ", message or "").strip().lower()
    for rule in RULES:
        if rule.matches(http_status, error_type, code, inner_code, text, envelope=well_formed):
            return Match(REASONS[rule.reason], rule)
    raise AssertionError("the last rule matches every answer")


def match_error(error: ApiError) -> Match:
    """The rule that decides a parsed error answer."""
    return classify(
        error.http_status,
        error.type,
        error.code,
        error.message,
        inner_code=error.inner_code,
        well_formed=error.well_formed,
    )


def classify_error(error: ApiError) -> Reason:
    return match_error(error).reason
