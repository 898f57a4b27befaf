"""Token prices (USD per 1M tokens, as Decimal) and the cost of one answered request.

Floats lie about money (3e-05 * 1e6 is 30.000000000000004), so prices are parsed from their
text into Decimal and compared as Decimal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

CATEGORIES = (
    "text_input",
    "cached_text_input",
    "image_input",
    "cached_image_input",
    "image_output",
)
MILLION = Decimal(1_000_000)

# LiteLLM's cost map gives USD per single token under these keys.
LITELLM_KEYS = {
    "text_input": "input_cost_per_token",
    "cached_text_input": "cache_read_input_token_cost",
    "image_input": "input_cost_per_image_token",
    "cached_image_input": "cache_read_input_image_token_cost",
    "image_output": "output_cost_per_image_token",
}

PriceTable = dict[str, Decimal]
"""Category → USD per 1M tokens. A missing category is unpriced, not free."""

# Published token rates (USD per 1M), the default baseline when the config names none. Every
# model here has a row in checks/images.py (sizes, tokens, probe) and its sources below.
PUBLISHED: dict[str, PriceTable] = {
    "gpt-image-2.5-flare": {
        "text_input": Decimal("5.00"),
        "cached_text_input": Decimal("1.25"),
        "image_input": Decimal("8.00"),
        "cached_image_input": Decimal("2.00"),
        "image_output": Decimal("30.00"),
    },
    "gpt-image-2.5-sunburst": {
        "text_input": Decimal("5.00"),
        "cached_text_input": Decimal("1.25"),
        "image_input": Decimal("8.00"),
        "cached_image_input": Decimal("2.00"),
        "image_output": Decimal("30.00"),
    },
    "gpt-image-2": {
        "text_input": Decimal("5.00"),
        "cached_text_input": Decimal("1.25"),
        "image_input": Decimal("8.00"),
        "cached_image_input": Decimal("2.00"),
        "image_output": Decimal("30.00"),
    },
    "gpt-image-1.5": {
        "text_input": Decimal("5.00"),
        "cached_text_input": Decimal("1.25"),
        "image_input": Decimal("8.00"),
        "image_output": Decimal("32.00"),
    },
    "gpt-image-1": {
        "text_input": Decimal("5.00"),
        "cached_text_input": Decimal("1.25"),
        "image_input": Decimal("10.00"),
        "image_output": Decimal("40.00"),
    },
    "gpt-image-1-mini": {
        "text_input": Decimal("2.00"),
        "cached_text_input": Decimal("0.20"),
        "image_input": Decimal("2.50"),
        "image_output": Decimal("8.00"),
    },
}
PRICING_PAGE = "https://platform.openai.com/docs/pricing"
LITELLM_MAP = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
PRICE_SOURCES: dict[str, tuple[str, ...]] = {
    # Released 2026-09-08 (snapshots -2026-09-08), "item for item the same as gpt-image-2".
    **dict.fromkeys(
        ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst"),
        (
            "https://developers.openai.com/api/docs/models/gpt-image-2.5-flare",
            "https://developers.openai.com/api/docs/models/gpt-image-2.5-sunburst",
            "https://apifox.com/apiskills/gpt-image-2-5-api-cn/",
            "https://docs.apiyi.com/en/news/gpt-image-2-5-launch.md",
        ),
    ),
    "gpt-image-2": (PRICING_PAGE, LITELLM_MAP),
    "gpt-image-1.5": (PRICING_PAGE,),
    "gpt-image-1": (PRICING_PAGE, LITELLM_MAP),
    "gpt-image-1-mini": (PRICING_PAGE, LITELLM_MAP),
}
"""Where each published rate was read: the lineup moves, and a rate without a source cannot
be checked again."""


def to_decimal(value: object) -> Decimal | None:
    """A finite, non-negative Decimal from a JSON number or string; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return number


def per_million(per_token: object) -> Decimal | None:
    number = to_decimal(per_token)
    return None if number is None else (number * MILLION).normalize()


def format_price(price: Decimal) -> str:
    """`30`, `1.25`, `0.000001`: plain digits, never `3E+1`."""
    return format(price.normalize(), "f")


