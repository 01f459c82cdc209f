"""iot-mock's engine: scenario files, the device model and the simulation, plus its runtime edge.

The core (`model/`, `contract/`, `scenario/`, `simulation/`) is synchronous, deterministic and free
of sockets and wall clocks; `runtime/` connects it to files, clocks and MQTT.
"""

from engine.errors import CommandError, IotMockError, Issue, ScenarioError, SimulationError, TemplateError
from engine.model.readings import Reading, ReadingBatch, Sink, StatusChange
from engine.model.specs import DeviceSpec, Plan, Scheduled, SiteSpec
from engine.scenario.catalog import load_named, scenario_names
from engine.scenario.format import Scenario
from engine.scenario.loader import LoadedScenario, load_scenario, parse_scenario
from engine.simulation import Entry, Simulation

__all__ = [
    "CommandError",
    "DeviceSpec",
    "Entry",
    "IotMockError",
    "Issue",
    "LoadedScenario",
    "Plan",
    "Reading",
    "ReadingBatch",
    "Scenario",
    "ScenarioError",
    "Scheduled",
    "Simulation",
    "SimulationError",
    "Sink",
    "SiteSpec",
    "StatusChange",
    "TemplateError",
    "load_named",
    "load_scenario",
    "parse_scenario",
    "scenario_names",
]
