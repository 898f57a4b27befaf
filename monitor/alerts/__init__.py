"""Alerts: incidents that mean something, an outbox that loses nothing, real channels."""

from monitor.alerts.channels import (
    Channel,
    ChannelError,
    channels_from,
    sign,
    verify,
    webhook_client,
)
from monitor.alerts.incidents import Observation, Policy, State, evaluate
from monitor.alerts.outbox import Delivery, Processed, deliver, process, silence

__all__ = [
    "Channel",
    "ChannelError",
    "Delivery",
    "Observation",
    "Policy",
    "Processed",
    "State",
    "channels_from",
    "deliver",
    "evaluate",
    "process",
    "sign",
    "silence",
    "verify",
    "webhook_client",
]
