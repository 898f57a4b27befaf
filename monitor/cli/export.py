"""`imagewatch export`: print a ready-made integration shipped in the package, to redirect
into a file where Prometheus or Grafana reads it."""

from __future__ import annotations

import click

from monitor.cli.helpers import exits

INTEGRATIONS = {
    "prometheus-rules": "prometheus-rules.yml",
    "grafana-dashboard": "grafana-dashboard.json",
}


def integration_text(what: str) -> str:
    """The shipped file of an integration (a key of `INTEGRATIONS`)."""
    from importlib.resources import files

    return (files("monitor") / "integrations" / INTEGRATIONS[what]).read_text(encoding="utf-8")


@click.command()
@click.argument("what", type=click.Choice(sorted(INTEGRATIONS)))
@exits
def export(what: str) -> int:
    """Print Prometheus alerting rules or a Grafana dashboard for the daemon's /metrics.

    prometheus-rules: YAML for `rule_files` (account not ready, monitor not probing,
    budget nearly spent, price changed, pinned model shutting down within 30 days).
    grafana-dashboard: JSON to import into Grafana, over a Prometheus data source.
    """
    click.echo(integration_text(what), nl=False)
    return 0
