"""The console's charts as SVG drawn on the server: no JavaScript, no chart library.

Each chart is an `<svg role="img">` with a title and a description that says what it
shows; the page puts the same numbers in a table beside it for screen readers and for
copying. Colours come from the Okabe-Ito palette, which stays distinct to colour-blind
eyes, and are set with presentation attributes (the pages' CSP allows no inline style).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#7F3C8D",
    "#999999",
    "#000000",
    "#F0E442",
)
# A narrow drawing, so that its text stays readable when a phone scales it down.
WIDTH, HEIGHT = 480, 250
LEFT, RIGHT, TOP, BOTTOM = 46, 44, 14, 34
INK, GRID, LATE = "#1f2933", "#d9dee3", "#b42318"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def svg(title: str, description: str, body: list[str], height: int = HEIGHT) -> Markup:
    """The chart's frame: a scalable SVG with its title and description for assistive
    technology."""
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="14" fill="{INK}">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")


def text(x: float, y: float, words: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(words)}</text>'


def nice_top(largest: int) -> int:
    """A round axis maximum at or above `largest` (1, 2 or 5 times a power of ten), made a
    multiple of 4 so that each of the four grid lines falls on a whole number."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= largest:
                return -(-max(1, step * factor) // 4) * 4
        step *= 10


def grid(plot_height: float, labels: Sequence[str]) -> list[str]:
    """Evenly spaced grid lines from the bottom up, each with its label on the left."""
    parts = []
    for i, label in enumerate(labels):
        y = TOP + plot_height - plot_height * i / (len(labels) - 1)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(text(LEFT - 6, y + 4, label, "end"))
    return parts


PERCENTS = [f"{25 * i}%" for i in range(5)]


def share_axis(plot_height: float) -> list[str]:
    """0 to 100 % on the right."""
    return [
        text(WIDTH - RIGHT + 6, TOP + plot_height - plot_height * i / 4 + 4, label, "start")
        for i, label in enumerate(PERCENTS)
    ]


def week_labels(starts: Sequence[dt.date], slot: float) -> list[str]:
    """Every other week's date under the bars, counting back from the newest (all of
    them would not fit on a phone)."""
    newest = len(starts) - 1
    return [
        text(LEFT + slot * (i + 0.5), HEIGHT - BOTTOM + 20, f"{start:%d %b}")
        for i, start in enumerate(starts)
        if (newest - i) % 2 == 0
    ]


def line(
    shares: Sequence[float | None], slot: float, plot_height: float, stroke: str, name: str
) -> list[str]:
    """A line through the weeks that have a share (0 to 1), with a dot on each."""
    points = [
        (LEFT + slot * (i + 0.5), TOP + plot_height * (1 - share))
        for i, share in enumerate(shares)
        if share is not None
    ]
    if not points:
        return []
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [
        f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="2.5">'
        f"<title>{escape(name)}</title></polyline>"
    ]
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{stroke}"/>' for x, y in points]
    return parts


def weekly_requests(
    starts: Sequence[dt.date],
    counts: Sequence[dict[str, int]],
    shares: Sequence[float | None],
    kinds: Sequence[str],
) -> Markup:
    """Stacked bars of requests per week by kind, and a line of the on-time share."""
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(starts))
    top = nice_top(max((sum(week.values()) for week in counts), default=0))
    parts = grid(plot_height, [f"{top * i / 4:,.0f}" for i in range(5)])
    parts += share_axis(plot_height)
    for i, week in enumerate(counts):
        y: float = TOP + plot_height
        for k, kind in enumerate(kinds):
            n = week.get(kind, 0)
            if not n:
                continue
            height = plot_height * n / top
            y -= height
            x = LEFT + slot * i + slot * 0.15
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{colour(k)}"><title>{escape(kind.replace("_", " "))}: {n:,}</title></rect>'
            )
    parts += line(shares, slot, plot_height, INK, "answered on time")
    parts += week_labels(starts, slot)
    total = sum(sum(week.values()) for week in counts)
    description = (
        f"{total:,} requests in {len(starts)} weeks, stacked by kind; "
        "the line is the share answered by the due date."
    )
    return svg("Requests per week by kind, with the on-time share", description, parts)


def deadline_bars(bins: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars: open requests by days left to their due date; overdue in red."""
    row, label_width = 34, 140
    height = TOP + row * len(bins) + 8
    top = nice_top(max((n for _, n in bins), default=0))
    span = WIDTH - label_width - RIGHT - 40
    parts = []
    for i, (label, n) in enumerate(bins):
        y = TOP + row * i
        width = span * n / top
        fill = LATE if i == 0 else colour(0)
        parts.append(text(label_width - 8, y + 19, label, "end"))
        parts.append(
            f'<rect x="{label_width}" y="{y + 4:.1f}" width="{width:.1f}" height="{row - 10}" '
            f'fill="{fill}"/>'
        )
        parts.append(text(label_width + width + 6, y + 19, f"{n:,}", "start"))
    description = "; ".join(f"{label}: {n:,}" for label, n in bins)
    return svg("Open requests by days to their deadline", description, parts, height)


def rate_lines(
    starts: Sequence[dt.date], rates: Sequence[Sequence[float | None]], names: Sequence[str]
) -> Markup:
    """One line per purpose: the share of that week's consent choices that allowed it."""
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(starts))
    parts = grid(plot_height, PERCENTS)
    for p, shares in enumerate(rates):
        parts += line(shares, slot, plot_height, colour(p), names[p])
    parts += week_labels(starts, slot)
    description = (
        f"The share of consent choices that allowed each of {len(names)} purposes, per week."
    )
    return svg("Consent rate per purpose, per week", description, parts)
