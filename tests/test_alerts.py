from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from monitor.alerts import (
    Channel,
    ChannelError,
    Observation,
    Policy,
    State,
    channels_from,
    deliver,
    evaluate,
    process,
    silence,
    verify,
)
from monitor.alerts.messages import Message, incident_message, trial_message
from monitor.alerts.outbox import STALE_CLAIM
from monitor.alerts.silencing import silence_reason, window_covers
from monitor.clock import FrozenClock
from monitor.config import (
    ChannelTarget,
    ConfigError,
    LoadedConfig,
    MaintenanceSection,
    load,
    parse,
)
from monitor.redact import Redactor
from monitor.store import (
    AlertState,
    Incident,
    OutboxMessage,
    ProbeResult,
    Silence,
    Store,
)
from tests.receivers import http_receiver, smtp_server

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
POLICY = Policy(failure_threshold=2, success_threshold=1, remind_every=3600)
SECRET = "whsec-test-secret-123456"
CLOCK = FrozenClock(T0)


def run(
    sequence: list[tuple[str, str]], policy: Policy = POLICY, step: float = 300
) -> list[list[str]]:
    state, events = State(), []
    for index, (status, reason) in enumerate(sequence):
        state, happened = evaluate(
            state, Observation(status, reason), policy, T0 + timedelta(seconds=index * step)
        )
        events.append(happened)
    return events


def test_a_structural_reason_opens_at_once_and_a_pass_resolves() -> None:
    assert run(
        [
            ("pass", "ok"),
            ("fail", "org_verification_required"),
            ("fail", "org_verification_required"),
            ("pass", "ok"),
        ]
    ) == [[], ["opened"], [], ["resolved"]]


def test_transient_failures_open_only_after_the_threshold() -> None:
    assert run(
        [
            ("unknown", "server_error"),
            ("pass", "ok"),
            ("unknown", "timeout"),
            ("warn", "rate_limited"),
        ]
    ) == [[], [], [], ["opened"]]


def test_unknown_and_skipped_never_resolve() -> None:
    events = run(
        [
            ("fail", "insufficient_quota"),
            ("unknown", "server_error"),
            ("skipped", "budget_exhausted"),
            ("pass", "ok"),
        ]
    )
    assert events == [["opened"], ["updated"], [], ["resolved"]]


def test_a_changed_reason_updates_the_open_incident() -> None:
    events = run([("fail", "org_verification_required"), ("fail", "project_model_not_allowed")])
    assert events == [["opened"], ["updated"]]


def test_reminders_come_every_remind_every_while_open() -> None:
    failing = [("fail", "snapshot_missing")] * 5
    assert run(failing, step=1800) == [["opened"], [], ["reminder"], [], ["reminder"]]


def test_resolution_can_need_several_passes() -> None:
    policy = Policy(failure_threshold=1, success_threshold=2, remind_every=3600)
    assert run([("fail", "not_listed"), ("pass", "listed"), ("pass", "listed")], policy) == [
        ["opened"],
        [],
        ["resolved"],
    ]


def test_plain_warnings_do_not_open_incidents() -> None:
    assert run([("warn", "headroom_low"), ("warn", "new_snapshot")] * 2) == [[]] * 4


# --- store, outbox and channels ---------------------------------------------------------


HOOK_URL = "http://127.0.0.1:9/hook-token-path"
ENVIRON = {"KEY": "sk-proj-secret-key-abcd9999", "HOOK_URL": HOOK_URL, "HOOK_SECRET": SECRET}


def config(
    channels: list[dict[str, Any]] | None = None,
    accounts: tuple[str, ...] = ("prod",),
    environ: dict[str, str] = ENVIRON,
    **alerts: Any,
) -> LoadedConfig:
    data = {
        "monitor": {"public_url": "https://status.example.com/imagewatch"},
        "accounts": [{"name": name, "api_key_env": "KEY"} for name in accounts],
        "alerts": {
            "channels": channels
            if channels is not None
            else [
                {
                    "name": "hook",
                    "kind": "webhook",
                    "url_env": "HOOK_URL",
                    "secret_env": "HOOK_SECRET",
                }
            ],
            **alerts,
        },
    }
    return parse(data, environ)


def result(
    store: Store,
    status: str,
    reason: str,
    at: datetime,
    account: str = "prod",
    check: str = "generation",
    summary: str = "",
) -> ProbeResult:
    row = ProbeResult(
        account=account,
        check=check,
        model="gpt-image-2",
        status=status,
        reason=reason,
        summary=summary or f"{reason} seen",
        details={},
        request_id="req_abc123",
        http_status=403 if status == "fail" else 200,
        started_at=at,
        finished_at=at,
    )
    store.add_result(row)
    return row


def outbox(store: Store) -> list[OutboxMessage]:
    with Session(store.engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id))))


