from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from checks.images import (
    FAMILIES,
    ImageDecodeError,
    cheapest_size,
    decode_b64_image,
    flexible_size_error,
    has_flexible_sizes,
    image_family,
    output_tokens,
    probe_quality,
    retired_reason,
)
from checks.prices import PRICE_SOURCES, PUBLISHED, from_litellm, usage_cost
from tests.conftest import image_b64


def test_token_formula_reproduces_the_published_1024_square() -> None:
    assert [output_tokens("gpt-image-2", "1024x1024", q) for q in ("low", "medium", "high")] == [
        196,
        1756,
        7024,
    ]


def test_published_table_for_fixed_size_models() -> None:
    assert output_tokens("gpt-image-1.5", "1024x1536", "medium") == 1584
    assert output_tokens("gpt-image-1", "1536x1024", "high") == 6208
    assert output_tokens("gpt-image-1", "1000x1000", "low") is None


def test_cheapest_gpt_image_2_size_is_valid_and_cheaper_than_a_square() -> None:
    size = cheapest_size("gpt-image-2")
    width, height = map(int, size.split("x"))
    assert flexible_size_error(width, height) is None
    tokens = output_tokens("gpt-image-2", size, "low")
    assert tokens is not None
    assert tokens < 196
    # No valid size is cheaper: brute force over every multiple of 16.
    for w in range(16, 3841, 16):
        for h in range(16, 2161, 16):
            if flexible_size_error(w, h) is None:
                assert output_tokens("gpt-image-2", f"{w}x{h}", "low") >= tokens  # type: ignore[operator]


def test_snapshots_size_like_their_family() -> None:
    assert cheapest_size("gpt-image-2-2026-04-21") == cheapest_size("gpt-image-2")
    assert cheapest_size("gpt-image-1.5") == "1024x1024"


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ("1792x936", "divisible by 16"),
        ("3840x1024", "Aspect ratio"),
        ("512x512", "Total pixels"),
        ("4096x1600", "3840x2160"),
    ],
)
def test_invalid_gpt_image_2_sizes_say_why(size: str, words: str) -> None:
    w, h = map(int, size.split("x"))
    problem = flexible_size_error(w, h)
    assert problem is not None
    assert words in problem


def test_litellm_floats_become_exact_decimals() -> None:
    table = from_litellm(
        {
            "output_cost_per_image_token": 3e-05,
            "input_cost_per_token": 5e-06,
            "cache_read_input_token_cost": "1.25e-06",
            "input_cost_per_image_token": None,
        }
    )
    assert table == {
        "image_output": Decimal(30),
        "text_input": Decimal(5),
        "cached_text_input": Decimal("1.25"),
    }


def test_usage_cost_in_decimal() -> None:
    usage = {
        "input_tokens": 12,
        "output_tokens": 54,
        "total_tokens": 66,
        "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
    }
    cost = usage_cost(usage, PUBLISHED["gpt-image-2"])
    assert cost.total == Decimal("0.00168")
    assert cost.tokens == {"text_input": 12, "image_output": 54}


def test_usage_cost_tolerates_missing_and_hostile_fields() -> None:
    assert usage_cost({}, PUBLISHED["gpt-image-2"]).total == 0
    hostile = {"output_tokens": "54", "input_tokens": -5, "input_tokens_details": "nope"}
    assert usage_cost(hostile, PUBLISHED["gpt-image-2"]).total == 0
    unpriced = usage_cost({"output_tokens": 10}, {})
    assert unpriced.unpriced == ("image_output",)


def test_decode_checks_real_image_bytes() -> None:
    decoded = decode_b64_image(image_b64(1408, 480, "PNG"))
    assert (decoded.format, decoded.width, decoded.height) == ("png", 1408, 480)
    with pytest.raises(ImageDecodeError):
        decode_b64_image("bm90IGFuIGltYWdl")  # "not an image"
    with pytest.raises(ImageDecodeError):
        decode_b64_image("***")
    truncated = image_b64(64, 64, "PNG")[:60]
    with pytest.raises(ImageDecodeError):
        decode_b64_image(truncated)


def test_every_priced_model_has_a_family_row_and_every_row_and_price_a_source() -> None:
    for model in PUBLISHED:
        assert image_family(model) is not None, model
        assert PRICE_SOURCES[model], model
    for row in FAMILIES.values():
        assert row.sources, row.name
        assert row.probe_size or row.tokens, row.name  # the probe's size is decided somehow


def test_the_gpt_image_2_5_lineup_is_priced_like_gpt_image_2() -> None:
    for model in ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst"):
        assert PUBLISHED[model] == PUBLISHED["gpt-image-2"]
        assert has_flexible_sizes(f"{model}-2026-09-08")
        # no published token grid: probed at a standard size, billed tokens recorded
        assert cheapest_size(model) == "1024x1024"
        assert output_tokens(model, "1024x1024", "low") is None


def test_gpt_image_1_mini_is_not_assumed_to_share_gpt_image_1s_token_table() -> None:
    assert output_tokens("gpt-image-1-mini", "1024x1024", "low") is None
    assert cheapest_size("gpt-image-1-mini") == "1024x1024"


@pytest.mark.parametrize(
    ("model", "configured", "sent"),
    [
        ("gpt-image-2", "low", "low"),
        ("gpt-image-2.5-flare", "high", "high"),
        ("dall-e-3", "low", "standard"),
        ("dall-e-2", "low", None),
        ("gpt-image-3", "medium", "medium"),
    ],
)
def test_probe_quality_is_one_the_family_accepts(
    model: str, configured: str, sent: str | None
) -> None:
    assert probe_quality(model, configured) == sent


def test_dall_e_models_are_retired_from_their_shutdown_date() -> None:
    assert retired_reason("dall-e-3", date(2026, 5, 11)) is None
    reason = retired_reason("dall-e-3", date(2026, 5, 12))
    assert reason is not None
    assert "2026-05-12" in reason
    assert "developers.openai.com/api/docs/deprecations" in reason
    assert retired_reason("dall-e-2", date(2026, 11, 21)) is not None
    assert retired_reason("gpt-image-2", date(2026, 11, 21)) is None
    assert retired_reason("gpt-image-9", date(2026, 11, 21)) is None


def test_dall_e_sizes_are_their_cheapest_per_image() -> None:
    assert cheapest_size("dall-e-2") == "256x256"
    assert cheapest_size("dall-e-3") == "1024x1024"
    assert not has_flexible_sizes("dall-e-3")
