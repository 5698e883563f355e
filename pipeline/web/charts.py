"""The coverage timeline as SVG geometry: lines per series, axes, a legend. Pure.

The template draws what this computes; colours are SVG presentation attributes, which the
Content-Security-Policy allows (inline ``style`` would not be).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.storage.review import Timeline

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000")
WIDTH, HEIGHT = 900, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # tooltip


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: tuple[Point, ...]
    total: int

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    plot: tuple[float, float, float, float]  # left, top, right, bottom

    @property
    def empty(self) -> bool:
        return not self.lines


def timeline_chart(timeline: Timeline) -> Chart:
    days = timeline.days
    peak = max((max(counts, default=0) for _, counts in timeline.series), default=0)
    top = _nice(peak)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    step = (right - LEFT) / max(1, len(days) - 1)

    def x(index: int) -> float:
        return LEFT + index * step if len(days) > 1 else (LEFT + right) / 2

    def y(value: int) -> float:
        return bottom - (bottom - TOP) * value / top

    lines = tuple(
        Line(
            name=name,
            colour=PALETTE[n % len(PALETTE)],
            points=tuple(
                Point(x(i), y(c), f"{name}, {days[i].isoformat()}: {c}")
                for i, c in enumerate(counts)
            ),
            total=sum(counts),
        )
        for n, (name, counts) in enumerate(timeline.series)
    )
    every = max(1, len(days) // 8)
    x_ticks = tuple(
        Tick(x(i), day.strftime("%d %b")) for i, day in enumerate(days) if i % every == 0
    )
    y_ticks = tuple(Tick(y(v), str(v)) for v in range(0, top + 1, max(1, top // 4)))
    return Chart(WIDTH, HEIGHT, lines, x_ticks, y_ticks, (LEFT, TOP, right, bottom))


def _nice(peak: int) -> int:
    """A round axis maximum at or above ``peak`` (at least 4, so ticks are integers)."""
    for bound in (4, 8, 12, 20, 40, 60, 100, 200, 400, 600, 1000, 2000, 4000, 10_000):
        if peak <= bound:
            return bound
    return ((peak // 10_000) + 1) * 10_000
