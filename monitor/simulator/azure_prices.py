"""The `azure/…` rows of LiteLLM's cost map for the GPT image models, as LiteLLM publishes
them, so that the simulator's price file prices an Azure account as the real file does.

Copied verbatim from BerriAI/litellm, model_prices_and_context_window.json at commit
00035b69f416be24e2e323c13198d9b7d2d1bdf9 (tests/fixtures/litellm_prices.json holds the same
rows; a test keeps the two equal). The per-pixel `azure/<quality>/<size>/gpt-image-1` rows
are left out: the pricing check reads token prices.
"""

from __future__ import annotations

from typing import Any

_ENDPOINTS = ["/v1/images/generations", "/v1/images/edits"]

_GPT_IMAGE_1_5 = {
    "cache_read_input_token_cost": 1.25e-06,
    "input_cost_per_token": 5e-06,
    "input_cost_per_image_token": 8e-06,
    "litellm_provider": "azure",
    "mode": "image_generation",
    "output_cost_per_image_token": 3.2e-05,
    "supported_endpoints": _ENDPOINTS,
}
_GPT_IMAGE_2 = {
    "cache_read_input_token_cost": 1.25e-06,
    "input_cost_per_token": 5e-06,
    "input_cost_per_image_token": 8e-06,
    "litellm_provider": "azure",
    "mode": "image_generation",
    "output_cost_per_token": 1e-05,
    "output_cost_per_image_token": 3e-05,
    "supported_endpoints": _ENDPOINTS,
    "supports_vision": True,
    "supports_pdf_input": True,
}

AZURE_ROWS: dict[str, dict[str, Any]] = {
    "azure/gpt-image-1": {
        "cache_read_input_token_cost": 1.25e-06,
        "input_cost_per_image_token": 1e-05,
        "input_cost_per_token": 5e-06,
        "litellm_provider": "azure",
        "mode": "image_generation",
        "output_cost_per_image_token": 4e-05,
        "supported_endpoints": _ENDPOINTS,
    },
    "azure/gpt-image-1-mini": {
        "cache_read_input_token_cost": 2e-07,
        "input_cost_per_image_token": 2.5e-06,
        "input_cost_per_token": 2e-06,
        "litellm_provider": "azure",
        "mode": "image_generation",
        "output_cost_per_image_token": 8e-06,
        "supported_endpoints": _ENDPOINTS,
    },
    "azure/gpt-image-1.5": _GPT_IMAGE_1_5,
    # LiteLLM prices each dated snapshot row as its alias.
    "azure/gpt-image-1.5-2025-12-16": _GPT_IMAGE_1_5,
    "azure/gpt-image-2": _GPT_IMAGE_2,
    "azure/gpt-image-2-2026-04-21": _GPT_IMAGE_2,
}
"""LiteLLM key → its row, unchanged."""