@pytest.fixture
def webhooks() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def hook(client: httpx.Client, url: str) -> dict[str, Channel]:
    return {"hook": Channel(ChannelTarget("hook", "webhook", url, SECRET), client, CLOCK)}


def test_an_incident_message_says_what_where_why_and_what_to_do(store: Store) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "org_verification_required", T0)], T0, 0)
    [message] = outbox(store)
    assert message.kind == "opened"
    assert message.title == (
        "[imagewatch] OPENED prod · generation · gpt-image-2: "
        "Organization not verified — generation refused with 403"
    )
    assert (
        "What to do: Verify the organization at https://platform.openai.com/settings/"
        "organization/general; access can take up to 15 minutes to propagate." in message.body
    )
    assert "Request id: req_abc123" in message.body
    assert "https://status.example.com/imagewatch/accounts/prod.html" in message.body
    assert message.payload["version"] == 1
    assert message.payload["incident"]["reason"] == "org_verification_required"


def test_the_webhook_is_signed_and_verifiable(store: Store, webhooks: httpx.Client) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "insufficient_quota", T0)], T0, 0)
    with http_receiver() as receiver:
        report = deliver(store, loaded, hook(webhooks, receiver.url), T0, "a")
    assert report.sent == 1
    [request] = receiver.requests
    headers = request["headers"]
    assert verify(
        SECRET,
        headers["X-Imagewatch-Timestamp"],
        request["body"],
        headers["X-Imagewatch-Signature"],
    )
    assert not verify(
        "wrong",
        headers["X-Imagewatch-Timestamp"],
        request["body"],
        headers["X-Imagewatch-Signature"],
    )
    payload = json.loads(request["body"])
    assert payload["event"] == "opened"
    assert payload["incident"]["account"] == "prod"
    text = request["body"].decode()
    assert SECRET not in text
    assert "sk-proj-secret" not in text


def test_apprise_json_and_mailto_reach_real_receivers(store: Store, webhooks: httpx.Client) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "snapshot_missing", T0, check="snapshot")], T0, 0)
    message = outbox(store)[0]
    from monitor.alerts.messages import Message

    sent = Message(message.kind, message.title, message.body, message.payload)
    with http_receiver() as receiver:
        json_url = receiver.url.replace("http://", "json://") + "/alerts"
        Channel(ChannelTarget("json", "apprise", json_url), webhooks, CLOCK).send(sent)
        [posted] = receiver.json()
    assert posted["title"].startswith("[imagewatch] OPENED prod · snapshot")
    assert "Pinned snapshot is gone" in posted["message"]
    with smtp_server() as (mailbox, port):
        mail_url = (
            f"mailto://127.0.0.1:{port}?mode=insecure"
            "&from=imagewatch@example.com&to=ops@example.com"
        )
        Channel(ChannelTarget("mail", "apprise", mail_url), webhooks, CLOCK).send(sent)
    [(sender, recipients, content)] = mailbox.messages
    assert (sender, recipients) == ("imagewatch@example.com", ["ops@example.com"])
    assert b"Pinned snapshot is gone" in content


def test_a_failing_channel_is_retried_with_backoff_and_delivers_once(
    store: Store, webhooks: httpx.Client
) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "not_listed", T0, check="model_listing")], T0, 0)
    now = T0
    with http_receiver(fail_first=3) as receiver:
        for _ in range(40):
            deliver(store, loaded, hook(webhooks, receiver.url), now, "a")
            now += timedelta(seconds=7)
        assert len(receiver.requests) == 1
    [row] = outbox(store)
    assert (row.state, row.attempts) == ("sent", 4)


def test_a_message_survives_a_killed_process(tmp_path: Path, webhooks: httpx.Client) -> None:
    database = tmp_path / "alerts.db"
    script = f"""
import os, signal
from datetime import datetime, UTC
from monitor.alerts import process
from monitor.config import parse
from monitor.store import ProbeResult, Store
store = Store.open("sqlite:///{database}")
loaded = parse({{"accounts": [{{"name": "prod", "api_key_env": "KEY"}}],
                "alerts": {{"channels": [{{"name": "hook", "kind": "webhook",
                "url_env": "U", "secret_env": "S"}}]}}}},
               {{"KEY": "sk-x-12345678", "U": "http://127.0.0.1:9/", "S": "whsec-12345678"}})
now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
row = ProbeResult(account="prod", check="generation", model="gpt-image-2", status="fail",
                  reason="insufficient_quota", summary="quota", details={{}},
                  started_at=now, finished_at=now)
store.add_result(row)
process(store, loaded, [row], now, 0)
os.kill(os.getpid(), signal.SIGKILL)  # between the outbox write and any delivery
"""
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    store = Store.open(f"sqlite:///{database}")
    with http_receiver() as receiver:
        report = deliver(store, config(), hook(webhooks, receiver.url), T0, "restarted")
        assert report.sent == 1
        assert receiver.events() == ["opened"]


