"""Where messages go: an explicit registry of channel kinds. `apprise` takes any Apprise URL
(Slack, Teams, Discord, email, ntfy, PagerDuty, …); `webhook` posts imagewatch's versioned
JSON signed with HMAC-SHA256 over `<timestamp>.<body>`."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from monitor.alerts.messages import Message
from monitor.config import ChannelSection, ConfigError, LoadedConfig

SIGNATURE_HEADER = "X-Imagewatch-Signature"
TIMESTAMP_HEADER = "X-Imagewatch-Timestamp"
EVENT_HEADER = "X-Imagewatch-Event"
WEBHOOK_TIMEOUT = 15.0


class ChannelError(Exception):
    """A delivery that failed; the text is safe to store (no URL, no secret)."""


@dataclasses.dataclass
class Channel:
    name: str
    kind: str
    url: str
    secret: str | None = None

    def scrub(self, text: str) -> str:
        for secret in (self.url, self.secret):
            if secret:
                text = text.replace(secret, "[secret]")
        return text[:500]

    def send(self, message: Message) -> None:
        try:
            SENDERS[self.kind](self, message)
        except ChannelError as exc:
            raise ChannelError(self.scrub(str(exc))) from None
        except Exception as exc:  # a channel library's failure is a delivery failure
            raise ChannelError(self.scrub(f"{type(exc).__name__}: {exc}")) from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers: constant-time check of a webhook's signature."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def send_webhook(channel: Channel, message: Message) -> None:
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: message.kind,
        "User-Agent": "imagewatch/0.1",
    }
    if channel.secret:
        headers[SIGNATURE_HEADER] = sign(channel.secret, timestamp, body)
    try:
        response = httpx.post(channel.url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
    except httpx.HTTPError as exc:
        raise ChannelError(f"webhook: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"webhook answered HTTP {response.status_code}")


def send_apprise(channel: Channel, message: Message) -> None:
    import apprise  # heavy: only when a message goes out

    notifier = apprise.Apprise()
    if not notifier.add(channel.url):
        raise ChannelError("not a valid Apprise URL")
    with apprise.LogCapture(level=apprise.logging.WARNING) as logs:  # type: ignore[no-untyped-call]
        delivered = notifier.notify(title=message.title, body=message.body)
    if not delivered:
        detail = " ".join(line.strip() for line in logs.getvalue().splitlines()[-3:])
        raise ChannelError(f"apprise: {detail or 'delivery failed'}")


SENDERS: dict[str, Callable[[Channel, Message], None]] = {
    "apprise": send_apprise,
    "webhook": send_webhook,
}


def channels_from(loaded: LoadedConfig, environ: Mapping[str, str]) -> dict[str, Channel]:
    """Channels with their URLs and secrets from the environment; one line per problem."""
    problems = []
    channels: dict[str, Channel] = {}
    sections: list[ChannelSection] = loaded.config.alerts.channels
    for index, section in enumerate(sections):
        where = f"alerts.channels[{index}]"
        url = environ.get(section.url_env, "").strip()
        if not url:
            problems.append(f"{where}.url_env: environment variable {section.url_env} is not set")
        secret = None
        if section.secret_env:
            secret = environ.get(section.secret_env, "").strip() or None
            if secret is None:
                problems.append(
                    f"{where}.secret_env: environment variable {section.secret_env} is not set"
                )
        elif section.kind == "webhook":
            problems.append(f"{where}.secret_env: a webhook needs a signing secret")
        if section.name in channels:
            problems.append(f"{where}.name: duplicate channel name {section.name!r}")
        channels[section.name] = Channel(section.name, section.kind, url, secret)
    if problems:
        raise ConfigError(problems)
    return channels


def describe(channels: Mapping[str, Channel]) -> list[dict[str, Any]]:
    return [{"name": c.name, "kind": c.kind} for c in channels.values()]
