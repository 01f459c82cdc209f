"""What each timeline action does to a meter when it starts and when it ends.

Actions nest: two overlapping outages keep the supply off until both have ended, and two
brownouts multiply. The simulation samples every target up to the instant before applying one.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.model.meter import Meter
from engine.model.specs import Action, TimelineEvent

Effect = Callable[[Meter, TimelineEvent], None]


def _outage_start(meter: Meter, event: TimelineEvent) -> None:
    meter.outages += 1


def _outage_end(meter: Meter, event: TimelineEvent) -> None:
    meter.outages = max(0, meter.outages - 1)


def _comm_loss_start(meter: Meter, event: TimelineEvent) -> None:
    meter.comm_losses += 1


def _comm_loss_end(meter: Meter, event: TimelineEvent) -> None:
    meter.comm_losses = max(0, meter.comm_losses - 1)


def _brownout_start(meter: Meter, event: TimelineEvent) -> None:
    meter.brownouts.append(event.factor if event.factor is not None else 0.85)


def _brownout_end(meter: Meter, event: TimelineEvent) -> None:
    factor = event.factor if event.factor is not None else 0.85
    if factor in meter.brownouts:
        meter.brownouts.remove(factor)


def _stuck_start(meter: Meter, event: TimelineEvent) -> None:
    meter.freeze()


def _stuck_end(meter: Meter, event: TimelineEvent) -> None:
    meter.unfreeze()


def _disable(meter: Meter, event: TimelineEvent) -> None:
    meter.enabled = False


def _enable(meter: Meter, event: TimelineEvent) -> None:
    meter.enabled = True


EFFECTS: dict[Action, tuple[Effect, Effect | None]] = {
    "outage": (_outage_start, _outage_end),
    "comm_loss": (_comm_loss_start, _comm_loss_end),
    "brownout": (_brownout_start, _brownout_end),
    "stuck": (_stuck_start, _stuck_end),
    "disable": (_disable, _enable),
    "enable": (_enable, None),
}
"""start and end effect of each action; `end` runs after the event's duration, if it has one."""