def test_two_deliverers_send_each_message_once(store: Store, webhooks: httpx.Client) -> None:
    loaded = config(accounts=("prod", "eu", "us"))
    rows = [
        result(store, "fail", reason, T0, account=account)
        for account, reason in (
            ("prod", "insufficient_quota"),
            ("eu", "not_listed"),
            ("us", "billing_hard_limit"),
        )
    ]
    process(store, loaded, rows, T0, 0)
    with http_receiver() as receiver:
        channels = hook(webhooks, receiver.url)
        threads = [
            threading.Thread(target=deliver, args=(store, loaded, channels, T0, name))
            for name in ("a", "b", "c")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(receiver.requests) == 3
        assert sorted(json.loads(r["body"])["incident"]["account"] for r in receiver.requests) == [
            "eu",
            "prod",
            "us",
        ]


def test_every_attempt_at_a_message_carries_its_one_id(store: Store) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "insufficient_quota", T0)], T0, 0)
    seen: list[httpx.Request] = []

    def refuse_twice(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) <= 2 else 200)

    with mocked(refuse_twice) as client:
        for minutes in range(5):  # past each backoff
            deliver(store, loaded, hook(client, HOOK_URL), T0 + timedelta(minutes=minutes), "a")
    [row] = outbox(store)
    assert (row.state, row.attempts) == ("sent", 3)
    keys = {request.headers["Idempotency-Key"] for request in seen}
    ids = {json.loads(request.content)["id"] for request in seen}
    assert keys == ids == {row.message_id}


def test_a_message_taken_over_from_a_dead_sender_keeps_its_id(
    store: Store, webhooks: httpx.Client
) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "insufficient_quota", T0)], T0, 0)
    [row] = outbox(store)
    assert row.id is not None
    with http_receiver() as receiver:
        # A sender claims it, posts it, and dies before recording that it went out.
        claimed = store.claim_message(row.id, "dead", T0, T0 - STALE_CLAIM)
        assert claimed is not None
        hook(webhooks, receiver.url)["hook"].send(
            Message(claimed.kind, claimed.title, claimed.body, claimed.payload, claimed.message_id)
        )
        assert deliver(store, loaded, hook(webhooks, receiver.url), T0, "b").sent == 0
        later = T0 + STALE_CLAIM + timedelta(seconds=1)
        assert deliver(store, loaded, hook(webhooks, receiver.url), later, "b").sent == 1
    first, again = receiver.requests
    assert first["body"] == again["body"]
    assert first["headers"]["Idempotency-Key"] == again["headers"]["Idempotency-Key"]
    assert json.loads(again["body"])["id"] == row.message_id


def test_each_channels_copy_of_a_message_has_an_id_of_its_own(store: Store) -> None:
    two = [
        {"name": name, "kind": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"}
        for name in ("hook", "backup")
    ]
    loaded = config(channels=two)
    process(store, loaded, [result(store, "fail", "insufficient_quota", T0)], T0, 0)
    process(store, loaded, [result(store, "pass", "ok", T0 + timedelta(minutes=5))], T0, 0)
    rows = outbox(store)
    assert len(rows) == 4
    assert len({uuid.UUID(r.message_id) for r in rows}) == 4


def test_an_apprise_message_ends_with_its_id(webhooks: httpx.Client) -> None:
    sent = trial_message("json", T0)
    assert sent.id is not None
    with http_receiver() as receiver:
        json_url = receiver.url.replace("http://", "json://") + "/alerts"
        Channel(ChannelTarget("json", "apprise", json_url), webhooks, CLOCK).send(sent)
        [posted] = receiver.json()
    assert posted["message"].splitlines()[-1] == f"Message id: {sent.id}"


def test_instances_evaluating_one_pair_at_once_open_one_incident(store: Store) -> None:
    loaded = config()
    rows = [
        result(store, "fail", "insufficient_quota", T0 + timedelta(seconds=i)) for i in range(4)
    ]
    start = threading.Barrier(len(rows))
    errors: list[BaseException] = []

    def evaluate_one(row: ProbeResult) -> None:
        start.wait(timeout=30)
        try:
            process(store, loaded, [row], T0, 0)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=evaluate_one, args=(row,)) for row in rows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(store.incidents(None, 10)) == 1
    assert [m.kind for m in outbox(store)] == ["opened"]


def test_two_deliverers_grouping_at_once_send_one_provider_wide_message(
    store: Store, webhooks: httpx.Client
) -> None:
    loaded = config(accounts=("prod", "eu"))
    rows = [result(store, "fail", "model_not_found", T0, account=a) for a in ("prod", "eu")]
    process(store, loaded, rows, T0, 0)
    errors: list[BaseException] = []
    with http_receiver() as receiver:
        channels = hook(webhooks, receiver.url)
        start = threading.Barrier(2)

        def deliver_as(name: str) -> None:
            start.wait(timeout=30)
            try:
                deliver(store, loaded, channels, T0, name)
            except Exception as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=deliver_as, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert receiver.events() == ["provider_wide"]


