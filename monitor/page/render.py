"""Render the site's views to files: the Jinja environment over site/templates, the chart
point math, status.json. Pure: views in, bytes by relative path out."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from monitor.page.capabilities import CapabilityMatrix, capability_matrix
from monitor.page.overview import SiteView
from monitor.page.views import AccountView, Chart, History, LimitChart, iso, utc_text

STATUS_SCHEMA_VERSION = 2
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CHART_WIDTH, CHART_HEIGHT = 540, 140
DAY_WIDTH = 3
"""Width of one day in an index bar (90 days: 270 units)."""


class PublishError(Exception):
    """The site cannot be rendered or written; the previous site stays as it was."""


def site_root() -> Path:
    """site/ beside this code in a source checkout (the templates that match it, even when
    another checkout is installed), else as installed from the wheel (the namespace package
    `imagewatch_site`)."""
    checkout = Path(__file__).resolve().parents[2] / "site"
    if (checkout / "templates").is_dir():
        return checkout
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("imagewatch_site")
        for location in (spec.submodule_search_locations or []) if spec else []:
            if (Path(location) / "templates").is_dir():
                return Path(location)
    raise PublishError(f"the site templates are missing (looked in {checkout})")


@functools.lru_cache(maxsize=8)
def x_positions(points: int) -> tuple[str, ...]:
    """The x of each day of a chart of `points` days, as text (the same for every chart)."""
    count = max(1, points - 1)
    return tuple(str(round(position * CHART_WIDTH / count, 1)) for position in range(points))


def chart_points(chart: Chart, index: int) -> list[str]:
    """Polyline segments ("x,y x,y …") of one series, broken where a day has no value."""
    series = chart.series[index]
    xs = x_positions(len(series.points))
    top = chart.maximum  # once: it scans every series
    segments: list[str] = []
    current: list[str] = []
    for x, point in zip(xs, series.points, strict=True):
        if point.value is None:
            if current:
                segments.append(" ".join(current))
                current = []
            continue
        # one decimal: between 10 and 140 the digits of `str(round(y, 1))`, without the
        # rounded float in between
        current.append(f"{x},{CHART_HEIGHT - point.value / top * (CHART_HEIGHT - 10):.1f}")
    if current:
        segments.append(" ".join(current))
    return segments


def chart_lines(chart: Chart) -> Markup:
    """Each series' polylines (and a dot for a lone day), one SVG element a line: numbers and
    fixed words only, so written here rather than escaped value by value in the template (a
    thousand accounts' charts hold hundreds of thousands of points)."""
    lines = []
    for index in range(len(chart.series)):
        for segment in chart_points(chart, index):
            lines.append(
                f'<polyline class="line{index}" fill="none" stroke-width="2" points="{segment}"/>\n'
            )
            if " " not in segment:
                x, y = segment.split(",")
                lines.append(f'<circle class="dot{index}" cx="{x}" cy="{y}" r="3"/>\n')
    return Markup("".join(lines))


def day_rects(history: History, unit: int, gap: int, height: int) -> Markup:
    """A rect per run of days of one status, `unit` wide a day less `gap`, with the run's
    label as its title, one a line. The label is a date, fixed words and counts, the class a
    status: nothing here comes from outside, so nothing needs escaping."""
    return Markup(
        "".join(
            f'<rect x="{start * unit}" y="0" width="{length * unit - gap}" height="{height}" '
            f'class="b-{state}"><title>{label}</title></rect>\n'
            for start, length, state, label in history.runs()
        )
    )


def limit_bars(chart: LimitChart) -> list[tuple[float, float, float, float, str, bool]]:
    """(x, y, width, height, label, over the limit) of each bar; a bar of 0 is a hairline so
    a quiet minute still shows."""
    width = CHART_WIDTH / max(1, len(chart.bars))
    top = chart.maximum
    shapes = []
    for position, bar in enumerate(chart.bars):
        height = max(1.0, round(bar.value / top * CHART_HEIGHT, 1))
        shapes.append(
            (
                round(position * width + width * 0.1, 1),
                round(CHART_HEIGHT - height, 1),
                round(width * 0.8, 1),
                height,
                bar.label,
                bar.over,
            )
        )
    return shapes


def limit_line(chart: LimitChart) -> list[str]:
    """Polyline segments of the limit: a step across each bar, broken where there is none
    (a budget changes with the month's number of days)."""
    width = CHART_WIDTH / max(1, len(chart.bars))
    top = chart.maximum
    segments: list[str] = []
    current: list[str] = []
    for position, bar in enumerate(chart.bars):
        if bar.limit is None:
            if current:
                segments.append(" ".join(current))
                current = []
            continue
        y = round(CHART_HEIGHT - bar.limit / top * CHART_HEIGHT, 1)
        current += [f"{round(position * width, 1)},{y}", f"{round((position + 1) * width, 1)},{y}"]
    if current:
        segments.append(" ".join(current))
    return segments


def environment() -> Environment:
    """The templates, autoescaped (API text is hostile), with the chart helpers; one
    environment per templates folder, so a process publishing again reuses the compiled
    templates (a template edited since is compiled again: Jinja checks its time)."""
    return _environment(site_root() / "templates")


@functools.lru_cache(maxsize=4)
def _environment(templates: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html", "svg", "atom", "xml"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        chart_lines=chart_lines,
        day_rects=day_rects,
        limit_bars=limit_bars,
        limit_line=limit_line,
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        day_width=DAY_WIDTH,
        iso=iso,
        utc_text=utc_text,
    )
    return env


def _moment(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def traffic_json(account: AccountView) -> dict[str, Any]:
    """An account's `usage` (per model) and `spend` numbers in status.json: aggregates only."""
    spend = account.spend
    return {
        "usage": [
            {
                "model": u.model,
                "peak_images_per_minute": {"hour": u.peak_hour, "day": u.peak_day},
                "limit_images_per_minute": u.limit,
                "share_of_limit": None if u.share is None else round(u.share, 4),
                "checked_at": iso(u.checked_at),
            }
            for u in account.usage
        ],
        "spend": None
        if spend is None
        else {
            "today_usd": _usd(spend.today),
            "forecast_month_usd": _usd(spend.forecast_month),
            "monthly_budget_usd": _usd(spend.monthly_budget),
            "drift_pct": None if spend.drift_pct is None else round(spend.drift_pct, 2),
            "checked_at": iso(spend.checked_at),
        },
    }


def status_json(site: SiteView) -> dict[str, Any]:
    """The machine-readable page (schema `STATUS_SCHEMA_VERSION`, documented in the README)."""
    return {
        "version": STATUS_SCHEMA_VERSION,
        "generated_at": iso(site.generated_at),
        "title": site.title,
        "verdict": site.verdict,
        "banner": {
            "state": site.banner.state,
            "headline": site.banner.headline,
            "newest_result_at": _moment(site.banner.newest_result_at),
        },
        "heartbeat": {
            "state": site.heartbeat.state,
            "text": site.heartbeat.text,
            "last_beat_at": _moment(site.heartbeat.last_beat_at),
            "instances": site.heartbeat.instances,
        },
        "open_incidents": [
            {
                "id": incident.id,
                "account": incident.account,
                "check": incident.check,
                "model": incident.model,
                "reason": incident.reason,
                "words": incident.words,
                "summary": incident.summary,
                "opened_at": incident.opened_text,
                "silenced": incident.silenced,
            }
            for incident in site.open_incidents
        ],
        "silences": [
            {
                "account": silence.account,
                "check": silence.check,
                "reason": silence.reason,
                "since": iso(silence.since),
                "until": iso(silence.until),
            }
            for silence in site.silences
        ],
        "accounts": [
            {
                "name": account.name,
                "tags": account.tags,
                "ready": account.ready,
                "models": account.models,
                "uptime_90d": None
                if account.overall is None or account.overall.passing_share is None
                else round(account.overall.passing_share, 6),
                "spend_today_usd": round(account.spend_today, 6),
                "launch": None
                if account.launch is None
                else {
                    "profile": account.launch.get("profile", {}).get("name"),
                    "verdict": account.launch.get("verdict"),
                    "generated_at": account.launch.get("generated_at"),
                },
                "daily_budget_usd": account.budget,
                **traffic_json(account),
                "checks": [cell.as_json() for cell in account.cells],
            }
            for account in site.accounts
        ],
        "capabilities": capability_matrix(site).as_json(),
    }


def status_text(document: dict[str, Any]) -> str:
    """status.json's text: a key a line, and each item of a list on a line of its own, each
    line written by json's C encoder (an `indent` makes json fall back to its pure-Python
    encoder, a tenth of a thousand accounts' render)."""
    line = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    parts = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(map(line, value))
            parts.append(f"  {line(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {line(key)}: {line(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def render(site: SiteView) -> dict[str, bytes]:
    """Every file of the site, by relative path."""
    return {**render_accounts(site, site.accounts), **render_index(site)}


def _page(
    env: Environment,
    site: SiteView,
    matrix: CapabilityMatrix,
    template: str,
    path: str,
    **context: Any,
) -> bytes:
    text = env.get_template(template).render(
        site=site, root="../" * path.count("/"), capabilities=matrix, **context
    )
    return text.encode("utf-8")


def render_accounts(site: SiteView, accounts: Sequence[AccountView]) -> dict[str, bytes]:
    """The page and the badge of each of `accounts` (in `site`: its matrix and heartbeat)."""
    env, matrix = environment(), capability_matrix(site)
    files: dict[str, bytes] = {}
    for account in accounts:
        if not SAFE_NAME.match(account.name):  # config refuses these; a file path must too
            raise PublishError(f"account name {account.name!r} cannot name a page")
        name = account.name
        files[f"accounts/{name}.html"] = _page(
            env, site, matrix, "account.html", f"accounts/{name}.html", account=account
        )
        files[f"badges/{name}.svg"] = _page(
            env, site, matrix, "badge.svg", f"badges/{name}.svg", account=account
        )
    return files


def render_index(site: SiteView) -> dict[str, bytes]:
    """The files about every account: index.html, feed.atom and status.json."""
    env, matrix = environment(), capability_matrix(site)
    return {
        "index.html": _page(env, site, matrix, "index.html", "index.html"),
        "feed.atom": _page(env, site, matrix, "feed.atom", "feed.atom"),
        "status.json": status_text(status_json(site)).encode("utf-8"),
    }
