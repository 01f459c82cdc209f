"""The look both renderers share: colours per kind and per action, the layout's thresholds, the labels."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from iot_mock.preview.series import Series

Detail = Literal["auto", "lines", "heatmap"]
LINES_UP_TO = 12
"""`--detail auto`: one row of lines per device up to this many devices, a heatmap above."""

KIND_COLOURS = {
    "hvac": "#1f77b4",
    "lighting": "#e6b400",
    "server": "#7f3fbf",
    "industrial": "#6b6b6b",
    "appliance": "#2ca02c",
}
ACTION_COLOURS = {
    "outage": "#d62728",
    "comm_loss": "#8c564b",
    "brownout": "#ff7f0e",
    "trip": "#e377c2",
    "stuck": "#17becf",
    "spikes": "#bcbd22",
    "drift": "#9467bd",
    "disable": "#7f7f7f",
}
_OTHERS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1")


def kind_colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, _OTHERS[sum(map(ord, kind)) % len(_OTHERS)])


def action_colour(action: str) -> str:
    return ACTION_COLOURS.get(action, _OTHERS[sum(map(ord, action)) % len(_OTHERS)])


def lines_mode(rows: int, detail: Detail) -> bool:
    """Whether the per-device panel of `rows` devices is one row of lines each (else a heatmap)."""
    return detail == "lines" or (detail == "auto" and rows <= LINES_UP_TO)


def order(series: Series, top: int | None = None) -> list[int]:
    """The device rows to draw: all, or the `top` that used the most energy; grouped by kind (in order of
    first appearance), then in file order."""
    rows = list(range(len(series.ids)))
    if top is not None and top < len(series.ids):
        rows = sorted(sorted(rows, key=lambda row: -series.energy_kwh[row])[:top])
    kinds = list(dict.fromkeys(series.kinds))
    return sorted(rows, key=lambda row: (kinds.index(series.kinds[row]), row))


def shown(series: Series, rows: list[int]) -> str:
    """What the per-device panel shows of the devices, for its title."""
    if len(rows) == len(series.ids):
        return f"{len(rows)} device{'s' if len(rows) != 1 else ''}"
    return f"the {len(rows)} of {len(series.ids)} devices that used the most energy"


def title(series: Series) -> str:
    first, last = series.local([0.0, series.until])
    energy = sum(series.energy_kwh)
    devices = f"{len(series.ids)} device{'s' if len(series.ids) != 1 else ''}"
    return (
        f"{series.title}: {devices}, {_when(first)} to {_when(last)} ({series.timezone}), "
        f"{series.readings:,} readings, {energy:,.0f} kWh"
    )


def _when(moment: datetime) -> str:
    return moment.strftime("%a %Y-%m-%d %H:%M")


def targets_label(targets: tuple[str, ...]) -> str:
    return ", ".join(targets) if len(targets) <= 3 else f"{targets[0]}, {targets[1]} and {len(targets) - 2} more"
