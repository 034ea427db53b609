"""The national year's floor: what `observatoire run` does at least, done the plainest way.

    .venv/bin/python .ci/floor.py EXTRACTS OUT

Issue 20 (item 7) measures the national run against a floor fed with the same input: read the
survey extracts (their three dialects: encodings, separators, header case, French numbers), compute
the registry's survey indicators at every level (France, département, commune) in one DuckDB query,
write one HTML page per unit and year (Jinja2), and the open data (one CSV). No secrecy, no trends,
no checks, no charts, no publication: what is left of the run's time beyond this floor is the price
of those. `benchmark.py` runs it as its own process beside the national run and prints the ratio.
Prints one JSON line: the counts written.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import duckdb
from jinja2 import Environment

from common.french import fr_number

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "data" / "seeds" / "registre_indicateurs.csv"
COMMUNES = ROOT / "data" / "reference" / "communes.csv"
YES = "('o', 'oui', '1', 'true', 'vrai', 'x')"
NO = "('n', 'non', '0', 'false', 'faux')"
MISSING = "('', 'nc', 'nr', 'ns', '-', 'na', 'n/a')"
# spaces of every kind, euro and percent signs out of a French number
NUMBER_CLEAN = "replace(replace(replace(replace(replace({}, ' ', ''), '\u00a0', ''), '\u202f', ''), '€', ''), '%', '')"

PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{ libelle }} – {{ annee }}</title></head>
<body><h1>{{ libelle }} en {{ annee }}</h1>
<table><thead><tr><th>Indicateur</th><th>Valeur</th><th>Structures</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td></tr>
{% endfor %}</tbody></table></body></html>
""")


def read_surveys(con, folder: Path, work: Path) -> None:
    """Every survey extract into one all-text table, columns matched by (lower-cased) name; a
    file not in UTF-8 is taken as Windows-1252 and written again in UTF-8 for DuckDB's reader."""
    parts = []
    for path in sorted(folder.glob("senacs_*.csv")):
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            path = work / path.name
            path.write_text(data.decode("cp1252", errors="replace"), encoding="utf-8")
        parts.append(f"select * from read_csv('{path}', all_varchar = true, normalize_names = true)")
    con.execute("create table brut as " + " union all by name ".join(parts))


def typed(con) -> None:
    """Each column as what its values are: yes/no, a number (French format) or text."""
    columns = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_name = 'brut'").fetchall()]
    clean = {c: f"nullif(lower(trim(\"{c}\")), '')" for c in columns}
    number = {c: f"try_cast(replace({NUMBER_CLEAN.format(clean[c])}, ',', '.') as double)" for c in columns}
    probe = ", ".join(
        f"count(*) filter (where {clean[c]} not in {MISSING} and {clean[c]} not in {YES} and {clean[c]} not in {NO}),"
        f" count(*) filter (where {clean[c]} not in {MISSING} and {number[c]} is null)"
        for c in columns)
    counts = con.execute(f"select {probe} from brut using sample 5000 rows").fetchone()   # a sample says the type
    select = []
    for i, c in enumerate(columns):
        not_bool, not_number = counts[2 * i], counts[2 * i + 1]
        if c.startswith("code_") or c in {"siret", "nom_structure", "type_structure"}:
            select.append(f'"{c}"')
        elif not_bool == 0:
            select.append(f"case when {clean[c]} in {YES} then true when {clean[c]} in {NO} then false end as \"{c}\"")
        elif not_number == 0:
            select.append(f"{number[c]} as \"{c}\"")
        else:
            select.append(f"nullif(trim(\"{c}\"), '') as \"{c}\"")
    con.execute(f"create table reponses as select {', '.join(select)} from brut")


def indicators(con) -> list[dict]:
    """The registry's survey indicators, all levels, one query, in long form."""
    rows = [r for r in csv.DictReader(REGISTRY.open(encoding="utf-8"))
            if r["source"] == "enquete" and r["agregat"] in {"compte", "somme", "ratio", "mediane"}]
    measures = []
    for i, r in enumerate(rows):
        where = r["filtre"] or "true"
        measures.append(f"sum(({r['numerateur']})::double) filter (where {where}) as n{i}")
        measures.append(f"sum(({r['denominateur'] or '1'})::double) filter (where {where}) as d{i}")
        measures.append(f"count(*) filter (where {where}) as k{i}")
        if r["agregat"] == "mediane":       # a median is costly: only where it is the rule
            measures.append(f"median(({r['numerateur']})::double) filter (where {where}) as m{i}")
    con.execute(f"""
        create table niveaux as
        with s as (
            select r.*, coalesce(try_cast(r.annee_donnees as integer), try_cast(r.annee_enquete as integer) - 1) as annee,
                   c.code_departement as dep, c.nom_commune
            from reponses as r left join read_csv('{COMMUNES}', all_varchar = true) as c on c.code_insee = r.code_commune
        )
        select annee, case when grouping(dep) = 1 then 'national' when grouping(code_commune) = 1 then 'departement'
                           else 'commune' end as niveau,
               coalesce(code_commune, dep, 'FR') as code, any_value(nom_commune) as nom, {', '.join(measures)}
        from s group by grouping sets ((annee), (annee, dep), (annee, dep, code_commune))""")
    values = []
    for i, r in enumerate(rows):
        value = {"compte": f"k{i}", "somme": f"n{i} * {r['facteur'] or 1}", "mediane": f"m{i}",
                 "ratio": f"n{i} / nullif(d{i}, 0) * {r['facteur'] or 1}"}[r["agregat"]]
        values.append(f"select '{r['indicateur']}' as indicateur, '{r['libelle'].replace(chr(39), chr(39) * 2)}' "
                      f"as libelle, annee, niveau, code, nom, {value} as valeur, n{i} as numerateur, "
                      f"d{i} as denominateur, k{i} as n_structures from niveaux")
    con.execute("create table indicateurs as " + " union all ".join(values))
    return rows


def main() -> None:
    extracts, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    work = out / ".utf8"
    work.mkdir(exist_ok=True)
    read_surveys(con, extracts, work)
    typed(con)
    indicators(con)
    con.execute(f"copy (select * from indicateurs order by indicateur, annee, niveau, code) "
                f"to '{out / 'indicateurs.csv'}' (header, delimiter ';')")
    pages = 0
    units = con.execute("""select annee, niveau, code, any_value(nom),
                                  list(struct_pack(libelle, valeur, n_structures) order by indicateur)
                           from indicateurs where niveau <> 'commune' or code in (
                               select code from indicateurs where indicateur = 'nb_repondants' and valeur >= 3)
                           group by all""").fetchall()
    for annee, niveau, code, nom, rows in units:
        folder = out / str(annee) / niveau
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{code}.html").write_text(PAGE.render(
            libelle=nom or code, annee=annee,
            rows=[(r["libelle"], fr_number(r["valeur"]), r["n_structures"]) for r in rows]), encoding="utf-8")
        pages += 1
    n = con.execute("select count(*) from indicateurs").fetchone()[0]
    print(json.dumps({"pages": pages, "lignes": n}))


if __name__ == "__main__":
    main()
