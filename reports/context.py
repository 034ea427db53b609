"""What a figure needs beside it to be read honestly, looked up in the published marts.

A yearly chart's context (the count behind each year's value, the years of its reading's
panel, the declared events of its years), the national figure beside a local one (the year and
the gap in years that dbt chose, pub_comparaison_nationale), a unit's centres (pub_centres) and
the chart of a unit sheet's section, which sets like beside like: shares beside shares, rates per
10,000 inhabitants beside rates (pub_registre.comparable_entre_unites, pub_indicateurs). Nothing
is computed here but the layout.
"""
from __future__ import annotations

from . import charts as C
from . import svgcharts
from .data import SiteData, Unit
from .formatting import NBSP, missing, nombre, pluriel, qualifie, valeur


def chart_context(d: SiteData, reg: dict, unit: Unit, indicateur: str, until: int) -> C.Contexte:
    """The count behind each year's value of `indicateur` for `unit` up to `until`, the panel of
    the one-year reading of `until`, and the declared events of those years."""
    r = reg[indicateur]
    effectifs, last = {}, None
    for a in d.annees:
        if a > until:
            break
        c = d.cells.get((a, unit.niveau, unit.code), {}).get(indicateur)
        if c is not None:
            effectifs[a] = c.n_structures
            last = c
    panel = None
    if last is not None and last.annee == until and not missing(last.n_panel_un_an) \
            and not missing(last.annee_comparee_un_an):
        panel = (int(last.annee_comparee_un_an), until, int(last.n_panel_un_an))
    return C.Contexte(effectifs={a: n for a, n in effectifs.items() if not missing(n)},
                      compte="Activités" if r.get("source") == "activites" else "Structures comptées",
                      evenements={a: labels for a, labels in d.evenements.items() if a <= until},
                      panel=panel)


def context_text(ctx: C.Contexte) -> str:
    """The chart's legend, continued: what n is, what the shaded years are, which events are drawn."""
    parts = []
    if ctx.effectifs:
        parts.append(f"Sous chaque année, n{NBSP}: {ctx.compte.lower()} dans la valeur de l'année.")
    if ctx.panel:
        first, last, n = ctx.panel
        parts.append(f"Zone grisée{NBSP}: {first} et {last}, les deux années que compare l'évolution écrite, sur les "
                     f"{pluriel(n, 'structure ayant', 'structures ayant')} répondu ces deux années.")
    shown = [(a, labels) for a, labels in sorted(ctx.evenements.items()) if a in ctx.effectifs or not ctx.effectifs]
    if shown:
        parts.append("En pointillés" + NBSP + ": " + "\u202f; ".join(f"{a}, {' / '.join(l)}" for a, l in shown) + ".")
    return " ".join(parts)


def national_beside(d: SiteData, reg: dict, annee: int) -> dict[str, dict]:
    """The national figure to set beside each indicator of the main unit in `annee`: its value,
    its year, and the gap in years when it is not the same year (dbt chose both)."""
    out = {}
    for r in d.nationale.get(annee, []):
        i = r["indicateur"]
        if i not in reg:
            continue
        gap = r.get("ecart_annees")
        ecart = "" if missing(gap) or not gap else \
            f"{pluriel(abs(gap), 'an', 'ans')} {'plus tôt' if gap > 0 else 'plus tard'}"
        out[i] = {"valeur": valeur(r["valeur_nationale"], reg[i]["unite"], reg[i]["decimales"]),
                  "annee": r["annee_nationale"], "ecart": ecart, "editeur": r.get("editeur_source") or "",
                  "titre": r.get("titre_source") or "", "url": r.get("source_nationale") or ""}
    return out


def centres(d: SiteData, annee: int, unit: Unit) -> list[dict]:
    """The centres of a unit (name, type, commune): public facts, no figure of their own."""
    return [{"nom": c["nom_structure"], "type": c["libelle_type"] or "", "commune": c["commune"] or ""}
            for c in d.centres.get((annee, unit.niveau, unit.code), [])]


def rate(reg: dict, cell) -> str:
    """A count's rate per 10,000 inhabitants, as published ("274,5 pour 10 000 habitants"), or ""."""
    r = reg.get(cell.indicateur, {}) if cell is not None else {}
    if cell is None or missing(getattr(cell, "valeur_pour_10000", None)) or not r.get("libelle_pour_10000"):
        return ""
    return qualifie(f"{nombre(cell.valeur_pour_10000, 1)} {r['libelle_pour_10000']}", r)


