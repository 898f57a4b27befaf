"""Where messages go: an explicit registry of channel kinds. `apprise` takes any Apprise URL
(Slack, Teams, Discord, email, ntfy, PagerDuty, …); `webhook` posts imagewatch's versioned
JSON signed with HMAC-SHA256 over `<timestamp>.<body>`. Every message carries its stable
id: `id` in the JSON and the `Idempotency-Key` header, a last line of an Apprise body."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable

import httpx

from checks.base import Clock
from monitor.alerts.messages import Message
from monitor.config import ChannelTarget, LoadedConfig

SIGNATURE_HEADER = "X-Imagewatch-Signature"
TIMESTAMP_HEADER = "X-Imagewatch-Timestamp"
EVENT_HEADER = "X-Imagewatch-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
WEBHOOK_TIMEOUT = 15.0


class ChannelError(Exception):
    """A delivery that failed; the text is safe to store (no URL, no secret)."""


@dataclasses.dataclass(frozen=True)
class Channel:
    """A configured channel, ready to send: a webhook posts through `client` and stamps
    its signature with `clock`'s time. Its repr never shows the URL or the secret."""

    target: ChannelTarget
    client: httpx.Client = dataclasses.field(repr=False)
    clock: Clock = dataclasses.field(repr=False)

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def kind(self) -> str:
        return self.target.kind

    def scrub(self, text: str) -> str:
        for secret in (self.target.url, self.target.secret):
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
    payload = message.payload if message.id is None else {**message.payload, "id": message.id}
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(channel.clock.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: message.kind,
        "User-Agent": "imagewatch/0.1",
    }
    if message.id is not None:
        # A sender that died mid-send sends the message again: same id, same key.
        headers[IDEMPOTENCY_HEADER] = message.id
    if channel.target.secret:
        headers[SIGNATURE_HEADER] = sign(channel.target.secret, timestamp, body)
    try:
        response = channel.client.post(
            channel.target.url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise ChannelError(f"webhook: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"webhook answered HTTP {response.status_code}")


def with_reference(message: Message) -> str:
    """The body a person reads, ending with the message's id: a repeat shows as one."""
    return message.body if message.id is None else f"{message.body}\nMessage id: {message.id}"


def send_apprise(channel: Channel, message: Message) -> None:
    import apprise  # heavy: only when a message goes out

    notifier = apprise.Apprise()
    if not notifier.add(channel.target.url):
        raise ChannelError("not a valid Apprise URL")
    with apprise.LogCapture(level=apprise.logging.WARNING) as logs:  # type: ignore[no-untyped-call]
        delivered = notifier.notify(title=message.title, body=with_reference(message))
    if not delivered:
        detail = " ".join(line.strip() for line in logs.getvalue().splitlines()[-3:])
        raise ChannelError(f"apprise: {detail or 'delivery failed'}")


SENDERS: dict[str, Callable[[Channel, Message], None]] = {
    "apprise": send_apprise,
    "webhook": send_webhook,
}


def webhook_client() -> httpx.Client:
    """The client production sends webhooks through; the caller closes it."""
    return httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False)


def channels_from(loaded: LoadedConfig, client: httpx.Client, clock: Clock) -> dict[str, Channel]:
    """The channels of the config (URLs and secrets were resolved when it loaded), sending
    webhooks through `client` at `clock`'s time."""
    return {target.name: Channel(target, client, clock) for target in loaded.channels}
