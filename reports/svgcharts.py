"""Static SVG drawings of the site's charts, for print and the PDF plaquette.

A chart of reports/charts.py carries its Plotly description: the values as drawn (shares in per
cent), their French labels, the series' names and colours. Here the same description is written
as a plain SVG (horizontal bars with their value, or lines over the years with their points and a
dashed target), axes from zero, so that a printed page needs no script. Nothing is computed but
the geometry.
"""
from __future__ import annotations

import math
import re

from markupsafe import Markup, escape

from .formatting import nombre

FONT = "font-family=\"DejaVu Sans, Liberation Sans, sans-serif\""
GRID = "#d5dde5"
TEXT = "#1d2733"


def _svg(width: float, height: float, body: str, label: str) -> Markup:
    return Markup(f'<svg class="graphique-svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
                  f'height="{height:.0f}" role="img" aria-label="{escape(label)}" '
                  f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="11" fill="{TEXT}">{body}</svg>')


def bars(traces: list[dict] | dict, label: str, width: int = 620) -> Markup:
    """Horizontal bars, one group per label (one bar per series: a unit's and its département's),
    each with its value; a legend above names the series when there are several. Below 500 wide
    (a phone), each label stands on its own line above its bars."""
    traces = [traces] if isinstance(traces, dict) else traces
    first = traces[0]
    names = [str(n).replace("<br>", " ") for n in first.get("customdata") or first["y"]]
    narrow = width < 500
    bar, gap = 15, 7
    label_h = 15 if narrow else 0
    row = bar * len(traces) + gap + label_h
    left, right, head = (4 if narrow else 230), 70, 18 if len(traces) > 1 else 0
    top = max([v or 0 for t in traces for v in t["x"]] + [0]) or 1
    height = head + row * len(names) + 8
    scale = (width - left - right) / top
    body = [] if narrow else [f'<line x1="{left}" y1="{head}" x2="{left}" y2="{height - 4}" stroke="{GRID}"/>']
    if len(traces) > 1:
        lx = left
        for t in traces:
            colour = (t.get("marker") or {}).get("color", "#0b4f6c")
            body.append(f'<rect x="{lx}" y="3" width="10" height="10" fill="{colour}"/>'
                        f'<text x="{lx + 14}" y="12">{escape(t.get("name", ""))}</text>')
            lx += 24 + 7 * len(str(t.get("name", "")))
    room = int((width - 8) / 6.3) if narrow else 38
    for k, name in enumerate(names):
        y0 = head + 4 + k * row
        short = name if len(name) <= room else name[:room - 1] + "…"
        if narrow:
            body.append(f'<text x="{left}" y="{y0 + 11}">{escape(short)}</text>')
        else:
            body.append(f'<text x="{left - 6}" y="{y0 + (row - gap) / 2 + 4:.1f}" text-anchor="end" '
                        f'>{escape(short)}</text>')
        for j, t in enumerate(traces):
            v = (t["x"][k] or 0) if k < len(t["x"]) else 0
            text = (t.get("text") or [""] * len(names))[k]
            colour = (t.get("marker") or {}).get("color", "#0b4f6c")
            y = y0 + label_h + j * bar
            body.append(f'<rect x="{left}" y="{y + 1}" width="{max(v * scale, 0):.1f}" height="{bar - 3}" '
                        f'fill="{colour}"/><text x="{left + max(v * scale, 0) + 5:.1f}" y="{y + bar - 4}" '
                        f'>{escape(text)}</text>')
    return _svg(width, height, "".join(body), label)


def _ticks(top: float) -> list[float]:
    """Round steps from zero to above `top` (four or five of them)."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    return [round(k * step, 10) for k in range(int(math.ceil(top / step - 1e-9)) + 1)]


def lines(traces: list[dict], label: str, suffix: str = "", width: int = 620, height: int = 230,
          layout: dict | None = None) -> Markup:
    """The series over the years, with what the chart's layout adds to them (reports/charts.py):
    the count under each year, the panel's years shaded, the declared events at their years."""
    layout = layout or {}
    years = sorted({x for t in traces for x in t.get("x") or []})
    values = [v for t in traces for v in t.get("y") or [] if v is not None]
    if not years or not values:
        return Markup("")
    xaxis = layout.get("xaxis") or {}
    ticktext = dict(zip(xaxis.get("tickvals") or [], xaxis.get("ticktext") or []))
    two_lines = any("<br>" in str(t) for t in ticktext.values())
    events = layout.get("annotations") or []
    ticks = _ticks(max(values))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    decimals = 0 if float(step).is_integer() else len(f"{step:g}".split(".")[-1])
    left, right, top_m, bottom = 64, 16, 10 + 16 * bool(events), 26 + 13 * two_lines
    height += 16 * bool(events) + 13 * two_lines
    plot_w, plot_h = width - left - right, height - top_m - bottom
    span = (years[-1] - years[0]) or 1
    x = lambda year: left + (year - years[0] + 0.3) / (span + 0.6) * plot_w
    y = lambda v: top_m + plot_h - v / ticks[-1] * plot_h
    body = []
    for shape in layout.get("shapes") or []:
        if shape.get("type") == "rect":
            x0, x1 = max(x(shape["x0"]), left), min(x(shape["x1"]), width - right)
            body.append(f'<rect x="{x0:.1f}" y="{top_m}" width="{max(x1 - x0, 0):.1f}" height="{plot_h}" '
                        f'fill="{shape.get("fillcolor", "#e8eef4")}"/>')
    for t in ticks:
        body.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{width - right}" y2="{y(t):.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">'
                    f'{escape(nombre(t, decimals) + suffix)}</text>')
    for year in years:
        first, _, second = str(ticktext.get(year, year)).partition("<br>")
        second = re.sub(r"<[^>]+>", "", second)       # the count, drawn smaller here too
        body.append(f'<text x="{x(year):.1f}" y="{height - 8 - 13 * two_lines}" text-anchor="middle" '
                    f'>{escape(first)}</text>')
        if second:
            body.append(f'<text x="{x(year):.1f}" y="{height - 8}" text-anchor="middle" '
                        f'font-size="9.5">{escape(second)}</text>')
    for shape in layout.get("shapes") or []:
        if shape.get("type") == "line":
            body.append(f'<line x1="{x(shape["x0"]):.1f}" y1="{top_m}" x2="{x(shape["x0"]):.1f}" '
                        f'y2="{top_m + plot_h}" stroke="#6b7785" stroke-width="1.5" stroke-dasharray="2 3"/>')
    for note in events:
        anchor = "end" if note.get("xanchor") == "right" else "start"
        body.append(f'<text x="{x(note["x"]) + (-3 if anchor == "end" else 3):.1f}" y="{top_m - 4}" '
                    f'text-anchor="{anchor}" fill="#3d4853" font-size="10">{escape(note.get("text", ""))}</text>')
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


def draw(chart, width: int = 620) -> Markup:
    """The chart of reports/charts.py as a static SVG (`width` below 500: laid out for a phone)."""
    traces = chart.spec.get("data") or []
    if not traces:
        return Markup("")
    label = f"{chart.titre}. {chart.legende}"
    layout = chart.spec.get("layout") or {}
    if traces[0].get("type") == "bar":
        return bars(traces, label, width)
    suffix = (layout.get("yaxis") or {}).get("ticksuffix", "")
    return lines(traces, label, suffix, width=width, height=200 if chart.petit else 230, layout=layout)
