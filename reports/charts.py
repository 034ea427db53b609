"""Charts as plain Plotly JSON specs (no go.Figure), drawn by the browser with `Plotly.newPlot`.

Each chart carries its caption, a one-sentence reading, the formatted table shown as its
fallback and the raw figures that go into the page's CSV. Nothing is computed here: values
come from the published marts, and only their layout is decided.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache

from .formatting import NNBSP, nombre, valeur

PALETTE = ["#0b4f6c", "#c8661a", "#2a7f62", "#8a5a9e", "#b23a48", "#5b7a2a"]
LAYOUT = {"separators": ",\u202f", "margin": {"l": 50, "r": 16, "t": 16, "b": 40}, "height": 300,
          "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13,
                   "color": "#1d2733"},
          "paper_bgcolor": "white", "plot_bgcolor": "white", "dragmode": False, "hovermode": "closest",
          "legend": {"orientation": "h", "y": -0.22, "x": 0}}
# shares are drawn in per cent (×100) so that their ticks read "40 %", with the French space
AXIS_FORMAT = {"ratio": {"ticksuffix": NNBSP + "%", "tickformat": ",.0f"},
               "euros": {"ticksuffix": NNBSP + "€", "tickformat": ",.0f"}, "etp": {"tickformat": ",.1f"}}
COUNT_AXIS = {"tickformat": ",.0f"}      # "15 000", never plotly's SI "15k"
FIXED = {"fixedrange": True, "automargin": True, "gridcolor": "#e3e8ee", "zeroline": False}


@dataclass
class Chart:
    id: str
    titre: str
    legende: str
    lecture: str
    spec: dict
    colonnes: list[str]
    lignes: list[list[str]]                 # formatted, as in the fallback table
    brut: list[tuple] = field(default_factory=list)   # (série, catégorie, valeur) for the page's CSV
    petit: bool = False
    statique: str = ""      # drawn as this static SVG (reports/svgcharts.py) instead of by Plotly: nothing moves
    repli: bool = True      # its figures in a folded table below it (not when the page's table beside holds them)

    def spec_json(self) -> str:
        """JSON safe inside a <script> element."""
        return (json.dumps(self.spec, ensure_ascii=False, separators=(",", ":"))
                .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@lru_cache(maxsize=4096)
def _wrap(label: str, width: int = 20) -> str:
    """Long category labels on several lines, so that a phone shows them whole."""
    return "<br>".join(textwrap.wrap(str(label), width)) or str(label)


def _axis(unite: str, top=None) -> dict:
    axis = {**FIXED, **AXIS_FORMAT.get(unite, COUNT_AXIS)}
    if unite not in AXIS_FORMAT and top is not None and top <= 5:
        axis["dtick"] = 1         # a count up to 5: whole ticks, never "0 1 1 2 2" from rounded halves
    return axis


def _drawn(values: list, unite: str) -> list:
    """The values as the axis draws them: shares in per cent."""
    return [v * 100 if unite == "ratio" and v is not None else v for v in values]


def bars(id: str, titre: str, legende: str, lecture: str, labels: list[str], values: list, unite: str,
         decimales: int | None = None, label_col: str = "Libellé",
         autres: dict[str, list] | None = None, nom: str | None = None) -> Chart:
    """Horizontal bars, one per label, with their value written beside them. `autres`: further
    series of like quantities (a unit's shares beside its département's), drawn as grouped bars
    under the first one, which `nom` names in the legend."""
    series = {nom or titre: values, **(autres or {})}
    traces, texts = [], {}
    top = max([v for vs in series.values() for v in _drawn(vs, unite) if v is not None] or [0])
    for k, (name, vs) in enumerate(series.items()):
        text = texts[name] = [valeur(v, unite, decimales) for v in vs]
        traces.append({"type": "bar", "orientation": "h", "x": _drawn(vs, unite), "y": [_wrap(l) for l in labels],
                       "text": text, "textposition": "outside", "cliponaxis": False, "customdata": labels,
                       "name": name, "hovertemplate": (name.replace("%", "%%") + " – " if len(series) > 1 else "")
                       + "%{customdata}\u00a0: %{text}<extra></extra>", "marker": {"color": PALETTE[k % len(PALETTE)]}})
    layout = {**LAYOUT, "height": max(180, (34 + 20 * (len(series) - 1)) * len(labels) + 60 + 30 * (len(series) > 1)),
              "showlegend": len(series) > 1, "barmode": "group",
              "margin": {**LAYOUT["margin"], "r": 70},
              # each bar carries its value: no tick labels to crowd a phone's narrow axis
              "xaxis": {**_axis(unite, top), "range": [0, top * 1.05 if top else 1], "rangemode": "tozero",
                        "showticklabels": False, "showgrid": False},
              "yaxis": {**FIXED, "autorange": "reversed"}}
    if len(series) > 1:
        layout["legend"] = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "traceorder": "normal"}
        layout["margin"] = {**layout["margin"], "t": 36}
    return Chart(id, titre, legende, lecture, {"data": traces, "layout": layout},
                 [label_col, *series] if len(series) > 1 else [label_col, titre],
                 [[l, *(texts[n][k] for n in series)] for k, l in enumerate(labels)],
                 [(name, l, v) for name, vs in series.items() for l, v in zip(labels, vs)])


@dataclass
class Contexte:
    """What a yearly chart says of its series besides the values (item "honest series"): how many
    structures (or activities) each year's value counts, `effectifs` (year -> count, named by
    `compte`: "Répondantes"); the declared events of its years, `evenements` (year -> labels); and
    the two years its reading compares on a constant panel, `panel` (first year, last year, panel
    size), shaded behind the curve."""
    effectifs: dict[int, int] = field(default_factory=dict)
    compte: str = "Répondantes"
    evenements: dict[int, list[str]] = field(default_factory=dict)
    panel: tuple[int, int, int] | None = None


def lines(id: str, titre: str, legende: str, lecture: str, series: dict[str, tuple[list, list]], unite: str,
          decimales: int | None = None, cible: tuple[int, float] | None = None, petit: bool = False,
          depart: tuple[int, float] | None = None, contexte: Contexte | None = None) -> Chart:
    """One or a few series over the data years; `cible` (year, value) draws the target as a
    dashed line up to its year: the trajectory from `depart` (the reference year and value) when
    given, on which the verdict is defined, or else a flat line. `contexte`: the count behind
    each year's value written under the year, the declared events drawn at their years, the
    years of the reading's panel shaded."""
    fmt = lambda v: valeur(v, unite, decimales)
    # a year missing inside a series (a structure that did not answer) breaks its curve: its year is
    # drawn as a gap (connectgaps off), never bridged by a straight line that invents its value
    spans = {name: list(range(min(xs), max(xs) + 1)) if xs else [] for name, (xs, _) in series.items()}
    years = sorted({y for xs in spans.values() for y in xs} | ({cible[0]} if cible else set())
                   | ({depart[0]} if cible and depart else set()))
    traces, lignes, brut = [], [], []
    for i, (name, (xs, ys)) in enumerate(series.items()):
        known = dict(zip(xs, ys))
        every = [known.get(y) for y in spans[name]]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": spans[name],
                       "y": _drawn(every, unite), "text": [fmt(v) if v is not None else "" for v in every],
                       "connectgaps": False,
                       "hovertemplate": name.replace("%", "%%") + " – %{x}\u00a0: %{text}<extra></extra>",
                       "line": {"color": PALETTE[i % len(PALETTE)], "width": 3}, "marker": {"size": 7}})
        lignes.append([name] + [fmt(known.get(y)) for y in years])
        brut.extend((name, y, v) for y, v in zip(xs, ys))
    if cible is not None:
        year, value = cible
        label = (f"Trajectoire vers la cible {year}\u00a0: {fmt(value)}" if depart else
                 f"Cible {year}\u00a0: {fmt(value)}")
        x0, y0 = depart if depart else (years[0], value)
        traces.append({"type": "scatter", "mode": "lines", "name": label, "x": [x0, year],
                       "y": _drawn([y0, value], unite),
                       "line": {"color": "#b23a48", "width": 2, "dash": "dash"}, "hoverinfo": "skip"})
        name = f"Trajectoire vers la cible {year}" if depart else f"Cible {year}"
        lignes.append([name] + [fmt(value) if y == year else fmt(y0) if depart and y == x0 else "" for y in years])
        brut.extend(([(name, x0, y0)] if depart else []) + [(name, year, value)])
    top = max([v for t in traces for v in t["y"] if v is not None] or [0])
    ctx = contexte or Contexte()
    counts = {y: n for y, n in ctx.effectifs.items() if y in years and n is not None}
    ticktext = [f"{y}<br><span style=\"font-size:11px\">n\u00a0=\u00a0{nombre(counts[y])}</span>" if y in counts
                else str(y) for y in years]
    room = 0.5 if counts else 0.35      # the count under the first year is wider than the year
    layout = {**LAYOUT, "yaxis": {**_axis(unite, top), "rangemode": "tozero"},
              # a little room either side, so that the first year is not written over the "0" of the other axis
              "xaxis": {**FIXED, "tickmode": "array", "tickvals": years, "ticktext": ticktext,
                        "range": [years[0] - room, years[-1] + room] if years else None},
              "showlegend": len(traces) > 1}
    if counts:
        layout["margin"] = {**layout["margin"], "b": 56}
        lignes.append([f"{ctx.compte} (n)"] + [nombre(counts[y]) if y in counts else "" for y in years])
        brut.extend((ctx.compte, y, counts[y]) for y in years if y in counts)
    shapes, notes = [], []
    if ctx.panel and ctx.panel[0] in years and ctx.panel[1] in years:
        # the years the reading compares, on the structures counted both years
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": ctx.panel[0] - 0.3,
                       "x1": ctx.panel[1] + 0.3, "y0": 0, "y1": 1, "fillcolor": "#e8eef4", "line": {"width": 0},
                       "layer": "below"})
    marked = {y: labels for y, labels in ctx.evenements.items() if y in years and labels}
    for y, labels in sorted(marked.items()):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": y, "x1": y, "y0": 0, "y1": 1,
                       "line": {"color": "#6b7785", "width": 1.5, "dash": "dot"}})
        left = years and y - years[0] > (years[-1] - years[0]) / 2
        notes.append({"x": y, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom",
                      "xanchor": "right" if left else "left", "showarrow": False,
                      "text": " / ".join(labels), "font": {"size": 11, "color": "#3d4853"}})
    if marked:
        lignes.append(["Événement"] + [" / ".join(marked.get(y, [])) for y in years])
        layout["margin"] = {**layout["margin"], "t": 30}
    if shapes:
        layout["shapes"] = shapes
    if notes:
        layout["annotations"] = notes
    if petit:
        layout = {**layout, "height": 220, "margin": {"l": 46, "r": 10, "t": 22 if marked else 8,
                                                       "b": 50 if counts else 30},
                  "legend": {"orientation": "h", "y": -0.5 if counts else -0.32, "x": 0, "font": {"size": 11}}}
        if counts and len(traces) > 1:      # the counts under the years, then the legend
            layout["height"], layout["margin"] = 250, {**layout["margin"], "b": 80}
    return Chart(id, titre, legende, lecture, {"data": traces, "layout": layout}, ["Série"] + [str(y) for y in years],
                 lignes, brut, petit)