def from_litellm(entry: Mapping[str, Any]) -> PriceTable:
    table: PriceTable = {}
    for category, key in LITELLM_KEYS.items():
        price = per_million(entry.get(key))
        if price is not None:
            table[category] = price
    return table


def _count(mapping: object, key: str) -> int:
    if not isinstance(mapping, Mapping):
        return 0
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


@dataclasses.dataclass(frozen=True)
class Cost:
    total: Decimal
    tokens: dict[str, int]
    unpriced: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"usd": str(self.total), "tokens": self.tokens}
        if self.unpriced:
            out["unpriced"] = list(self.unpriced)
        return out


def usage_tokens(usage: object) -> dict[str, int]:
    """Tokens per price category from an Images API `usage` object; missing fields are 0."""
    input_details = usage.get("input_tokens_details") if isinstance(usage, Mapping) else None
    text_in = _count(input_details, "text_tokens")
    image_in = _count(input_details, "image_tokens")
    cached_text = _count(input_details, "cached_text_tokens")
    cached_image = _count(input_details, "cached_image_tokens")
    cached_any = _count(input_details, "cached_tokens")
    if input_details is None or (text_in == 0 and image_in == 0):
        # No breakdown: bill every input token at the text rate
        text_in = _count(usage, "input_tokens")
    if cached_any and not (cached_text or cached_image):
        cached_text = min(cached_any, text_in)
    tokens = {
        "text_input": max(0, text_in - cached_text),
        "cached_text_input": cached_text,
        "image_input": max(0, image_in - cached_image),
        "cached_image_input": cached_image,
        "image_output": _count(usage, "output_tokens"),
    }
    return {k: v for k, v in tokens.items() if v}


def usage_cost(usage: object, prices: Mapping[str, Decimal]) -> Cost:
    return priced(usage_tokens(usage), prices)


def priced(tokens: dict[str, int], prices: Mapping[str, Decimal]) -> Cost:
    """Tokens per category at `prices`; a cached category without a rate of its own is
    billed at the full one, a category without any rate is listed as unpriced."""
    total = Decimal(0)
    unpriced = []
    for category, count in tokens.items():
        price = prices.get(category)
        if price is None and category.startswith("cached_"):
            price = prices.get(category.removeprefix("cached_"))  # billed at the full rate
        if price is None:
            unpriced.append(category)
            continue
        total += price * count / MILLION
    return Cost(total=total, tokens=tokens, unpriced=tuple(unpriced))


# Mainline models the Responses API's image_generation tool runs behind: USD per 1M text
# tokens in, cached in, out. Read on https://developers.openai.com/api/docs/pricing (the
# figures every price table built from it repeats); a model not here is unpriced, and its
# probe's expected cost is unknown until it is added.
MAINLINE_PRICING_PAGE = "https://developers.openai.com/api/docs/pricing"
MAINLINE: dict[str, PriceTable] = {
    model: {
        "text_input": Decimal(text_in),
        "cached_text_input": Decimal(cached),
        "text_output": Decimal(text_out),
    }
    for model, text_in, cached, text_out in (
        ("gpt-5", "1.25", "0.125", "10.00"),
        ("gpt-5.1", "1.25", "0.125", "10.00"),
        ("gpt-5.2", "1.75", "0.175", "14.00"),
        ("gpt-5-mini", "0.25", "0.025", "2.00"),
        ("gpt-5-nano", "0.05", "0.005", "0.40"),
        ("gpt-4.1", "2.00", "0.50", "8.00"),
        ("gpt-4.1-mini", "0.40", "0.10", "1.60"),
        ("gpt-4.1-nano", "0.10", "0.025", "0.40"),
    )
}


def mainline_cost(usage: object, prices: Mapping[str, Decimal]) -> Cost:
    """The cost of a Responses API `usage` object (ResponseUsage: input_tokens with
    input_tokens_details.cached_tokens, output_tokens) at a mainline model's rates."""
    details = usage.get("input_tokens_details") if isinstance(usage, Mapping) else None
    cached = _count(details, "cached_tokens")
    tokens = {
        "text_input": max(0, _count(usage, "input_tokens") - cached),
        "cached_text_input": cached,
        "text_output": _count(usage, "output_tokens"),
    }
    return priced({k: v for k, v in tokens.items() if v}, prices)
