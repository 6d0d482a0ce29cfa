"""The overview's small charts, as geometry for SVG drawn by the template (no chart script).

Pure functions of the numbers: each bar and segment gets its rectangle and a title (the exact
figure, read out by screen readers and shown on hover); the template also prints the figures as
a table, so colour is never the only way to read a chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecert.services.overview import DayCount

WIDTH = 640
BAR_HEIGHT = 26
LABEL_WIDTH = 130
PLOT_HEIGHT = 160
AXIS_WIDTH = 40
FOOT = 24
TOP = 12  # room above the plot for the top tick's label


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    kind: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    ticks: list[dict[str, Any]] = field(default_factory=list)


def nice_max(value: int) -> int:
    """A round top for the axis: 1, 2, 5, 10, 20, 50... at or above ``value``."""
    if value <= 1:
        return 1
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def horizontal(values: Mapping[str, int], labels: Mapping[str, str]) -> Chart:
    """One bar per key, in order: the waiting requests by time left."""
    top = nice_max(max(values.values(), default=0))
    plot = WIDTH - LABEL_WIDTH - 60
    rects, texts = [], []
    for row, (kind, value) in enumerate(values.items()):
        y = row * (BAR_HEIGHT + 8)
        width = plot * value / top
        rects.append(Rect(LABEL_WIDTH, y, max(width, 1 if value else 0), BAR_HEIGHT, kind, f"{labels[kind]}: {value}"))
        texts.append({"x": LABEL_WIDTH - 8, "y": y + BAR_HEIGHT * 0.68, "text": labels[kind], "anchor": "end"})
        texts.append({"x": LABEL_WIDTH + width + 6, "y": y + BAR_HEIGHT * 0.68, "text": str(value), "anchor": "start"})
    return Chart(WIDTH, len(values) * (BAR_HEIGHT + 8), rects, texts)


def stacked(days: Sequence[DayCount], kinds: Sequence[str], labels: Mapping[str, str]) -> Chart:
    """One stacked bar per day, a segment per kind (bottom to top in ``kinds`` order)."""
    top = nice_max(max((day.total() for day in days), default=0))
    slot = (WIDTH - AXIS_WIDTH) / max(len(days), 1)
    bar = slot * 0.7
    rects, texts = [], []
    for index, day in enumerate(days):
        x = AXIS_WIDTH + index * slot + (slot - bar) / 2
        base: float = TOP + PLOT_HEIGHT
        for kind in kinds:
            value = day.counts.get(kind, 0)
            if not value:
                continue
            height = PLOT_HEIGHT * value / top
            base -= height
            rects.append(Rect(x, base, bar, height, kind, f"{day.day.isoformat()} · {labels[kind]}: {value}"))
        if index % 2 == 0 or len(days) <= 7:
            texts.append(
                {"x": x + bar / 2, "y": TOP + PLOT_HEIGHT + 16, "text": day.day.strftime("%d/%m"), "anchor": "middle"}
            )
    # The middle line only where it is a whole number (a top of 1 has none).
    parts = (0, 0.5, 1) if top % 2 == 0 else (0, 1)
    ticks = [{"y": TOP + PLOT_HEIGHT - PLOT_HEIGHT * part, "value": int(top * part)} for part in parts]
    return Chart(WIDTH, TOP + PLOT_HEIGHT + FOOT, rects, texts, ticks)
