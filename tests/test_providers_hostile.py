"""Azure and gateway accounts as they break in the real world: hostile config values, keys and
Entra ID tokens echoed back by an answer, and credentials that fail, hang or hand back
nothing usable."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from checks.base import GATEWAY, Account, ProbeContext, Status, no_sleep
from checks.http import MAX_HANGING_FETCHES, call
from monitor.clock import FrozenClock
from monitor.config import ConfigError, parse
from monitor.page.publish import publish
from monitor.plan import plan
from monitor.runner import run_once
from monitor.store import Store
from tests.conftest import Api, generation_body, json_response, make_account, run_check
from tests.test_providers import azure, azure_account

AZURE_KEY = "3f9a1c7e5b2d4f608a1e9c3b7d5f2a41"  # 32 hex characters, as Azure issues them
GATEWAY_KEY = "sk-gw-Qm7Zt2Lp9Vx4Rb8Nc1Kd6Hs3"
ENV = {"AZ_KEY": AZURE_KEY, "GW_KEY": GATEWAY_KEY}
ENDPOINT = "https://contoso-eastus.openai.azure.com"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def jwt(expires: datetime) -> str:
    """An Entra-shaped access token (header.payload.signature, base64url, no padding)."""

    def part(value: dict[str, Any] | bytes) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    payload = {"aud": "https://cognitiveservices.azure.com", "exp": int(expires.timestamp())}
    return ".".join((part({"typ": "JWT", "alg": "RS256"}), part(payload), part(b"s" * 64)))


TOKEN = jwt(datetime(2030, 1, 1, tzinfo=UTC))


def problems(*accounts: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse({"accounts": list(accounts)}, ENV)
    return caught.value.problems


# --- config: one line with the key path, whatever the value ---


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://user:pass@contoso.openai.azure.com",
        "https://contoso.openai.azure.com#fragment",
        "https://contoso.openai.azure.com?x=1",
        "https://contoso.openai.azure.com/openai",
        " https://contoso.openai.azure.com",
        "https://contoso.openai.azure.com ",
        "https://contoso.openai.azure.com\t",
        "https://cont\u043eso.openai.azure.com",  # a Cyrillic o
        "https://\uff43ontoso.openai.azure.com",  # a full-width c
        "https://contoso.openai.azure.com\u2024evil.example",  # one dot leader
        "https://evil.example\\@contoso.openai.azure.com",
    ],
)
def test_a_hostile_azure_endpoint_is_refused_in_one_line(endpoint: str) -> None:
    found = problems(azure(endpoint=endpoint))
    assert len(found) == 1, found
    assert found[0].startswith("accounts[0].endpoint: ")
    assert "\n" not in found[0]


@pytest.mark.parametrize(
    "deployment",
    ["a/b", "..", ".", "x?y=1", "x#y", "x%2Fy", "images prod", "bild\u00e9r", "x\u2215y", "x\\y"],
)
def test_a_deployment_that_would_change_the_url_is_refused_in_one_line(deployment: str) -> None:
    found = problems(azure(deployment=deployment))
    assert len(found) == 1, found
    assert found[0].startswith("accounts[0].deployment: ")


@pytest.mark.parametrize("deployment", ["images-prod", "gpt_image_2.v1", "GPT-Image-2"])
def test_an_ordinary_deployment_name_is_sent_as_one_path_segment(deployment: str) -> None:
    account = parse({"accounts": [azure(deployment=deployment)]}, ENV).accounts[0]
    assert account.url("images/generations") == (
        f"{ENDPOINT}/openai/deployments/{deployment}/images/generations"
        "?api-version=2025-04-01-preview"
    )


def test_an_account_built_in_code_still_sends_its_deployment_as_one_segment() -> None:
    url = httpx.URL(azure_account(deployment="a/../b?x#y").url("images/generations"))
    assert (
        url.raw_path.split(b"?")[0] == b"/openai/deployments/a%2F..%2Fb%3Fx%23y/images/generations"
    )
    assert dict(url.params) == {"api-version": "2025-04-01-preview"}


@pytest.mark.parametrize(
    "api_version",
    ["2025-04-01-preview&api-key=x", "2025-04-01#x", "2025-04-01-preview\n", "2025-04-01 "],
)
def test_an_api_version_that_would_change_the_query_is_refused(api_version: str) -> None:
    found = problems(azure(api_version=api_version))
    assert len(found) == 1, found
    assert found[0].startswith("accounts[0].api_version: ")


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:secret@llm-proxy.example/v1",
        "https://llm-proxy.example/v1?key=secret",
        "https://llm-proxy.example/v1#x",
        "https://llm-proxy.example/v1 ",
        "https://llm-proxy.example/v 1",
        "https://llm-pr\u043exy.example/v1",
        "https://llm-proxy.example\\@evil.example/v1",
        "https:///v1",
    ],
)
def test_a_hostile_base_url_is_refused_in_one_line(base_url: str) -> None:
    gateway = {
        "name": "gw",
        "provider": "openai-compatible",
        "base_url": base_url,
        "api_key_env": "GW_KEY",
    }
    found = problems(gateway, {"name": "plain", "api_key_env": "GW_KEY", "base_url": base_url})
    assert [line.split(": ")[0] for line in found] == [
        "accounts[0].base_url",
        "accounts[1].base_url",
    ]
    assert "secret" not in " ".join(found)  # a password in the URL is not repeated


def test_a_hostile_azure_account_exits_2_with_one_error_line_each_and_no_traceback(
    tmp_path: Path,
) -> None:
    config = tmp_path / "imagewatch.toml"
    config.write_text(
        '[[accounts]]\nname = "az"\nprovider = "azure"\n'
        'endpoint = "https://u:p@contoso.openai.azure.com"\ndeployment = "../x"\n'
        'api_version = "2025-04-01-preview&x=1"\napi_key_env = "AZ_KEY"\n'
        'models = ["gpt-image-1"]\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=60,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error"] * 3, lines
    assert "Traceback" not in run.stderr


# --- secrets echoed back ---


def echoing_api(echoed: str) -> Api:
    """An Azure resource (or a proxy before it) that echoes `echoed` in a header and in an
    error message, then in a 200 body."""
    body = {"error": {"code": "401", "message": f"Access denied for key {echoed}."}}
    return Api().on(
        "POST",
        "/openai/deployments/images-prod/images/generations",
        httpx.Response(
            401,
            json=body,
            # A header carries bytes: a non-ASCII echo arrives as UTF-8.
            headers=[(b"apim-request-id", echoed.encode()), (b"x-ms-region", echoed.encode())],
        ),
    )


def stored_everything(
    tmp_path: Path, account: dict[str, Any], api: Api, caplog: pytest.LogCaptureFixture, **kw: Any
) -> str:
    """Run generation for `account` through the one probe path into a SQLite store, publish
    the site, and return everything the store, the site and the log now hold."""
    loaded = parse(
        {"accounts": [account], "monitor": {"site_dir": str(tmp_path / "site")}}, ENV, **kw
    )
    store = Store.open(f"sqlite:///{tmp_path / 'imagewatch.db'}")
    try:

        async def go() -> None:
            async with api.client() as client:
                probes = plan(loaded, checks=["generation"])
                await run_once(
                    loaded,
                    probes,
                    clock=FrozenClock(NOW),
                    store=store,
                    client=client,
                    sleep=no_sleep,
                )

        asyncio.run(go())
        publish(store, loaded, NOW, tmp_path / "site")
        rows = [repr(r.model_dump()) for r in store.latest_for(["az"]).values()]
    finally:
        store.close()
    site = "".join(
        p.read_text(errors="replace") for p in (tmp_path / "site").rglob("*") if p.is_file()
    )
    return "\n".join(
        [*rows, site, caplog.text, (tmp_path / "imagewatch.db").read_bytes().decode("latin-1")]
    )


@pytest.mark.parametrize(
    "echo",
    [
        lambda k: k,
        str.upper,
        lambda k: "".join(chr(ord(c) + 0xFEE0) for c in k),  # full width, NFKC folds it back
    ],
    ids=["as-sent", "upper-case", "full-width"],
)
def test_an_azure_api_key_echoed_back_reaches_no_row_site_or_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, echo: Any
) -> None:
    everything = stored_everything(tmp_path, azure(), echoing_api(echo(AZURE_KEY)), caplog)
    assert "Access denied for key" in everything  # the answer was stored…
    assert AZURE_KEY[-12:] not in everything.lower()  # …without the key


def test_an_entra_token_echoed_back_reaches_no_row_site_or_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    account = azure(auth="entra", api_key_env=None)
    everything = stored_everything(
        tmp_path, account, echoing_api(f"Bearer {TOKEN}"), caplog, entra=lambda: lambda: TOKEN
    )
    assert "Access denied for key" in everything
    for part in TOKEN.split("."):
        assert part not in everything


def test_a_gateway_key_echoed_back_is_cut_to_its_fingerprint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = {
        "name": "az",
        "provider": "openai-compatible",
        "base_url": "https://llm-proxy.example/v1",
        "api_key_env": "GW_KEY",
    }
    body = {
        "error": {
            "message": f"Authentication Error, Invalid proxy server token passed. "
            f"Received API Key = {GATEWAY_KEY.upper()}",
            "type": "auth_error",
            "param": "None",
            "code": "401",
        }
    }
    api = Api().on("POST", "/v1/images/generations", json_response(401, body))
    everything = stored_everything(tmp_path, gateway, api, caplog)
    assert "Invalid proxy server token passed" in everything
    assert GATEWAY_KEY[-12:].lower() not in everything.lower()


# --- Entra ID credentials that fail ---


def test_a_credential_that_hangs_is_unknown_within_the_probe_deadline() -> None:
    released = threading.Event()

    def hangs() -> str:
        released.wait(10)
        return TOKEN

    account = azure_account(api_key="", token_provider=hangs)
    api = Api()
    started = time.monotonic()
    try:
        outcome = run_check(
            "generation", api, model="gpt-image-1", account=account, settings={"timeout": 0.2}
        )
        took = time.monotonic() - started
    finally:
        released.set()
    assert (outcome.status, outcome.reason) == (Status.UNKNOWN, "credential_unavailable")
    assert took < 3, f"the probe waited {took:.1f} s for a hanging credential"
    assert api.requests == []


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "empty"),
        (None, "not a string"),
        ("tok\r\nX-Injected: 1", "control character"),
        (jwt(datetime(2026, 11, 21, 11, 0, tzinfo=UTC)), "expired"),
    ],
)
def test_a_credential_that_hands_back_no_usable_token_is_unknown_without_a_request(
    token: Any, why: str
) -> None:
    account = azure_account(api_key="", token_provider=lambda: token)
    api = Api()
    outcome = run_check("generation", api, model="gpt-image-1", account=account)
    assert (outcome.status, outcome.reason) == (Status.UNKNOWN, "credential_unavailable")
    assert why in outcome.summary
    assert api.requests == []


def test_a_fresh_token_is_sent_as_the_bearer() -> None:
    account = azure_account(api_key="", token_provider=lambda: TOKEN)
    api = Api().on(
        "POST",
        "/openai/deployments/images-prod/images/generations",
        json_response(200, generation_body(1024, 1024)),
    )
    outcome = run_check("generation", api, model="gpt-image-1", account=account)
    assert outcome.reason == "ok"
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# --- the route a summary names ---


@pytest.mark.parametrize(
    ("account", "check", "route"),
    [
        (azure_account(), "generation", "POST /openai/deployments/images-prod/images/generations"),
        (
            azure_account(route="v1", api_version="preview"),
            "generation",
            "POST /openai/v1/images/generations",
        ),
        (azure_account(route="v1", api_version="v1"), "model_listing", "GET /openai/v1/models"),
        (azure_account(), "model_listing", "GET /openai/models"),
        (
            make_account(base_url="https://gw.example/api/v1", provider=GATEWAY, snapshots=()),
            "generation",
            "POST /api/v1/images/generations",
        ),
        (make_account(), "generation", "POST /v1/images/generations"),
    ],
)
def test_a_summary_names_the_route_actually_called_without_its_query(
    account: Account, check: str, route: str
) -> None:
    api = Api()  # every call answers 404: the summary is the failure's
    outcome = run_check(check, api, model=account.models[0], account=account)
    assert outcome.summary.startswith(route + ":") or outcome.summary.startswith(route + " ("), (
        outcome.summary
    )
    assert "api-version" not in outcome.summary
    assert not account.api_key or account.api_key not in outcome.summary


# --- Azure prices from LiteLLM's own rows ---


def test_the_simulators_azure_price_rows_are_litellms_as_the_fixture_quotes_them() -> None:
    from monitor.simulator.state import published_prices

    fixture = json.loads((Path(__file__).parent / "fixtures" / "litellm_prices.json").read_text())
    quoted = {k: v for k, v in fixture.items() if k.startswith("azure/")}
    served = {k: v for k, v in published_prices().items() if k.startswith("azure/")}
    assert quoted == served
    assert {"azure/gpt-image-1", "azure/gpt-image-1.5", "azure/gpt-image-2"} <= set(quoted)
    assert fixture["_source_of_the_azure_rows"]["commit"] == (
        "00035b69f416be24e2e323c13198d9b7d2d1bdf9"
    )


@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-1.5", "gpt-image-2"])
def test_an_azure_account_is_priced_by_litellms_azure_row(model: str) -> None:
    source = str(Path(__file__).parent / "fixtures" / "litellm_prices.json")
    account = azure_account(models=(model,))
    outcome = run_check("pricing", Api(), model=model, account=account, settings={"source": source})
    assert (outcome.reason, outcome.details["source_key"]) == ("price_unchanged", f"azure/{model}")


def test_many_entra_accounts_fetching_at_once_all_get_their_tokens() -> None:
    gate = threading.Barrier(8, timeout=5)  # all eight fetches run at the same time

    def slow_but_fine() -> str:
        gate.wait()
        return TOKEN

    async def go() -> list[Any]:
        api = Api().on("GET", "/openai/models", json_response(200, {"data": []}))
        account = azure_account(api_key="", token_provider=slow_but_fine)
        async with api.client() as client:
            contexts = [
                ProbeContext(client, account, "gpt-image-1", {"timeout": 5}, FrozenClock(NOW))
                for _ in range(8)
            ]
            return await asyncio.gather(*(call(c, "GET", "models") for c in contexts))

    answers = asyncio.run(go())
    assert [a.http_status for a in answers] == [200] * 8


def test_a_hung_credential_holds_no_more_than_a_few_threads() -> None:
    released = threading.Event()
    started: list[int] = []

    def hangs() -> str:
        started.append(1)
        released.wait(10)
        return TOKEN

    account = azure_account(api_key="", token_provider=hangs)
    try:
        outcomes = [
            run_check(
                "model_listing",
                Api(),
                model="gpt-image-1",
                account=account,
                settings={"timeout": 0.05},
            )
            for _ in range(MAX_HANGING_FETCHES + 3)
        ]
    finally:
        released.set()
    assert {o.reason for o in outcomes} == {"credential_unavailable"}
    assert len(started) == MAX_HANGING_FETCHES
    assert "still hang" in outcomes[-1].summary