# --- silencing: a pure rule ---------------------------------------------------------------


def incident(
    number: int, reason: str, account: str = "prod", check: str = "generation", state: str = "open"
) -> Incident:
    return Incident(
        id=number,
        account=account,
        check=check,
        model="gpt-image-2",
        reason=reason,
        summary=f"{reason} seen",
        state=state,
        opened_at=T0,
        updated_at=T0,
    )


def quiet(account: str, check: str | None, hours: float, reason: str = "rotating keys") -> Silence:
    return Silence(
        id=1,
        account=account,
        check=check,
        reason=reason,
        created_at=T0 - timedelta(hours=1),
        until=T0 + timedelta(hours=hours),
    )


SATURDAY_MORNING = MaintenanceSection.model_validate(
    {"name": "weekend", "accounts": ["prod"], "days": ["sat"], "start": "11:00", "duration": "2h"}
)


def test_a_silence_in_force_mutes_the_incident() -> None:
    quota = incident(1, "insufficient_quota")
    assert (
        silence_reason(quota, [quiet("prod", "generation", 2)], [], [quota], T0)
        == "silenced until 2026-11-21 14:00 UTC: rotating keys"
    )
    assert silence_reason(quota, [quiet("prod", None, 2)], [], [quota], T0) is not None


def test_a_silence_of_another_check_or_account_or_that_ended_mutes_nothing() -> None:
    quota = incident(1, "insufficient_quota")
    for other in (quiet("prod", "pricing", 2), quiet("eu", None, 2), quiet("prod", None, 0)):
        assert silence_reason(quota, [other], [], [quota], T0) is None


def test_a_maintenance_window_mutes_what_it_covers_while_it_lasts() -> None:
    quota = incident(1, "insufficient_quota")
    assert (
        silence_reason(quota, [], [SATURDAY_MORNING], [quota], T0) == "maintenance window 'weekend'"
    )
    later = T0 + timedelta(hours=1, minutes=1)
    assert silence_reason(quota, [], [SATURDAY_MORNING], [quota], later) is None
    elsewhere = incident(1, "insufficient_quota", account="eu")
    assert silence_reason(elsewhere, [], [SATURDAY_MORNING], [elsewhere], T0) is None


def test_a_maintenance_window_may_run_past_midnight_into_a_day_it_does_not_name() -> None:
    late = MaintenanceSection.model_validate(
        {"name": "late", "days": ["sat"], "start": "23:00", "duration": "2h"}
    )
    saturday_night = T0.replace(hour=23, minute=30)
    assert window_covers(late, "prod", "generation", saturday_night)
    assert window_covers(late, "prod", "generation", saturday_night + timedelta(hours=1))
    assert not window_covers(late, "prod", "generation", saturday_night + timedelta(hours=2))
    assert not window_covers(late, "prod", "generation", saturday_night - timedelta(days=1))


def test_a_silence_is_named_before_a_window_or_another_incident() -> None:
    key = incident(1, "invalid_api_key")
    listing = incident(2, "not_listed", check="model_listing")
    reason = silence_reason(
        listing, [quiet("prod", None, 2)], [SATURDAY_MORNING], [key, listing], T0
    )
    assert reason is not None
    assert reason.startswith("silenced until")


def test_an_account_level_incident_mutes_the_accounts_other_incidents() -> None:
    key = incident(3, "invalid_api_key")
    listing = incident(1, "not_listed", check="model_listing")
    open_ = [listing, key]
    assert silence_reason(key, [], [], open_, T0) is None
    assert (
        silence_reason(listing, [], [], open_, T0)
        == "muted: account-level incident #3 (invalid_api_key) is open"
    )


def test_of_two_account_level_incidents_the_older_speaks_for_the_account() -> None:
    key = incident(1, "invalid_api_key", check="model_listing")
    quota = incident(2, "billing_hard_limit")
    assert silence_reason(key, [], [], [key, quota], T0) is None
    assert (
        silence_reason(quota, [], [], [key, quota], T0)
        == "muted: account-level incident #1 (invalid_api_key) is open"
    )


def test_resolved_incidents_and_other_accounts_mute_nothing() -> None:
    could_not_tell = incident(3, "rate_limit_unavailable", check="rate_limits")
    others = [
        incident(1, "invalid_api_key", state="resolved"),
        incident(2, "org_verification_required", account="eu"),
        could_not_tell,
    ]
    assert silence_reason(could_not_tell, [], [], others, T0) is None


