"""When and on what an action applies: the forms of one action in the scenario format and the API.

A scenario's event is an action `at` a time or at a `rate`, on a `target` (`ScheduledEvent`); the API's
injected event is an action on a `target`, now (`TargetedAction`); a recorded session's change is an
action at an exact instant on the ids it resolved to (`RECORDED_ACTIONS`). Each is the union of every
action of `engine.scenario.actions` with those fields added, so a new action has all three forms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.contract.topics import ID_PATTERN
from engine.scenario.actions import ACTIONS
from engine.scenario.fields import At, Rate, Target

if TYPE_CHECKING:
    from engine.scenario.actions import _Action


class _When(BaseModel):
    """When an event happens: once `at` a time, or at seeded random instants (`rate`, `from`, `until`).

    Which of them may go together is checked by `engine.scenario.compile.check`, located at the field.
    """

    # `extra` is the action's: forbidden, or a fault's parameters
    model_config = ConfigDict(frozen=True, json_schema_extra=lambda schema, event: _event_schema(schema, event))

    at: At | None = Field(
        None,
        description=(
            "When, once: a local date-time in the scenario's timezone ('2025-08-05T14:00'), or relative to the "
            "start ('+2d09:00', '+90m')."
        ),
    )
    rate: Rate | None = Field(None, description="Instead of `at`: seeded random arrivals, e.g. '3/day'.")
    from_: At | None = Field(
        None, alias="from", description="With `rate`: arrivals from this time on (default: the start of the run)."
    )
    until: At | None = Field(
        None, description="With `rate`: arrivals before this time (default: until the end of the run)."
    )
    target: Target = "all"


def _event_schema(schema: dict[str, Any], event: type[BaseModel]) -> None:
    """An event's JSON Schema: `at` or `rate`, and its action's examples."""
    schema["oneOf"] = [{"required": ["at"]}, {"required": ["rate"]}]
    if issubclass(event, ACTIONS):
        schema["examples"] = event.examples()


class _On(BaseModel):
    model_config = ConfigDict(frozen=True)  # as _When

    target: Target


def _recorded_schema(schema: dict[str, Any], recorded: type[BaseModel]) -> None:
    """A recorded change's JSON Schema: its action's examples as a recording writes them (exact `at`, ids)."""
    if issubclass(recorded, ACTIONS):
        schema["examples"] = [_as_recorded(example) for example in recorded.examples()]


def _as_recorded(event: dict[str, Any]) -> dict[str, Any]:
    """An example event as a recording holds it: at an exact instant, on the ids it resolved to."""
    target = event.get("target")
    ids = [target] if isinstance(target, str) and target != "all" else target if isinstance(target, list) else ["ac"]
    params = {key: value for key, value in event.items() if key not in {"at", "rate", "from", "until", "target"}}
    return {"at": 3600.25, "action": params.pop("action"), "target": ids, **params}


class _Recorded(BaseModel):
    """When and where a live session applied an action: its exact instant and the ids it resolved to."""

    model_config = ConfigDict(frozen=True, json_schema_extra=_recorded_schema)  # frozen as _When

    at: float = Field(
        ge=0,
        allow_inf_nan=False,
        description="Seconds since the start, a number written with every digit (the live run's exact instant).",
    )
    target: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        description="The ids of the devices it applied to, as the live run resolved them."
    )


def _members(base: type[BaseModel], suffix: str) -> tuple[Any, ...]:
    """Every action with the fields of `base` added, each named `<Action><suffix>`.

    Each is a name of this module too, so a plan pickles (`--jobs` hands it to its workers)."""
    members = tuple(
        create_model(f"{cls.__name__}{suffix}", __base__=(cls, base), __doc__=cls.__doc__, __module__=__name__)
        for cls in ACTIONS
    )
    globals().update((member.__name__, member) for member in members)
    return members


def _with(base: type[BaseModel], suffix: str) -> Any:
    """The union of every action with the fields of `base` added (its members named `<Action><suffix>`)."""
    return Annotated[Union[_members(base, suffix)], Field(discriminator="action")]  # noqa: UP007 - a union from a tuple


RECORDED_ACTIONS: tuple[Any, ...] = _members(_Recorded, "Recorded")
"""Every action as a recorded session's change holds it (`at` exact seconds, `target` ids): members of
the format's `SessionChange` union."""


if TYPE_CHECKING:

    class ScheduledEvent(_When, _Action):
        """An entry of a scenario's `events:`: an action, `at` a time, on a `target`."""

    class TargetedAction(_On, _Action):
        """An action on a `target`, now (the API's injected event)."""

else:
    ScheduledEvent = _with(_When, "Event")
    TargetedAction = _with(_On, "Now")