def unit_section_chart(id: str, titre: str, d: SiteData, reg: dict, annee: int, unit: Unit, versus: Unit | None,
                       rows: list[dict]):
    """The chart of one section of a unit sheet (see _section_chart), drawn as a static SVG laid
    out for a phone: nothing on it moves, and a unit sheet needs no chart library."""
    chart = _section_chart(id, titre, d, reg, annee, unit, versus, rows)
    if chart is not None:
        chart.statique = svgcharts.draw(chart, 360)
        # bars set the section's figures side by side: the section's table, just above, holds them
        chart.repli = chart.spec["data"][0]["type"] != "bar"
    return chart


def _section_chart(id: str, titre: str, d: SiteData, reg: dict, annee: int, unit: Unit, versus: Unit | None,
                   rows: list[dict], label=lambda r: r.get("libelle_court") or r["libelle"]):
    """The chart of one section of a unit sheet. Like beside like: the section's shares (or
    means) of the unit beside its département's (France's), in one unit of measure; else its
    counts per 10,000 inhabitants beside the département's; else the unit's first figure over
    the years. None when the section has nothing to draw."""
    cells = d.cells.get((annee, unit.niveau, unit.code), {})
    vcells = d.cells.get((annee, versus.niveau, versus.code), {}) if versus else {}
    found = [(r, cells[r["indicateur"]]) for r in rows if r["indicateur"] in cells]
    if not found:
        return None
    by_unit: dict[str, list] = {}
    for r, c in found:
        if r.get("comparable_entre_unites") and r["indicateur"] in vcells:
            by_unit.setdefault(r["unite"], []).append((r, c))
    shares = max(by_unit.values(), key=len, default=[])
    if len(shares) >= 2 or (shares and versus):
        r0 = shares[0][0]
        return C.bars(id, titre, f"{unit.libelle} et {versus.libelle if versus else ''}, données {annee}.", "",
                      [label(r) for r, _ in shares], [c.valeur for _, c in shares], r0["unite"], r0["decimales"],
                      label_col="Indicateur", nom=unit.libelle,
                      autres={versus.libelle: [vcells[r["indicateur"]].valeur for r, _ in shares]} if versus else None)
    rates = [(r, c) for r, c in found if not missing(c.valeur_pour_10000)
             and r["indicateur"] in vcells and not missing(vcells[r["indicateur"]].valeur_pour_10000)]
    if rates and versus:
        return C.bars(id, titre, f"Pour 10\u202f000 habitants, {unit.libelle} et {versus.libelle}, "
                      f"données {annee}.", "", [label(r) for r, _ in rates], [c.valeur_pour_10000 for _, c in rates],
                      "taux", 1, label_col="Indicateur", nom=unit.libelle,
                      autres={versus.libelle: [vcells[r["indicateur"]].valeur_pour_10000 for r, _ in rates]})
    r, c = found[0]
    years, values = [], []
    for a in d.annees:
        if a > annee:
            break
        cc = d.cells.get((a, unit.niveau, unit.code), {}).get(r["indicateur"])
        if cc is not None:
            years.append(a)
            values.append(cc.valeur)
    if len(years) < 2:
        return None
    ctx = chart_context(d, reg, unit, r["indicateur"], annee)
    return C.lines(id, f"{r['libelle']}, par année", " ".join(filter(None, [
        f"{unit.libelle}, par année de données jusqu'en {annee}.", context_text(ctx)])), "",
        {label(r): (years, values)}, r["unite"], r["decimales"], contexte=ctx, petit=True)


def methodology(d: SiteData, reg: dict) -> dict:
    """What the methodology says of the series: the declared events of the published years, the
    indicators written "au moins" and those also given per 10,000 inhabitants (pub_registre)."""
    shown = lambda r: r.get("libelle_court") or r["libelle"]
    return {"evenements": [{"annee": a, "libelles": " / ".join(labels)} for a, labels in sorted(d.evenements.items())
                           if a in d.annees],
            "au_moins": [_lower(shown(r)) for r in reg.values() if r.get("au_moins")],
            "par_habitant": [_lower(shown(r)) for r in reg.values() if r.get("par_habitant")]}


def _lower(label: str) -> str:
    """A label inside a sentence: "habitants touchés", but "ETP" kept."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]