def test_an_account_level_failure_mutes_the_accounts_other_messages(store: Store) -> None:
    loaded = config()
    rows = [
        result(store, "fail", "invalid_api_key", T0, check=check)
        for check in ("model_listing", "snapshot", "generation")
    ]
    rows.append(result(store, "fail", "below_required", T0, check="rate_limits"))
    process(store, loaded, rows, T0, 0)
    states = [(m.state, m.payload.get("incident", {}).get("check")) for m in outbox(store)]
    assert states.count(("pending", "model_listing")) == 1
    assert sum(1 for s, _ in states if s == "suppressed") == 3
    muted = [m.last_error for m in outbox(store) if m.state == "suppressed"]
    assert all(reason and reason.startswith("muted: account-level incident #") for reason in muted)


def test_a_known_failure_mutes_the_accounts_could_not_tell_incidents() -> None:
    known = incident(1, "org_verification_required")
    could_not_tell = incident(2, "rate_limit_unavailable", check="rate_limits")
    assert silence_reason(known, [], [], [known, could_not_tell], T0) is None
    assert (
        silence_reason(could_not_tell, [], [], [known, could_not_tell], T0)
        == "muted: incident #1 (org_verification_required) explains it"
    )


def test_a_failed_generation_opens_no_rate_limits_incident_of_its_own(store: Store) -> None:
    from checks.base import Evidence
    from tests.conftest import Api, run_check

    loaded = config()
    generation = {"attempts": [{"http_status": 503, "reason": "server_error"}]}
    outcome = run_check("rate_limits", Api(), evidence=Evidence(generation=generation))
    rows = []
    for minutes in (0, 5, 10):
        at = T0 + timedelta(minutes=minutes)
        rows.append(result(store, "unknown", "server_error", at))
        rows.append(result(store, outcome.status, outcome.reason, at, check="rate_limits"))
    process(store, loaded, rows, T0 + timedelta(minutes=10), 0)
    with Session(store.engine) as session:
        opened = [i.check for i in session.scalars(select(Incident))]
    assert opened == ["generation"]


def test_the_same_reason_on_every_account_is_one_provider_wide_message(
    store: Store, webhooks: httpx.Client
) -> None:
    loaded = config(accounts=("prod", "eu", "us"))
    rows = [result(store, "fail", "model_not_found", T0, account=a) for a in ("prod", "eu", "us")]
    process(store, loaded, rows, T0, 0)
    with http_receiver() as receiver:
        deliver(store, loaded, hook(webhooks, receiver.url), T0, "a")
        assert receiver.events() == ["provider_wide"]
        [payload] = receiver.json()
    assert payload["accounts"] == ["eu", "prod", "us"]
    assert payload["reason"] == "model_not_found"


def test_group_wait_holds_a_new_incident_for_its_peers(
    store: Store, webhooks: httpx.Client
) -> None:
    loaded = config(accounts=("prod", "eu"), group_wait="30s")
    process(store, loaded, [result(store, "fail", "model_not_found", T0, account="prod")], T0)
    with http_receiver() as receiver:
        deliver(store, loaded, hook(webhooks, receiver.url), T0 + timedelta(seconds=10), "a")
        assert receiver.requests == []  # waiting for the group
        later = T0 + timedelta(seconds=20)
        process(
            store, loaded, [result(store, "fail", "model_not_found", later, account="eu")], later
        )
        deliver(store, loaded, hook(webhooks, receiver.url), T0 + timedelta(seconds=51), "a")
        assert receiver.events() == ["provider_wide"]


def test_silences_and_maintenance_windows_record_but_do_not_send(store: Store) -> None:
    loaded = config(
        accounts=("prod", "eu"),
        maintenance=[
            {
                "name": "weekend",
                "accounts": ["eu"],
                "days": ["sat"],
                "start": "11:00",
                "duration": "2h",
            }
        ],
    )
    silence(store, "prod", "generation", 7200, "planned key rotation", T0)
    rows = [
        result(store, "fail", "insufficient_quota", T0, account="prod"),
        result(store, "fail", "not_listed", T0, account="eu", check="model_listing"),
    ]
    process(store, loaded, rows, T0, 0)
    reasons = sorted(m.last_error or "" for m in outbox(store))
    assert reasons[0] == "maintenance window 'weekend'"
    assert reasons[1].startswith("silenced until 2026-11-21 14:00 UTC: planned key rotation")
    with Session(store.engine) as session:
        incidents = session.scalars(select(Incident)).all()
    assert len(incidents) == 2
    assert all(i.silenced for i in incidents)


def test_resolved_says_how_long_and_what_cleared_it(store: Store) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "org_verification_required", T0)], T0, 0)
    later = T0 + timedelta(minutes=17)
    process(
        store,
        loaded,
        [result(store, "pass", "ok", later, summary="JPEG 1408x480 generated for $0.0017")],
        later,
        0,
    )
    resolved = outbox(store)[-1]
    assert resolved.kind == "resolved"
    assert "Resolved after 17m" in resolved.body
    assert "Cleared by: JPEG 1408x480 generated for $0.0017 [req_abc123]" in resolved.body
    assert resolved.payload["incident"]["duration_seconds"] == 1020


