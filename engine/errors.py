"""Every error iot-mock raises on purpose, so callers can catch one base class.

    IotMockError                 everything we raise on purpose
    ├── ScenarioError            a bad scenario file: .source, .issues (every problem, each located)
    │   └── TemplateError        Jinja failed or exceeded a limit: .line
    ├── CommandError             a command that cannot be applied: .device_id, .reason, .sim_time
    ├── SimulationError          a device process failed: .device_id, .sim_time
    └── Refused                  the run's inbox did not take a change: .reason (engine/runtime/inbox.py)
        ├── Busy                 too many changes already waiting
        └── RunEnded             the run has ended

Only the CLI turns these into exit codes; the API turns them into 4xx responses.
"""

from __future__ import annotations

from dataclasses import dataclass


class IotMockError(Exception):
    """Base of every error raised on purpose by iot-mock."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a scenario file: where it is, what is wrong, and the offending value."""

    line: int | None
    loc: str
    msg: str
    input: object = None
    source: str | None = None
    """The file it is in when not the error's own (a base the scenario `extends:`)."""

    def render(self, source: str) -> str:
        source = self.source or source
        where = f"{source}:{self.line}" if self.line is not None else source
        field = f" {self.loc}:" if self.loc else ""
        return f"{where}:{field} {self.msg}"


class ScenarioError(IotMockError):
    """A scenario file that cannot be used; `issues` lists every problem found, each located."""

    def __init__(self, source: str, issues: list[Issue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(issue.render(source) for issue in issues))


class TemplateError(ScenarioError):
    """The Jinja template of a scenario failed to render or exceeded a limit."""

    def __init__(self, source: str, msg: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(source, [Issue(line, "", msg)])


class CommandError(IotMockError):
    """A command that cannot be applied to a device (unknown device, bad parameters...)."""

    def __init__(self, device_id: str, reason: str, *, sim_time: float | None = None) -> None:
        self.device_id = device_id
        self.reason = reason
        self.sim_time = sim_time
        """The simulated instant it was refused at, when the simulation refused it."""
        super().__init__(f"{device_id}: {reason}")


class DeviceError(CommandError):
    """A device cannot be created, changed or removed as asked."""


class UnknownDevice(DeviceError):
    """No device has this id."""

    def __init__(self, device_id: str) -> None:
        super().__init__(device_id, "unknown device")


class DuplicateDevice(DeviceError):
    """A device with this id exists already."""

    def __init__(self, device_id: str) -> None:
        super().__init__(device_id, "a device with this id exists")


class SimulationError(IotMockError):
    """A device failed while simulating; names the device and the simulated instant."""

    def __init__(self, device_id: str, sim_time: float, reason: str) -> None:
        self.device_id = device_id
        self.sim_time = sim_time
        self.reason = reason
        # All three as args: SimPy re-raises a process's exception as type(exc)(*exc.args).
        super().__init__(device_id, sim_time, reason)

    def __str__(self) -> str:
        return f"{self.device_id} at t={self.sim_time:g}s: {self.reason}"
