"""A preview as one self-contained HTML page with plotly (the `preview` extra), imported only when drawn.

The same panels as the image (`static`), zoomable: drag to zoom (every panel follows, the time axis is
shared), double-click to reset, the buttons pick a day or an hour; hovering tells a device's kW, a
fault's targets and span. plotly.js is embedded in the page (about 4.7 MB), so it opens offline and
loads nothing from the network. The times are the scenario's local wall-clock times.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from iot_mock.preview.series import Series
from iot_mock.preview.style import Detail, action_colour, kind_colour, lines_mode, order, shown, targets_label, title

SITE_PX = 320
ROW_PX = 95
TIMELINE_LANE_PX = 34


def draw(series: Series, out: Path, *, detail: Detail = "auto", top: int | None = None) -> None:
    """Write the preview page to `out`."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = order(series, top)
    lines = lines_mode(len(rows), detail)
    lanes = list(dict.fromkeys([band.action for band in series.bands] + [i.action for i in series.instants]))
    detail_px = [ROW_PX] * len(rows) if lines else [min(1100, max(260, 9 * len(rows) + 60))]
    heights = [SITE_PX, *detail_px, *([TIMELINE_LANE_PX * len(lanes) + 50] if lanes else [])]
    names = [
        "Site power by kind (bucket means, kW)",
        *(
            [f"Per device ({shown(series, rows)}): mean, and min to max within each bucket (kW)"]
            + [""] * (len(rows) - 1)
            if lines
            else []
        ),
        *([] if lines else [f"Per device ({shown(series, rows)}, by kind): bucket mean as % of the device's peak"]),
        *(["Events and faults: bars, a span in force; marks, an instant action"] if lanes else []),
    ]
    figure = make_subplots(
        rows=len(heights), cols=1, shared_xaxes=True, row_heights=heights, subplot_titles=names,
        vertical_spacing=min(0.06, 40 / sum(heights)),
    )  # fmt: skip
    for name in figure.layout.annotations:  # the panels' titles, left-aligned as in the image
        name.update(x=0.0, xanchor="left", font={"size": 13})
    clock = _Clock(series)
    x = clock.texts(series.centers)

    totals = series.kind_totals()
    for kind, values in totals.items():
        colour = kind_colour(kind)
        figure.add_trace(
            go.Scatter(
                x=x, y=_f4(values), name=f"{kind} ({series.kinds.count(kind)})", stackgroup="site", mode="lines",
                line={"width": 0.4, "color": colour}, fillcolor=_rgba(colour, 0.7), legendgroup="site",
                hovertemplate=f"{kind}: %{{y:.1f}} kW<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            x=x, y=_f4(series.total()), name="site total", mode="lines", line={"width": 1.2, "color": "black"},
            legendgroup="site", hovertemplate="site total: %{y:.1f} kW<extra></extra>",
        ),
        row=1, col=1,
    )  # fmt: skip
    figure.update_yaxes(title_text="kW", rangemode="tozero", row=1, col=1)

    position = {row: i for i, row in enumerate(rows)}
    if lines:
        for i, row in enumerate(rows):
            _device_lines(figure, go, series, row, x, i + 2)
    else:
        _heatmap(figure, go, series, rows, x)
    _bands(figure, series, clock, lines, position)
    if lanes:
        _timeline(figure, go, series, clock, lanes, len(heights))

    figure.update_xaxes(type="date", showgrid=True, gridcolor="#e5e5e5")  # the timeline's bars are dates too
    figure.update_xaxes(title_text=clock.label, row=len(heights), col=1)
    figure.update_xaxes(
        rangeselector={
            "buttons": [
                {"count": 1, "label": "1 h", "step": "hour", "stepmode": "backward"},
                {"count": 6, "label": "6 h", "step": "hour", "stepmode": "backward"},
                {"count": 1, "label": "1 day", "step": "day", "stepmode": "backward"},
                {"step": "all", "label": "all"},
            ],
            "x": 1.0,
            "xanchor": "right",
            "y": 1.0,
            "yanchor": "bottom",
        },
        row=1, col=1,
    )  # fmt: skip
    figure.update_layout(
        title={"text": title(series), "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=sum(heights) + 160,
        margin={"l": 150, "r": 40, "t": 110, "b": 60},
        legend={"orientation": "v", "x": 1.02, "y": 1.0, "groupclick": "toggleitem"},
        hovermode="closest",
    )
    figure.write_html(
        out, include_plotlyjs=True, include_mathjax=False, full_html=True,
        config={"displaylogo": False, "scrollZoom": True, "toImageButtonOptions": {"filename": out.stem}},
    )  # fmt: skip


def _device_lines(figure: Any, go: Any, series: Series, row: int, x: list[str], at: int) -> None:
    colour = kind_colour(series.kinds[row])
    device_id = series.ids[row]
    common = {"mode": "lines", "showlegend": False, "legendgroup": device_id}
    outline_x, outline_y = _envelope(x, series.low[row], series.high[row])
    figure.add_trace(
        go.Scatter(
            x=outline_x, y=outline_y, line={"width": 0}, fill="toself", fillcolor=_rgba(colour, 0.3),
            hoverinfo="skip", **common,
        ),
        row=at, col=1,
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            x=x, y=_f4(series.mean[row]), line={"width": 1, "color": colour}, name=device_id,
            customdata=np.stack([series.low[row], series.high[row]], axis=1).astype(np.float32),
            hovertemplate=f"{device_id}: %{{y:.2f}} kW (min %{{customdata[0]:.2f}}, max %{{customdata[1]:.2f}})"
            "<extra></extra>",
            **common,
        ),
        row=at, col=1,
    )  # fmt: skip
    figure.update_yaxes(rangemode="tozero", nticks=4, row=at, col=1)
    figure.add_annotation(
        text=f"{device_id}<br>{series.kinds[row]}, kW", xref="paper", yref=f"y{at} domain", x=-0.035, y=0.5,
        xanchor="right", showarrow=False, align="right",
    )  # fmt: skip