def test_an_incident_and_its_messages_land_together_or_not_at_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writing the message fails after the incident was added in the same transaction.
    def broken(*args: object, **kwargs: object) -> Message:
        raise RuntimeError("message could not be built")

    monkeypatch.setattr("monitor.alerts.outbox.incident_message", broken)
    with pytest.raises(RuntimeError, match="could not be built"):
        process(store, config(), [result(store, "fail", "insufficient_quota", T0)], T0, 0)
    with Session(store.engine) as session:
        assert session.scalars(select(Incident)).all() == []
        assert session.scalars(select(AlertState)).all() == []
    assert outbox(store) == []


def test_results_are_evaluated_once(store: Store) -> None:
    loaded = config()
    row = result(store, "fail", "not_listed", T0, check="model_listing")
    process(store, loaded, [row], T0, 0)
    process(store, loaded, [row], T0, 0)
    assert len(outbox(store)) == 1


def test_channels_need_their_environment_and_a_webhook_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        config(
            [
                {"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"},
                {"name": "slack", "url_env": "SLACK_URL"},
            ],
            environ={"KEY": "sk-x-12345678", "HOOK_URL": "http://127.0.0.1:9/"},
        )
    assert caught.value.problems == [
        "alerts.channels[0].secret_env: a webhook needs a signing secret",
        "alerts.channels[1].url_env: environment variable SLACK_URL is not set",
    ]


def test_a_channel_whose_variable_is_unset_is_refused_by_load_and_so_by_check(
    tmp_path: Path,
) -> None:
    path = tmp_path / "imagewatch.toml"
    path.write_text(
        f"""
[monitor]
database_url = "sqlite:///{tmp_path / "check.db"}"
[[accounts]]
name = "prod"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "KEY"
[[alerts.channels]]
name = "slack"
url_env = "SLACK_URL"
""",
        encoding="utf-8",
    )
    env = {"PATH": os.environ.get("PATH", ""), "KEY": "sk-x-12345678"}
    with pytest.raises(ConfigError) as caught:
        load(str(path), env)
    assert caught.value.problems == [
        "alerts.channels[0].url_env: environment variable SLACK_URL is not set"
    ]
    checked = imagewatch("check", "--config", str(path), env=env)
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [
        "error: alerts.channels[0].url_env: environment variable SLACK_URL is not set"
    ]


def test_channel_urls_and_secrets_are_redacted_like_api_keys() -> None:
    loaded = config()
    assert {HOOK_URL, SECRET} <= set(loaded.secrets)
    text = Redactor(loaded.secrets).text(f"HTTP 400 from {HOOK_URL}: bad signature {SECRET}")
    assert HOOK_URL not in text
    assert "hook-token-path" not in text
    assert SECRET not in text


def test_no_repr_shows_a_channel_url_or_secret(webhooks: httpx.Client) -> None:
    loaded = config()
    channels = channels_from(loaded, webhooks, CLOCK)
    for thing in (loaded, loaded.channels, channels, channels["hook"], loaded.config):
        for shown in (repr(thing), str(thing)):
            assert "hook-token-path" not in shown
            assert SECRET not in shown
    assert repr(channels["hook"]) == "Channel(target=ChannelTarget(name='hook', kind='webhook'))"


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_a_webhook_posts_through_the_injected_client_and_signs_with_the_clocks_time() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    later = FrozenClock(T0 + timedelta(minutes=3))
    with mocked(answer) as client:
        Channel(ChannelTarget("hook", "webhook", HOOK_URL, SECRET), client, later).send(
            trial_message("hook", T0)
        )
    [request] = seen
    assert str(request.url) == HOOK_URL
    timestamp = request.headers["X-Imagewatch-Timestamp"]
    assert timestamp == str(int((T0 + timedelta(minutes=3)).timestamp()))
    assert request.headers["X-Imagewatch-Event"] == "test"
    assert verify(SECRET, timestamp, request.content, request.headers["X-Imagewatch-Signature"])


def test_a_webhook_refused_or_unreachable_is_a_channel_error_without_its_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"no thanks, {request.url}")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    target = ChannelTarget("hook", "webhook", HOOK_URL, SECRET)
    for handler, expected in (
        (refuse, "webhook answered HTTP 500"),
        (unreachable, "webhook: ConnectError"),
    ):
        with mocked(handler) as client, pytest.raises(ChannelError) as caught:
            Channel(target, client, CLOCK).send(trial_message("hook", T0))
        assert str(caught.value) == expected


