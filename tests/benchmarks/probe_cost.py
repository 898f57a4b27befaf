"""Benchmark (c): what one generation probe costs for gpt-image-2, measured from the usage the
simulator bills, against the naive 1024x1024 low-quality request."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _common import Served

from checks import REGISTRY
from checks.base import Account, ProbeContext, SystemClock
from checks.images import output_tokens
from checks.prices import PUBLISHED, usage_cost
from monitor.simulator.scenarios import scenario

RUNS = 5


async def measure(url: str) -> list[float]:
    verified = scenario("verified")
    account = Account(name="bench", base_url=f"{url}/v1", api_key=verified.api_key)
    costs = []
    async with httpx.AsyncClient() as client:
        for _ in range(RUNS):
            ctx = ProbeContext(
                client=client,
                account=account,
                model="gpt-image-2",
                settings={"prices": PUBLISHED["gpt-image-2"]},
                clock=SystemClock(),
            )
            outcome = await REGISTRY["generation"].run(ctx)
            assert outcome.reason == "ok", outcome.summary
            assert outcome.cost_usd is not None
            costs.append(outcome.cost_usd)
        naive = await client.post(
            f"{url}/v1/images/generations",
            headers={"Authorization": f"Bearer {verified.api_key}"},
            json={
                "model": "gpt-image-2",
                "prompt": "A plain light grey square on a white background.",
                "size": "1024x1024",
                "quality": "low",
            },
        )
        naive_cost = usage_cost(naive.json()["usage"], PUBLISHED["gpt-image-2"]).total
    costs.append(float(naive_cost))
    return costs


def main() -> None:
    with Served() as served:
        costs = asyncio.run(measure(served.url))
    probe, naive = Decimal(str(costs[0])), Decimal(str(costs[-1]))
    tokens = output_tokens("gpt-image-2", "1408x480", "low")
    print(
        f"generation probe, gpt-image-2, 1408x480 low ({tokens} output tokens): "
        f"${probe:.5f} per run (same over {RUNS} runs: {len(set(costs[:-1])) == 1})"
    )
    print(f"naive 1024x1024 low (196 output tokens): ${naive:.5f} per run")
    print(
        f"saving: {(1 - probe / naive) * 100:.0f}%; per account per day at the default "
        f"hourly cadence: ${probe * 24:.4f} vs ${naive * 24:.4f}"
    )


if __name__ == "__main__":
    main()
