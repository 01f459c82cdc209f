"""A preview as a PNG or SVG image, with matplotlib (the `preview` extra), imported only when one is drawn.

From the top: the site's power stacked by kind with its total; per device a row of lines (the bucket
mean, and the min-to-max envelope that keeps spikes visible) or, for many devices, a heatmap (one row
per device, grouped by kind); the timeline, one lane per action. A fault on most of the devices is
shaded across the site; one on fewer, on its devices' rows. The axes show the scenario's local time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from iot_mock.preview.series import Series
from iot_mock.preview.style import Detail, action_colour, kind_colour, lines_mode, order, shown, title

WIDTH = 15.0
"""Inches; at DPI, the plot area is about 1,500 pixels wide, one per bucket by default."""
DPI = 110


def draw(series: Series, out: Path, *, detail: Detail = "auto", top: int | None = None) -> None:
    """Write the preview to `out` (`.png` or `.svg`, by its suffix)."""
    import matplotlib
    from matplotlib import dates
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    zone = ZoneInfo(series.timezone)
    x = dates.date2num(series.local(series.centers))
    edges = dates.date2num(series.local(series.edges))
    rows = order(series, top)
    lines = lines_mode(len(rows), detail)
    lanes = list(dict.fromkeys([band.action for band in series.bands] + [i.action for i in series.instants]))
    detail_heights = [0.75] * len(rows) if lines else [min(9.0, max(2.0, 0.075 * len(rows) + 0.6))]
    sections = [2.6, sum(detail_heights) + 0.1 * len(detail_heights), *([0.3 * len(lanes) + 0.35] if lanes else [])]
    height = sum(sections) + 0.45 * len(sections) + 1.0  # each section's title, the figure's title, the time axis
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10}):
        figure = Figure(figsize=(WIDTH, height), dpi=DPI)
        grid = figure.add_gridspec(
            len(sections), 1, height_ratios=sections, hspace=0.45 * len(sections) / sum(sections)
        )
        figure.subplots_adjust(left=0.11, right=0.86, top=1 - 0.85 / height, bottom=0.6 / height)
        site = figure.add_subplot(grid[0])
        rows_grid = grid[1].subgridspec(len(detail_heights), 1, height_ratios=detail_heights, hspace=0.15)
        detail_axes = [figure.add_subplot(rows_grid[i], sharex=site) for i in range(len(detail_heights))]
        axes = [site, *detail_axes, *([figure.add_subplot(grid[2], sharex=site)] if lanes else [])]
        figure.suptitle(title(series), x=0.11, y=1 - 0.2 / height, ha="left", fontsize=11, fontweight="bold")

        # The site: stacked by kind, and its total.
        totals = series.kind_totals()
        counts = {kind: series.kinds.count(kind) for kind in totals}
        site.stackplot(
            x, *totals.values(), colors=[kind_colour(k) for k in totals], alpha=0.75, linewidth=0,
            labels=[f"{kind} ({counts[kind]})" for kind in totals],
        )  # fmt: skip
        site.plot(x, series.total(), color="black", linewidth=0.9, label="site total")
        site.set_ylabel("site power (kW)")
        site.set_ylim(bottom=0)
        site.set_title("Site power by kind (bucket means)", loc="left")
        _grid(site)

        if lines:
            for ax, row in zip(detail_axes, rows, strict=True):
                colour = kind_colour(series.kinds[row])
                ax.fill_between(x, series.low[row], series.high[row], step="mid", color=colour, alpha=0.3, linewidth=0)
                ax.plot(x, series.mean[row], color=colour, linewidth=0.8)
                ax.set_ylabel(f"{series.ids[row]}\n{series.kinds[row]}, kW", rotation=0, ha="right", va="center")
                ax.set_ylim(bottom=0)
                ax.locator_params(axis="y", nbins=3)
                _grid(ax)
            detail_axes[0].set_title(
                f"Per device ({shown(series, rows)}): mean, and min to max within each bucket (kW)", loc="left"
            )
        else:
            _heatmap(series, detail_axes[0], rows, edges)

        _bands(series, site, detail_axes, rows, lines)
        handles, labels = site.get_legend_handles_labels()
        shaded = list(dict.fromkeys(band.action for band in series.bands))
        handles += [Patch(color=action_colour(a), alpha=0.4) for a in shaded]
        labels += [f"shaded: {a}" for a in shaded]
        site.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)

        if lanes:
            _timeline(series, axes[-1], lanes)

        bottom = axes[-1]
        locator = dates.AutoDateLocator(tz=zone, minticks=6, maxticks=14)
        bottom.xaxis.set_major_locator(locator)
        formats = ["%Y", "%b", "%a %d", "%H:%M", "%H:%M", "%S.%f"]  # the day with its weekday: Mon 04
        bottom.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator, tz=zone, formats=formats))
        bottom.set_xlim(edges[0], edges[-1])
        bottom.set_xlabel(f"local time ({series.timezone})")
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)
        figure.savefig(out, format=out.suffix.lower().lstrip("."))


def _bands(series: Series, site: Any, detail_axes: list[Any], rows: list[int], lines: bool) -> None:
    """Site-wide faults shaded across the site and the devices, labelled (a label at most every 4 % of the
    span: a fault at a rate would stack them); the others on their devices' rows, hatched in a heatmap."""
    from matplotlib import dates
    from matplotlib.patches import Rectangle

    where = dict(zip(rows, detail_axes, strict=True)) if lines else {}
    position = {row: i for i, row in enumerate(rows)}
    row_of = {series.ids[row]: row for row in rows}  # the devices drawn
    labelled = -series.until
    for band in series.bands:
        start, end = dates.date2num(series.local([band.start, max(band.end, band.start + 1.0)]))
        colour = action_colour(band.action)
        if band.site_wide:
            for ax in [site, *detail_axes]:
                ax.axvspan(start, end, color=colour, alpha=0.18, linewidth=0)
            if band.start - labelled >= 0.04 * series.until:
                labelled = band.start
                site.annotate(
                    band.action, (start, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                    textcoords="offset points", va="top", fontsize=8, color=colour, fontweight="bold",
                )  # fmt: skip
            continue
        for row in (row_of[device_id] for device_id in band.targets if device_id in row_of):
            if lines:
                where[row].axvspan(start, end, color=colour, alpha=0.25, linewidth=0)
            else:
                detail_axes[0].add_patch(
                    Rectangle((start, position[row] - 0.5), end - start, 1.0, facecolor="none", edgecolor=colour,
                              hatch="////", linewidth=0.6)
                )  # fmt: skip


def _grid(ax: Any) -> None:
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _heatmap(series: Series, ax: Any, rows: list[int], edges: Any) -> None:
    """One row per device: its bucket mean as a share of its own peak (devices of 8 and 120 kW side by
    side), grey where it sent nothing; kinds grouped, separated by a line."""
    import matplotlib

    peaks = np.nanmax(np.where(np.isnan(series.high), 0.0, series.high)[rows], axis=1, keepdims=True)
    share = series.mean[rows] / np.where(peaks > 0, peaks, 1.0) * 100
    colours = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    image = ax.imshow(
        share, aspect="auto", interpolation="nearest", cmap=colours, vmin=0, vmax=100,
        extent=(edges[0], edges[-1], len(rows) - 0.5, -0.5),
    )  # fmt: skip
    kinds = [series.kinds[row] for row in rows]
    groups = list(dict.fromkeys(kinds))
    if len(rows) <= 40:
        ax.set_yticks(range(len(rows)), [series.ids[row] for row in rows], fontsize=6 if len(rows) > 20 else 8)
    else:
        first = [kinds.index(kind) for kind in groups]
        ax.set_yticks(
            [f + kinds.count(kind) / 2 - 0.5 for f, kind in zip(first, groups, strict=True)],
            [f"{kind} ({kinds.count(kind)})" for kind in groups],
        )
    for kind in groups[1:]:
        ax.axhline(kinds.index(kind) - 0.5, color="white", linewidth=1.2)
    ax.set_title(
        f"Per device ({shown(series, rows)}, by kind): bucket mean as % of the device's peak; grey: no readings; "
        "hatched: a fault on that device",
        loc="left",
    )
    bar = ax.inset_axes((1.01, 0.0, 0.012, 1.0))
    ax.figure.colorbar(image, cax=bar, label="% of peak")


def _timeline(series: Series, ax: Any, lanes: list[str]) -> None:
    """One lane per action: a bar per occurrence of one that lasts, a tick per one that does not."""
    from matplotlib import dates

    lane = {action: i for i, action in enumerate(lanes)}
    for band in series.bands:
        start, end = dates.date2num(series.local([band.start, max(band.end, band.start + 1.0)]))
        ax.broken_barh(
            [(start, end - start)], (lane[band.action] - 0.35, 0.7), color=action_colour(band.action),
            alpha=0.9 if band.site_wide else 0.6,
        )  # fmt: skip
    for instant in series.instants:
        (t,) = dates.date2num(series.local([instant.t]))
        ax.plot([t], [lane[instant.action]], marker="|", markersize=10, color=action_colour(instant.action))
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_title("Events and faults: bars, a span in force (darker: site-wide); ticks, an instant action", loc="left")
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
