"""The reasons of the checks that read an organization's real traffic and bill (the Admin
API's Usage and Costs endpoints: `usage`, `spend`), listed in `checks.reasons`."""

from __future__ import annotations

from checks.base import Status
from checks.reason import Reason

_P, _W, _F, _U = Status.PASS, Status.WARN, Status.FAIL, Status.UNKNOWN

TRAFFIC_REASONS = [
    Reason("traffic_ok", _P, "Real traffic stays below the images-per-minute limit"),
    Reason(
        "traffic_near_limit",
        _W,
        "Real traffic came near the images-per-minute limit",
        "Raise the tier or the project's limit, or spread the load, before minutes hit it.",
    ),
    Reason(
        "traffic_at_limit",
        _F,
        "Real traffic reached the images-per-minute limit in the last hour",
        "Requests beyond the limit were refused with 429: raise the tier or the project's "
        "limit, or queue the load.",
    ),
    Reason(
        "usage_unavailable",
        _U,
        "The Admin API's usage or costs could not be read",
        "Check the admin key (admin_key_env: an Admin key with read access to usage) and the "
        "project id; see the details for the answer.",
    ),
    Reason("spend_ok", _P, "Image spend as usual, within budget and billed as priced"),
    Reason(
        "spend_jump",
        _W,
        "Today's image spend jumped above the recent days' level",
        "Look for a runaway job or a new caller (usage by API key shows who).",
    ),
    Reason(
        "billing_drift",
        _W,
        "Billed cost per image differs from the published price",
        "The price may have changed before the price lists say so, or the traffic's quality "
        "differs from the one assumed (traffic_quality); compare with the invoice.",
    ),
    Reason(
        "spend_over_budget",
        _F,
        "This month's image spend is forecast above the monthly budget",
        "Raise monthly_budget_usd, or slow the traffic before the month ends.",
    ),
]
