"""A local OpenAI-compatible API: each API key is a scenario account.

Used by `imagewatch demo`, `imagewatch simulate` (rehearsals) and the end-to-end tests.
"""

from monitor.simulator.app import create_app
from monitor.simulator.scenarios import SCENARIOS, Scenario

__all__ = ["SCENARIOS", "Scenario", "create_app"]