def test_a_channel_failure_never_shows_its_url(webhooks: httpx.Client) -> None:
    channel = Channel(
        ChannelTarget("hook", "webhook", "http://127.0.0.1:9/secret-token-path", SECRET),
        webhooks,
        CLOCK,
    )
    with pytest.raises(ChannelError) as caught:
        channel.send(trial_message("hook", T0))
    assert "secret-token-path" not in str(caught.value)
    bad = Channel(
        ChannelTarget("slack", "apprise", "slack://not-a-real/token-xyz"), webhooks, CLOCK
    )
    with pytest.raises(ChannelError) as caught:
        bad.send(trial_message("slack", T0))
    assert "token-xyz" not in str(caught.value)


def imagewatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_alerts_test_reports_each_channel(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        path = tmp_path / "imagewatch.toml"
        path.write_text(
            """
[[accounts]]
name = "prod"
api_key_env = "KEY"
[[alerts.channels]]
name = "hook"
kind = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"
[[alerts.channels]]
name = "broken"
url_env = "BROKEN_URL"
""",
            encoding="utf-8",
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "KEY": "sk-x-12345678",
            "HOOK_URL": receiver.url + "/hook",
            "HOOK_SECRET": SECRET,
            "BROKEN_URL": "json://127.0.0.1:9/nothing-listens",
        }
        run_ = imagewatch("alerts", "test", "--config", str(path), env=env)
        assert run_.returncode == 1
        lines = run_.stdout.splitlines()
        assert lines[0] == "hook (webhook): sent"
        assert lines[1].startswith("broken (apprise): FAILED")
        assert receiver.events() == ["test"]
        only = imagewatch("alerts", "test", "--channel", "hook", "--config", str(path), env=env)
        assert only.returncode == 0


def test_silence_command_records_a_silence(tmp_path: Path) -> None:
    path = tmp_path / "imagewatch.toml"
    path.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{tmp_path / "s.db"}"\n'
        '[[accounts]]\nname = "prod"\napi_key_env = "KEY"\n',
        encoding="utf-8",
    )
    env = {"PATH": os.environ.get("PATH", ""), "KEY": "sk-x-12345678"}
    added = imagewatch(
        "silence",
        "--config",
        str(path),
        "--account",
        "prod",
        "--check",
        "generation",
        "--for",
        "2h",
        "--reason",
        "rotating keys",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("silenced prod · generation until ")
    listed = imagewatch("silence", "--config", str(path), "--list", env=env)
    header, line = listed.stdout.splitlines()
    assert header.split() == ["ID", "SCOPE", "UNTIL", "(UTC)", "REASON"]
    assert line.startswith("#1    prod · generation ")
    assert line.endswith(" rotating keys")
    bad = imagewatch(
        "silence", "--config", str(path), "--account", "nobody", "--for", "soon", env=env
    )
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "error: --account: no account named 'nobody'",
        "error: --for: 'soon' is not a duration such as 30m, 2h or 1d",
    ]


def silence_config(tmp_path: Path, alerts: str = "") -> Path:
    path = tmp_path / "imagewatch.toml"
    path.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{tmp_path / "s.db"}"\n'
        '[[accounts]]\nname = "prod"\napi_key_env = "KEY"\n' + alerts,
        encoding="utf-8",
    )
    return path


SILENCE_ENV = {"PATH": os.environ.get("PATH", ""), "KEY": "sk-x-12345678"}


def test_silence_needs_for_and_says_so_in_one_line(tmp_path: Path) -> None:
    path = silence_config(tmp_path)
    run_ = imagewatch("silence", "--config", str(path), "--account", "prod", env=SILENCE_ENV)
    assert run_.returncode == 2
    assert run_.stderr.splitlines() == [
        "error: --for: required: how long the silence lasts, such as 30m, 2h or 1d"
    ]


def test_silence_refuses_more_than_the_configured_cap(tmp_path: Path) -> None:
    path = silence_config(tmp_path)
    args = ("silence", "--config", str(path), "--account", "prod", "--for")
    long = imagewatch(*args, "31d", env=SILENCE_ENV)
    assert long.returncode == 2
    assert long.stderr.splitlines() == [
        "error: --for: 31d is longer than the 30d cap (set [alerts] max_silence to allow more)"
    ]
    assert imagewatch(*args, "30d", env=SILENCE_ENV).returncode == 0
    path = silence_config(tmp_path, '[alerts]\nmax_silence = "2h"\n')
    assert imagewatch(*args, "3h", env=SILENCE_ENV).returncode == 2
    assert imagewatch(*args, "2h", env=SILENCE_ENV).returncode == 0


