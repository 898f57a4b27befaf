from __future__ import annotations

from decimal import Decimal

import pytest

from checks.images import (
    ImageDecodeError,
    cheapest_size,
    decode_b64_image,
    flexible_size_error,
    output_tokens,
)
from checks.prices import PUBLISHED, from_litellm, usage_cost
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
