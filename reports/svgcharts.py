"""Static SVG drawings of the site's charts, for print and the PDF plaquette.

A chart of reports/charts.py carries its Plotly description: the values as drawn (shares in per
cent), their French labels, the series' names and colours. Here the same description is written
as a plain SVG (horizontal bars with their value, or lines over the years with their points and a
dashed target), axes from zero, so that a printed page needs no script. Nothing is computed but
the geometry.
"""
from __future__ import annotations

import math

from markupsafe import Markup, escape

from .formatting import nombre

FONT = "font-family=\"DejaVu Sans, Liberation Sans, sans-serif\""
GRID = "#d5dde5"
TEXT = "#1d2733"


def _svg(width: float, height: float, body: str, label: str) -> Markup:
    return Markup(f'<svg class="graphique-svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
                  f'height="{height:.0f}" role="img" aria-label="{escape(label)}" '
                  f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="11">{body}</svg>')


def bars(trace: dict, label: str, width: int = 620) -> Markup:
    names = [str(n).replace("<br>", " ") for n in trace.get("customdata") or trace["y"]]
    values = [v or 0 for v in trace["x"]]
    texts = trace.get("text") or [""] * len(values)
    row, left, right = 22, 230, 70
    top = max(values + [0]) or 1
    height = row * len(values) + 8
    scale = (width - left - right) / top
    colour = (trace.get("marker") or {}).get("color", "#0b4f6c")
    body = [f'<line x1="{left}" y1="0" x2="{left}" y2="{height - 4}" stroke="{GRID}"/>']
    for k, (name, v, t) in enumerate(zip(names, values, texts)):
        y = 4 + k * row
        short = name if len(name) <= 38 else name[:36] + "…"
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" fill="{TEXT}">{escape(short)}</text>'
                    f'<rect x="{left}" y="{y + 3}" width="{max(v * scale, 0):.1f}" height="{row - 7}" fill="{colour}"/>'
                    f'<text x="{left + max(v * scale, 0) + 5:.1f}" y="{y + 14}" fill="{TEXT}">{escape(t)}</text>')
    return _svg(width, height, "".join(body), label)


def _ticks(top: float) -> list[float]:
    """Round steps from zero to above `top` (four or five of them)."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    return [round(k * step, 10) for k in range(int(math.ceil(top / step - 1e-9)) + 1)]


def lines(traces: list[dict], label: str, suffix: str = "", width: int = 620, height: int = 230) -> Markup:
    years = sorted({x for t in traces for x in t.get("x") or []})
    values = [v for t in traces for v in t.get("y") or [] if v is not None]
    if not years or not values:
        return Markup("")
    ticks = _ticks(max(values))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    decimals = 0 if float(step).is_integer() else len(f"{step:g}".split(".")[-1])
    left, right, top_m, bottom = 64, 16, 10, 26
    plot_w, plot_h = width - left - right, height - top_m - bottom
    span = (years[-1] - years[0]) or 1
    x = lambda year: left + (year - years[0] + 0.3) / (span + 0.6) * plot_w
    y = lambda v: top_m + plot_h - v / ticks[-1] * plot_h
    body = []
    for t in ticks:
        body.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{width - right}" y2="{y(t):.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="{TEXT}">'
                    f'{escape(nombre(t, decimals) + suffix)}</text>')
    for year in years:
        body.append(f'<text x="{x(year):.1f}" y="{height - 8}" text-anchor="middle" fill="{TEXT}">{year}</text>')
    for t in traces:
        colour = (t.get("line") or {}).get("color", "#0b4f6c")
        dash = ' stroke-dasharray="6 4"' if (t.get("line") or {}).get("dash") else ""
        points = [(xv, yv) for xv, yv in zip(t.get("x") or [], t.get("y") or [])]
        segment: list[str] = []
        for xv, yv in points + [(None, None)]:
            if yv is None:          # a missing year breaks the line, never bridged
                if len(segment) > 1:
                    body.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                                f'stroke-width="2.5"{dash}/>')
                segment = []
                continue
            segment.append(f"{x(xv):.1f},{y(yv):.1f}")
        if "markers" in (t.get("mode") or ""):
            for xv, yv in points:
                if yv is not None:
                    body.append(f'<circle cx="{x(xv):.1f}" cy="{y(yv):.1f}" r="3.5" fill="{colour}"/>')
    return _svg(width, height, "".join(body), label)


def draw(chart) -> Markup:
    """The chart of reports/charts.py as a static SVG."""
    traces = chart.spec.get("data") or []
    if not traces:
        return Markup("")
    label = f"{chart.titre}. {chart.legende}"
    if traces[0].get("type") == "bar":
        return bars(traces[0], label)
    suffix = ((chart.spec.get("layout") or {}).get("yaxis") or {}).get("ticksuffix", "")
    return lines(traces, label, suffix, height=200 if chart.petit else 230)