def test_silence_remove_ends_one_early_and_refuses_an_unknown_id(tmp_path: Path) -> None:
    path = silence_config(tmp_path)
    config_args = ("silence", "--config", str(path))
    for reason in ("first", "second"):
        imagewatch(
            *config_args, "--account", "prod", "--for", "1d", "--reason", reason, env=SILENCE_ENV
        )
    removed = imagewatch(*config_args, "--remove", "1", env=SILENCE_ENV)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == "ended silence #1 (prod · every check)\n"
    listed = imagewatch(*config_args, "--list", env=SILENCE_ENV).stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["#2"]
    for missing in ("1", "99"):
        again = imagewatch(*config_args, "--remove", missing, env=SILENCE_ENV)
        assert again.returncode == 2
        assert again.stderr.splitlines() == [f"error: --remove: no silence #{missing} is in force"]


def test_ending_a_silence_keeps_it_on_record_and_ends_it_once(store: Store) -> None:
    row = silence(store, "prod", None, 3600, "deploy", T0)
    assert row.id is not None
    ended = store.end_silence(row.id, T0 + timedelta(minutes=5))
    assert ended is not None
    assert ended.until == T0 + timedelta(minutes=5)
    assert store.silences_in_force(T0 + timedelta(minutes=6)) == []
    assert store.end_silence(row.id, T0 + timedelta(minutes=6)) is None


def test_silence_list_strips_escape_sequences_from_the_reason(tmp_path: Path) -> None:
    path = silence_config(tmp_path)
    args = ("silence", "--config", str(path), "--account", "prod", "--for", "1h")
    imagewatch(*args, "--reason", "keys\x1b[2J\x1b]0;owned\x07 rotated", env=SILENCE_ENV)
    listed = imagewatch("silence", "--config", str(path), "--list", env=SILENCE_ENV)
    assert "\x1b" not in listed.stdout
    assert "\x07" not in listed.stdout


def test_incident_messages_are_plain_data() -> None:
    incident = Incident(
        id=7,
        account="prod",
        check="generation",
        model="gpt-image-2",
        reason="org_verification_required",
        summary="HTTP 403",
        opened_at=T0,
        updated_at=T0,
    )
    message = incident_message("opened", incident, T0, None)
    assert json.loads(json.dumps(message.payload))["incident"]["id"] == 7


def test_unverifying_an_account_opens_once_and_verifying_resolves_once(
    simulator: Any, tmp_path: Path
) -> None:
    from monitor.simulator.scenarios import scenario

    with http_receiver() as receiver:
        path = tmp_path / "imagewatch.toml"
        path.write_text(
            f"""
[monitor]
database_url = "sqlite:///{tmp_path / "e2e.db"}"
site_dir = "{tmp_path / "public"}"
public_url = "https://status.example.com/"
[[accounts]]
name = "prod"
base_url = "{simulator.url}/v1"
api_key_env = "KEY"
[checks.pricing]
source = "{simulator.url}/_sim/prices/published.json"
[[alerts.channels]]
name = "hook"
kind = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"
""",
            encoding="utf-8",
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "KEY": scenario("verified").api_key,
            "HOOK_URL": receiver.url + "/hook",
            "HOOK_SECRET": SECRET,
        }
        simulator.control("verified", verified=False)
        for _ in range(2):
            once = imagewatch("run", "--once", "--config", str(path), env=env)
            assert once.returncode == 1, once.stderr
        assert receiver.events() == ["opened"]
        opened = receiver.json()[0]
        assert opened["incident"]["reason"] == "org_verification_required"
        assert opened["link"] == "https://status.example.com/accounts/prod.html"
        simulator.control("verified", verified=True)
        healed = imagewatch("run", "--once", "--config", str(path), env=env)
        assert healed.returncode == 0, healed.stdout + healed.stderr
        assert receiver.events() == ["opened", "resolved"]
        resolved = receiver.json()[1]
        assert resolved["incident"]["resolution"].startswith("JPEG 1408x480 generated")
        for request in receiver.requests:
            assert verify(
                SECRET,
                request["headers"]["X-Imagewatch-Timestamp"],
                request["body"],
                request["headers"]["X-Imagewatch-Signature"],
            )
            assert scenario("verified").api_key.encode() not in request["body"]


def test_processing_a_round_of_many_pairs_takes_a_few_statements_not_two_per_result(
    store: Store,
) -> None:
    from sqlalchemy import event

    from tests.test_publish import row

    names = [f"acct-{n:03d}" for n in range(120)]
    loaded = parse(
        {"accounts": [{"name": n, "api_key_env": "KEY"} for n in names]},
        {"KEY": "sk-test-0000000011112222"},
    )
    at = datetime(2026, 11, 1, 12, tzinfo=UTC)
    rows = [row(n, "model_listing", "pass", "listed", "listed", at) for n in names]
    store.add_results(rows)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        process(store, loaded, rows, at)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    # Passes of pairs never seen open nothing: what is left is making and locking the pairs.
    assert len(statements) < len(rows), len(statements)
    assert store.incidents(None, 10) == []
