"""Inline SVG charts: self-contained, no JavaScript library, no network.

Every chart is a string of SVG that an HTML report embeds as is, so a report
opens offline and prints the same everywhere.

>>> svg = bars(["a", "b"], {"reference": [0.5, 0.5], "current": [0.2, 0.8]})
>>> svg.startswith("<svg") and svg.count("<rect") >= 4
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 420, 180
PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 44, 34, 10, 10
COLORS = ("#4063d8", "#e8743b", "#2a9d8f", "#9c27b0", "#7f7f7f")


def _fmt(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def _frame(title: str | None) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" class="chart">']
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    return parts


def _legend(names: Sequence[str]) -> str:
    items = []
    x = PAD_LEFT
    for i, name in enumerate(names):
        items.append(f'<rect x="{x}" y="2" width="10" height="8" fill="{COLORS[i % 5]}" '
                     'fill-opacity="0.7"/>')
        items.append(f'<text x="{x + 13}" y="10" font-size="9">{escape(name)}</text>')
        x += 13 + 6 * len(name) + 12
    return "".join(items)


def _axes(y_max: float, y_label: str) -> str:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP - 8
    base = HEIGHT - PAD_BOTTOM
    return (f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" '
            'stroke="#333"/>'
            f'<line x1="{PAD_LEFT}" y1="{base}" x2="{PAD_LEFT}" y2="{base - plot_h}" '
            'stroke="#333"/>'
            f'<text x="{PAD_LEFT - 4}" y="{base - plot_h + 4}" font-size="9" '
            f'text-anchor="end">{_fmt(y_max)}</text>'
            f'<text x="{PAD_LEFT - 4}" y="{base}" font-size="9" text-anchor="end">0</text>'
            f'<text x="4" y="{PAD_TOP + 20}" font-size="9" transform="rotate(-90 10 '
            f'{PAD_TOP + 40})">{escape(y_label)}</text>')


def histogram(edges: Sequence[float], series: Mapping[str, Sequence[float]], *,
              title: str | None = None, y_label: str = "share") -> str:
    """Overlaid step histograms of shares over shared bin ``edges``."""
    if len(edges) < 2:
        return ""
    y_max = max((max(v) for v in series.values() if len(v)), default=0.0) or 1.0
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP - 8
    base = HEIGHT - PAD_BOTTOM
    lo, hi = float(edges[0]), float(edges[-1])
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return PAD_LEFT + (float(v) - lo) / span * plot_w

    parts = _frame(title)
    parts.append(_axes(y_max, y_label))
    for i, (name, values) in enumerate(series.items()):
        points = [f"{x(edges[0]):.1f},{base}"]
        for j, value in enumerate(values):
            top = base - float(value) / y_max * plot_h
            points.append(f"{x(edges[j]):.1f},{top:.1f}")
            points.append(f"{x(edges[j + 1]):.1f},{top:.1f}")
        points.append(f"{x(edges[-1]):.1f},{base}")
        color = COLORS[i % 5]
        parts.append(f'<polygon points="{" ".join(points)}" fill="{color}" fill-opacity="0.35" '
                     f'stroke="{color}" stroke-width="1.2" class="series" '
                     f'data-name="{escape(name)}"/>')
    parts.append(f'<text x="{PAD_LEFT}" y="{HEIGHT - 18}" font-size="9">{_fmt(lo)}</text>')
    parts.append(f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 18}" font-size="9" '
                 f'text-anchor="end">{_fmt(hi)}</text>')
    parts.append(_legend(list(series)))
    parts.append("</svg>")
    return "".join(parts)


def bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], *,
         title: str | None = None, y_label: str = "share", limit: int = 20) -> str:
    """Grouped bars per category (at most ``limit`` categories)."""
    categories = list(categories)[:limit]
    if not categories:
        return ""
    names = list(series)
    y_max = max((max(list(v)[:limit]) for v in series.values() if len(v)), default=0.0) or 1.0
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP - 8
    base = HEIGHT - PAD_BOTTOM
    group = plot_w / len(categories)
    width = max(1.0, group * 0.8 / max(1, len(names)))
    parts = _frame(title)
    parts.append(_axes(y_max, y_label))
    for c, category in enumerate(categories):
        for i, name in enumerate(names):
            value = float(list(series[name])[c])
            h = value / y_max * plot_h
            x0 = PAD_LEFT + c * group + group * 0.1 + i * width
            parts.append(f'<rect x="{x0:.1f}" y="{base - h:.1f}" width="{width:.1f}" '
                         f'height="{h:.1f}" fill="{COLORS[i % 5]}" fill-opacity="0.75">'
                         f"<title>{escape(category)} {escape(name)}: {_fmt(value)}</title></rect>")
        if len(categories) <= 12:
            label = category if len(category) <= 10 else category[:9] + "…"
            parts.append(f'<text x="{PAD_LEFT + (c + 0.5) * group:.1f}" y="{base + 11}" '
                         f'font-size="8" text-anchor="middle">{escape(label)}</text>')
    parts.append(_legend(names))
    parts.append("</svg>")
    return "".join(parts)


def timeline(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
             lower: float | None = None, upper: float | None = None,
             alerts: Sequence[bool] | None = None, title: str | None = None,
             y_label: str = "") -> str:
    """Lines over chunks, with optional threshold band and alert markers."""
    if not labels:
        return ""
    values = [float(v) for s in series.values() for v in s if v is not None]
    values += [v for v in (lower, upper) if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        hi, lo = hi + 1.0, lo - 1.0
    margin = (hi - lo) * 0.08
    lo, hi = lo - margin, hi + margin
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP - 8
    base = HEIGHT - PAD_BOTTOM
    step = plot_w / max(1, len(labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD_LEFT + i * step, base - (v - lo) / (hi - lo) * plot_h

    parts = _frame(title)
    parts.append(f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" '
                 'stroke="#333"/>')
    parts.append(f'<text x="{PAD_LEFT - 4}" y="{base - plot_h + 4}" font-size="9" '
                 f'text-anchor="end">{_fmt(hi)}</text><text x="{PAD_LEFT - 4}" y="{base}" '
                 f'font-size="9" text-anchor="end">{_fmt(lo)}</text>')
    for bound in (lower, upper):
        if bound is not None:
            _, y = xy(0, bound)
            parts.append(f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" '
                         f'y2="{y:.1f}" stroke="#c0392b" stroke-dasharray="4 3" '
                         'class="threshold"/>')
    for s, (name, points) in enumerate(series.items()):
        coords = [xy(i, float(v)) for i, v in enumerate(points) if v is not None]
        if not coords:
            continue
        color = COLORS[s % 5]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in coords) + '"/>')
        for i, v in enumerate(points):
            if v is None:
                continue
            a, b = xy(i, float(v))
            alert = bool(alerts[i]) if alerts is not None and i < len(alerts) else False
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{3.5 if alert else 2.2}" '
                         f'fill="{"#c0392b" if alert else color}">'
                         f"<title>{escape(labels[i])} {escape(name)}: {_fmt(float(v))}"
                         f"{' (alert)' if alert else ''}</title></circle>")
    for i in (0, len(labels) - 1):
        a, _ = xy(i, lo)
        parts.append(f'<text x="{a:.1f}" y="{base + 12}" font-size="8" '
                     f'text-anchor="{"start" if i == 0 else "end"}">{escape(labels[i])}</text>')
    if y_label:
        parts.append(f'<text x="{PAD_LEFT + 4}" y="{PAD_TOP + 8}" font-size="9">'
                     f"{escape(y_label)}</text>")
    parts.append(_legend(list(series)))
    parts.append("</svg>")
    return "".join(parts)


def interval_bars(labels: Sequence[str], values: Sequence[float | None],
                  lows: Sequence[float | None], highs: Sequence[float | None], *,
                  reference: float | None = None, title: str | None = None,
                  y_label: str = "") -> str:
    """Bars with confidence-interval whiskers, one per group; ``reference`` draws a line."""
    labels = list(labels)
    if not labels:
        return ""
    tops = [v for v in (*values, *highs, reference) if v is not None]
    y_max = max(tops, default=0.0) or 1.0
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP - 8
    base = HEIGHT - PAD_BOTTOM
    group = plot_w / len(labels)
    width = max(2.0, group * 0.6)

    def y(v: float) -> float:
        return base - float(v) / y_max * plot_h

    parts = _frame(title)
    parts.append(_axes(y_max, y_label))
    for i, label in enumerate(labels):
        value, low, high = values[i], lows[i], highs[i]
        x0 = PAD_LEFT + i * group + (group - width) / 2
        centre = x0 + width / 2
        if value is not None:
            parts.append(f'<rect x="{x0:.1f}" y="{y(value):.1f}" width="{width:.1f}" '
                         f'height="{base - y(value):.1f}" fill="{COLORS[0]}" fill-opacity="0.7" '
                         f'class="bar"><title>{escape(label)}: {_fmt(float(value))}'
                         + (f" [{_fmt(float(low))}, {_fmt(float(high))}]"
                            if low is not None and high is not None else "")
                         + "</title></rect>")
        if low is not None and high is not None:
            parts.append(f'<line x1="{centre:.1f}" y1="{y(low):.1f}" x2="{centre:.1f}" '
                         f'y2="{y(high):.1f}" stroke="#222" stroke-width="1.2" class="whisker"/>')
            for end in (low, high):
                parts.append(f'<line x1="{centre - 4:.1f}" y1="{y(end):.1f}" '
                             f'x2="{centre + 4:.1f}" y2="{y(end):.1f}" stroke="#222"/>')
        if len(labels) <= 12:
            short = label if len(label) <= 12 else label[:11] + "…"
            parts.append(f'<text x="{centre:.1f}" y="{base + 11}" font-size="8" '
                         f'text-anchor="middle">{escape(short)}</text>')
    if reference is not None:
        parts.append(f'<line x1="{PAD_LEFT}" y1="{y(reference):.1f}" x2="{WIDTH - PAD_RIGHT}" '
                     f'y2="{y(reference):.1f}" stroke="#c0392b" stroke-dasharray="4 3" '
                     'class="threshold"/>')
    parts.append("</svg>")
    return "".join(parts)
