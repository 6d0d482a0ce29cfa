"""Figures, statistics and the results table shared by every benchmark."""
from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

RUNS = 3  # every figure is the median of this many runs, with min-max


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(round(pct / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def fmt_number(value: float, digits: int | None = None) -> str:
    if value != value:  # NaN
        return "n/a"
    if digits is None:
        magnitude = abs(value)
        digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    return f"{value:,.{digits}f}"


@dataclass
class Figure:
    """One line of the table: the median of its runs, with min-max."""

    section: str
    metric: str
    samples: list[float]
    unit: str
    note: str = ""
    digits: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def value(self) -> str:
        return fmt_number(self.median, self.digits)

    @property
    def spread(self) -> str:
        if len(self.samples) < 2:
            return ""
        return f"{fmt_number(min(self.samples), self.digits)}–{fmt_number(max(self.samples), self.digits)}"


@dataclass
class Text:
    """A line of the table that is words, not a number (e.g. "not available yet")."""

    section: str
    metric: str
    text: str
    note: str = ""


@dataclass
class Results:
    rows: list[Figure | Text] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, section: str, metric: str, samples: Iterable[float], unit: str, note: str = "",
            digits: int | None = None) -> Figure:
        figure = Figure(section, metric, [float(s) for s in samples], unit, note, digits)
        self.rows.append(figure)
        log(f"{section} | {metric}: {figure.value} {unit} ({figure.spread}) {note}".rstrip())
        return figure

    def text(self, section: str, metric: str, text: str, note: str = "") -> None:
        self.rows.append(Text(section, metric, text, note))
        log(f"{section} | {metric}: {text} {note}".rstrip())

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
        log(f"note: {text}")

    def find(self, section: str, metric: str) -> Figure | None:
        for row in self.rows:
            if isinstance(row, Figure) and row.section == section and row.metric == metric:
                return row
        return None

    def order(self, sections: list[str]) -> None:
        """Group the rows by section in this order (unknown sections last), keeping row order."""
        rank = {name: i for i, name in enumerate(sections)}
        self.rows.sort(key=lambda row: rank.get(row.section, len(rank)))

    # -- rendering ---------------------------------------------------------------------------

    def _cells(self) -> list[list[str]]:
        cells = []
        for row in self.rows:
            if isinstance(row, Figure):
                cells.append([row.section, row.metric, row.value, row.spread, row.unit, row.note])
            else:
                cells.append([row.section, row.metric, row.text, "", "", row.note])
        return cells

    def plain_table(self) -> str:
        header = ["section", "metric", "median", "min–max", "unit", "note"]
        cells = self._cells()
        widths = [max(len(header[i]), *(len(c[i]) for c in cells)) if cells else len(header[i]) for i in range(5)]
        lines = []

        def line(values: list[str]) -> str:
            parts = [values[0].ljust(widths[0]), values[1].ljust(widths[1]), values[2].rjust(widths[2]),
                     values[3].ljust(widths[3]), values[4].ljust(widths[4]), values[5]]
            return "  ".join(parts).rstrip()

        lines.append(line(header))
        lines.append("  ".join("-" * w for w in widths) + "  ----")
        previous = None
        for c in cells:
            if previous is not None and c[0] != previous:
                lines.append("")
            previous = c[0]
            lines.append(line(c))
        return "\n".join(lines)

    def markdown_table(self) -> str:
        lines = ["| section | metric | median | min–max | unit | note |", "|---|---|--:|---|---|---|"]
        for c in self._cells():
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in c) + " |")
        return "\n".join(lines)


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Per-run ratios of paired runs (run i of A over run i of B), skipping zero denominators."""
    return [a / b for a, b in zip(numerators, denominators) if b]


def rate_loop(fn: Callable[[], object], *, seconds: float, max_count: int, min_count: int = 3) -> float:
    """Calls of ``fn`` per second, calling it until ``seconds`` passed (bounded by ``max_count``)."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while count < max_count and (count < min_count or time.perf_counter() < deadline):
        fn()
        count += 1
    elapsed = time.perf_counter() - start
    return count / elapsed if elapsed > 0 else float("nan")
