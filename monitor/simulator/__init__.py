"""A local OpenAI-compatible API: each API key is a scenario account. Beside the OpenAI
routes it serves an Azure OpenAI face (`/openai/...`) and a gateway face (`/gateway/v1`).

Used by `imagewatch demo`, `imagewatch simulate` (rehearsals) and the end-to-end tests.
"""

from monitor.simulator.app import create_app
from monitor.simulator.azure_scenarios import AZURE_SCENARIOS, AzureScenario
from monitor.simulator.gateway import GATEWAY_SCENARIOS, GatewayScenario
from monitor.simulator.scenarios import SCENARIOS, Scenario

__all__ = [
    "AZURE_SCENARIOS",
    "GATEWAY_SCENARIOS",
    "SCENARIOS",
    "AzureScenario",
    "GatewayScenario",
    "Scenario",
    "create_app",
]
