"""Charts as PNG images, drawn with matplotlib's object API (a `Figure` on the Agg canvas; never
pyplot, which keeps global state and isn't thread-safe).

A chart is described first as a `Chart` of plain, already translated strings and numbers (in the
update's language), then drawn by `render`, which handlers call through `asyncio.to_thread` so the
event loop never waits on it. 1200 x 800 px with large fonts: readable on a phone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

WIDTH, HEIGHT, DPI = 1200, 800, 100
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 24, 18, 15
COLORS = ("#2f6db5", "#e0872f", "#3a9e5c", "#c0392b", "#8e5ab5", "#7f8c8d", "#b5a02f")
MAX_TICK_LABELS = 14  # more categories: only every n-th is labelled


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    kind: Literal["bars", "stacked", "hbars", "lines"]
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    ylabel: str = ""
    percent: bool = False  # values are shares 0-1, shown as %
    notes: tuple[str, ...] = field(default_factory=tuple)  # under each category (e.g. "n=12")
    empty: str = ""  # shown instead when there is nothing to draw


def figure(chart: Chart) -> Figure:
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(chart.title, fontsize=TITLE_SIZE, pad=16)
    has_data = any(v for s in chart.series for v in s.values)
    if not chart.categories or not has_data:
        ax.axis("off")
        ax.text(0.5, 0.5, chart.empty, ha="center", va="center", fontsize=LABEL_SIZE, transform=ax.transAxes)
        return fig
    positions = list(range(len(chart.categories)))
    if chart.kind == "hbars":
        _hbars(ax, chart, positions)
    elif chart.kind == "lines":
        for i, s in enumerate(chart.series):
            ax.plot(
                positions, s.values, marker="o", linewidth=3, markersize=8, color=COLORS[i % 7], label=s.name
            )
    else:
        _bars(ax, chart, positions)
    if chart.kind != "hbars":
        step = max(1, -(-len(positions) // MAX_TICK_LABELS))
        ax.set_xticks(positions[::step])
        ax.set_xticklabels(
            chart.categories[::step],
            fontsize=TICK_SIZE,
            rotation=30 if step > 1 or len(positions) > 6 else 0,
            ha="right" if len(positions) > 6 else "center",
        )
        ax.set_ylabel(chart.ylabel, fontsize=LABEL_SIZE)
        ax.tick_params(axis="y", labelsize=TICK_SIZE)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=not chart.percent))
        if chart.percent:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v * 100:.0f}%"))
        for x, note in zip(positions, chart.notes, strict=False):
            if note:
                ax.annotate(
                    note,
                    (x, 0),
                    xytext=(0, -4),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize=TICK_SIZE - 3,
                    color="#555555",
                    annotation_clip=False,
                )
        ax.grid(axis="y", alpha=0.3)
    if len(chart.series) > 1:
        ax.legend(fontsize=TICK_SIZE, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _bars(ax, chart: Chart, positions: list[int]) -> None:
    count = len(chart.series)
    if chart.kind == "stacked":
        bottom = [0.0] * len(positions)
        for i, s in enumerate(chart.series):
            ax.bar(positions, s.values, 0.7, bottom=bottom, color=COLORS[i % 7], label=s.name)
            bottom = [b + v for b, v in zip(bottom, s.values, strict=True)]
        return
    width = 0.8 / count
    for i, s in enumerate(chart.series):
        offset = (i - (count - 1) / 2) * width
        ax.bar([p + offset for p in positions], s.values, width, color=COLORS[i % 7], label=s.name)


def _hbars(ax, chart: Chart, positions: list[int]) -> None:
    values = chart.series[0].values
    ax.barh(positions, values, 0.6, color=COLORS[0])
    ax.set_yticks(positions)
    ax.set_yticklabels(chart.categories, fontsize=LABEL_SIZE)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    top = max(values) or 1
    for p, v in zip(positions, values, strict=True):
        ax.text(v + top * 0.01, p, f"{v:g}", va="center", fontsize=TICK_SIZE)
    ax.set_xlabel(chart.ylabel, fontsize=LABEL_SIZE)
    ax.grid(axis="x", alpha=0.3)


def render(chart: Chart) -> bytes:
    """The chart as PNG bytes (CPU work: call it off the event loop)."""
    fig = figure(chart)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