def _envelope(x: list[str], low: Any, high: Any) -> tuple[list[str | None], list[float | None]]:
    """The min-to-max band as one outline per run of buckets with readings, runs apart (None): plotly fills
    each closed piece, where a fill between two lines with gaps would bridge the gaps."""
    present = ~np.isnan(high)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], present, [False]]).astype(np.int8)))
    outline_x: list[str | None] = []
    outline_y: list[float | None] = []
    for first, after in zip(edges[::2], edges[1::2], strict=True):
        piece = x[first:after]
        outline_x += [*piece, *piece[::-1], None]
        outline_y += [*np.round(high[first:after], 3).tolist(), *np.round(low[first:after][::-1], 3).tolist(), None]
    return outline_x, outline_y


def _heatmap(figure: Any, go: Any, series: Series, rows: list[int], x: list[str]) -> None:
    peaks = np.nanmax(np.where(np.isnan(series.high), 0.0, series.high)[rows], axis=1, keepdims=True)
    kw = series.mean[rows]
    share = kw / np.where(peaks > 0, peaks, 1.0) * 100
    domain = figure.layout.yaxis2.domain
    figure.add_trace(
        go.Heatmap(
            z=share.astype(np.float32), x=x, y=[series.ids[row] for row in rows], customdata=kw.astype(np.float32),
            zmin=0, zmax=100, colorscale="Viridis", name="per device", showlegend=False,
            colorbar={"title": {"text": "% of peak"}, "len": domain[1] - domain[0], "y": domain[0], "yanchor": "bottom",
                      "x": 1.0, "xanchor": "left", "thickness": 12},
            hovertemplate="%{y}<br>%{x}<br>%{customdata:.2f} kW (%{z:.0f} % of its peak)<extra></extra>",
        ),
        row=2, col=1,
    )  # fmt: skip
    figure.update_yaxes(autorange="reversed", tickfont={"size": 9 if len(rows) <= 40 else 7}, row=2, col=1)


