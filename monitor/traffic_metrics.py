"""The metric families of the `usage` and `spend` results: an account's real peak images per
minute against its limit, and its image spend against its budget, from the latest result of
each. Labels stay bounded: the account and model come from the config, the window is `hour`
or `day`; never a project id, a message or a key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from checks.spend import Spend
from checks.usage import Usage
from monitor.store import ProbeResult
from monitor.traffic import spend_figures, usage_figures

PREFIX = "imagewatch_"
TRAFFIC_FAMILIES = (
    "imagewatch_usage_peak_images_per_minute",
    "imagewatch_usage_limit_images_per_minute",
    "imagewatch_usage_images",
    "imagewatch_spend_today_usd",
    "imagewatch_spend_forecast_month_usd",
    "imagewatch_spend_monthly_budget_usd",
    "imagewatch_billing_drift_ratio",
)


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, documentation, labels=labels)


def traffic_families(
    latest: Iterable[ProbeResult], models: Mapping[str, Iterable[str]]
) -> list[Metric]:
    """The families, from the latest results of the accounts (and models) in `models`, the
    config's; a result of anything else is not a label value."""
    per_model, per_account = ["account", "model"], ["account"]
    peak = gauge(
        "usage_peak_images_per_minute",
        "The most images made in one minute over the last hour or day (all traffic).",
        [*per_model, "window"],
    )
    limit = gauge(
        "usage_limit_images_per_minute",
        "The images-per-minute limit the usage check compared the peaks with.",
        per_model,
    )
    images = gauge(
        "usage_images",
        "Images made in the usage check's latest window of buckets (all traffic).",
        per_model,
    )
    today = gauge("spend_today_usd", "Image spend today (UTC) from the Costs API.", per_account)
    forecast = gauge(
        "spend_forecast_month_usd",
        "The month's image spend, forecast from the month so far.",
        per_account,
    )
    budget = gauge("spend_monthly_budget_usd", "The account's monthly_budget_usd.", per_account)
    drift = gauge(
        "billing_drift_ratio",
        "Billed cost per image against the published price, as a fraction "
        "(0.05: billed 5 % above it).",
        per_account,
    )
    watched = {account: set(names) for account, names in models.items()}
    spent: set[str] = set()
    for row in sorted(latest, key=lambda r: (r.account, r.model)):
        if row.model not in watched.get(row.account, ()):
            continue
        if row.check == Usage.name:
            usage = usage_figures(row)
            labels = [row.account, row.model]
            for window, value in (("hour", usage.peak_hour), ("day", usage.peak_day)):
                if value is not None:
                    peak.add_metric([*labels, window], float(value))
            for family, number in ((limit, usage.limit), (images, usage.images)):
                if number is not None:
                    family.add_metric(labels, float(number))
        elif row.check == Spend.name and row.account not in spent:
            spent.add(row.account)  # one result per account
            spend = spend_figures(row)
            for family, amount in (
                (today, spend.today),
                (forecast, spend.forecast_month),
                (budget, spend.monthly_budget),
                (drift, spend.drift_ratio),
            ):
                if amount is not None:
                    family.add_metric([row.account], amount)
    return [peak, limit, images, today, forecast, budget, drift]