def _bands(figure: Any, series: Series, clock: _Clock, lines: bool, position: dict[int, int]) -> None:
    """Site-wide faults shaded across the site and the devices, labelled; the others on their devices' rows."""
    row_of = {series.ids[row]: row for row in position}  # the devices drawn
    detail_rows = range(2, 2 + (len(position) if lines else 1))
    labelled = -series.until  # a label at most every 4 % of the span: a fault at a rate would stack them
    for band in series.bands:
        x0, x1 = clock.texts([band.start, max(band.end, band.start + 1.0)])
        colour = action_colour(band.action)
        if band.site_wide:
            label = band.start - labelled >= 0.04 * series.until
            labelled = band.start if label else labelled
            for at in [1, *detail_rows]:
                figure.add_vrect(
                    x0=x0, x1=x1, fillcolor=colour, opacity=0.18, line_width=0, layer="below" if at > 1 else "above",
                    row=at, col=1, **({"annotation_text": band.action, "annotation_position": "top left",
                                       "annotation_font_color": colour} if at == 1 and label else {}),
                )  # fmt: skip
            continue
        for device_id in band.targets:
            row = row_of.get(device_id)
            if row is None:
                continue
            if lines:
                figure.add_vrect(
                    x0=x0, x1=x1, fillcolor=colour, opacity=0.25, line_width=0, row=2 + position[row], col=1
                )
            else:
                y = position[row]
                figure.add_shape(
                    type="rect", x0=x0, x1=x1, y0=y - 0.5, y1=y + 0.5, line={"color": colour, "width": 1.5},
                    fillcolor=_rgba(colour, 0.25), row=2, col=1,
                )  # fmt: skip


def _timeline(figure: Any, go: Any, series: Series, clock: _Clock, lanes: list[str], at: int) -> None:
    for action in lanes:
        bands = [band for band in series.bands if band.action == action]
        colour = action_colour(action)
        if bands:
            spans_ms = [(max(b.end, b.start + 1.0) - b.start) * 1000 for b in bands]
            starts = clock.texts([band.start for band in bands])
            ends = clock.texts([max(band.end, band.start + 1.0) for band in bands])
            figure.add_trace(
                go.Bar(
                    base=starts, x=spans_ms, y=[action] * len(bands),
                    orientation="h", name=action, marker={"color": colour}, legendgroup="timeline",
                    legendgrouptitle={"text": "faults and events"},
                    customdata=[[targets_label(b.targets), s, e] for b, s, e in zip(bands, starts, ends, strict=True)],
                    hovertemplate=f"{action} on %{{customdata[0]}}<br>%{{customdata[1]}} to %{{customdata[2]}}"
                    "<extra></extra>",
                ),
                row=at, col=1,
            )  # fmt: skip
        instants = [instant for instant in series.instants if instant.action == action]
        if instants:
            figure.add_trace(
                go.Scatter(
                    x=clock.texts([i.t for i in instants]), y=[action] * len(instants), mode="markers",
                    marker={"symbol": "line-ns-open", "size": 16, "line": {"width": 2, "color": colour}},
                    name=action, showlegend=not bands, legendgroup="timeline",
                    customdata=[targets_label(i.targets) for i in instants],
                    hovertemplate=f"{action} on %{{customdata}}<br>%{{x}}<extra></extra>",
                ),
                row=at, col=1,
            )  # fmt: skip
    figure.update_yaxes(
        autorange="reversed", type="category", categoryorder="array", categoryarray=lanes, row=at, col=1
    )
    figure.update_layout(barmode="overlay")


class _Clock:
    """Times as plotly shows them, unchanged (it has no timezones): the scenario's local wall-clock time, or,
    when its clocks change within the span (a DST switch), the fixed UTC offset of the start, so that time
    never runs backwards on the axis; its title says which."""

    def __init__(self, series: Series) -> None:
        self.series = series
        offsets = {moment.utcoffset() for moment in series.local(series.edges)}
        offset = series.local([0.0])[0].utcoffset() or timedelta(0)
        self.zone = None if len(offsets) == 1 else timezone(offset)
        if self.zone is None:
            self.label = f"local time ({series.timezone})"
        else:
            sign, minutes = ("+" if offset.total_seconds() >= 0 else "-"), abs(int(offset.total_seconds())) // 60
            self.label = (
                f"time at UTC{sign}{minutes // 60:02d}:{minutes % 60:02d} ({series.timezone} at the start: "
                "its clocks change within the span)"
            )

    def texts(self, seconds: Any) -> list[str]:
        moments = self.series.local(seconds)
        if self.zone is not None:
            moments = [moment.astimezone(self.zone) for moment in moments]
        return [moment.strftime("%Y-%m-%d %H:%M:%S") for moment in moments]


def _f4(values: Any) -> Any:
    """float32 (plotly sends numpy arrays as typed binary): half the page's size, plenty for a picture."""
    return np.asarray(values, dtype=np.float32)


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
