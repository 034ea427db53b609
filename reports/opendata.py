"""The open data: every published cell of every public unit, as frozen by the publication, with
the units, the registry, the targets, the board's verdicts and the national references as tables
of their own; described as a Frictionless Data Package (`datapackage.json`, a Table Schema per
file: types, labels, units, missing values, primary and foreign keys), with the same tables in
one XLSX workbook whose numbers are numbers, the data dictionary of every file and the licence.
Every value is read from the published marts (schema `publie`): already rounded to its published
precision, withheld cells already emptied by dbt. Nothing here decides a figure."""
from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import workbook
from .data import SiteData
from .formatting import csv_cell, date_longue

# One line ending in every file of the open data (DuckDB's own, for the large tables).
NEWLINE = "\n"
XLSX_NAME = "observatoire.xlsx"


@dataclass
class Field:
    name: str
    type: str                       # Table Schema type: string, integer, number
    title: str
    description: str
    sql: str | None = None          # the expression read from `publie` (default: the column itself)
    enum: list[str] | None = None

    @property
    def expression(self) -> str:
        return self.sql or self.name


@dataclass
class Table:
    name: str                       # file stem and resource name
    title: str
    description: str
    source: str                     # FROM ... (and WHERE) in schema publie
    order: str
    fields: list[Field]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[dict] = field(default_factory=list)
    mart: str | None = None         # the publie table its plain columns come from (a snapshot frozen before
                                    # a column existed lacks it: the column is then left empty)


_STATUTS = ["publie", "secret", "non_disponible"]
_NIVEAUX = ["commune", "territoire", "departement", "national"]
# the top level: France, or for a federation of several départements the set of them (FR, its name
# in the unit's label): a reuser filtering on FR must not take a federation's area for France
_NIVEAU = ("commune, territoire, departement ou national (national : la France ; pour une fédération de "
           "plusieurs départements, l'ensemble de ses départements, que nomme le libellé de l'unité)")
_CODE = ("Code INSEE de la commune, code du territoire (SIREN de l'EPT, ou celui que déclare la fédération), "
         "code du département ou FR (niveau national : voir la colonne niveau)")


def _unit_key(table: str) -> dict:
    return {"fields": ["annee", "niveau", "code"], "reference": {"resource": table,
                                                                  "fields": ["annee", "niveau", "code"]}}


_INDICATOR_KEY = {"fields": "indicateur", "reference": {"resource": "registre", "fields": "indicateur"}}

TABLES = [
    Table(
        "indicateurs", "Indicateurs publiés",
        "Une ligne par indicateur, année de données, niveau et unité territoriale. Une commune sans chiffre "
        "propre (trop peu de structures) n'a pas de ligne : ses chiffres sont comptés dans ceux de son territoire, "
        "et son nombre de structures est dans unites.csv.",
        # a unit listed without a sheet (dbt's pub_unites.a_une_fiche: a commune with no figure of its own)
        # has no rows: its count of structures is in unites.csv
        """publie.pub_indicateurs AS i LEFT JOIN publie.pub_registre AS r USING (indicateur)
           WHERE NOT EXISTS (SELECT 1 FROM publie.pub_unites AS u
                             WHERE u.annee = i.annee AND u.niveau = i.niveau AND u.code = i.code
                               AND NOT (HAS_SHEET))""",
        "indicateur, annee, niveau, code",
        [Field("indicateur", "string", "Indicateur", "Identifiant de l'indicateur (voir registre.csv)", "i.indicateur"),
         Field("annee", "integer", "Année de données",
               "Année de données (l'année que décrivent les réponses, pas l'année d'enquête)", "i.annee"),
         Field("niveau", "string", "Niveau", _NIVEAU, "i.niveau",
               enum=_NIVEAUX),
         Field("code", "string", "Code de l'unité", _CODE, "i.code"),
         Field("libelle_unite", "string", "Unité territoriale", "Nom de la commune, du territoire ou du département",
               "i.libelle_unite"),
         Field("valeur", "number", "Valeur",
               "Valeur de l'indicateur, arrondie à sa précision de publication (colonne decimales du registre) ; "
               "vide si secrète ou non disponible ; une part est écrite entre 0 et 1", "i.valeur"),
         Field("numerateur", "number", "Numérateur", "Numérateur du calcul (arrondi au centième) ; vide si secret",
               "i.numerateur"),
         Field("denominateur", "number", "Dénominateur",
               "Dénominateur du calcul (indicateurs calculés comme un rapport) ; vide si secret", "i.denominateur"),
         Field("n_structures", "integer", "Structures (ou activités) comptées",
               "Nombre de structures (ou d'activités) entrées dans le calcul ; vide si secret", "i.n_structures"),
         Field("statut", "string", "Statut",
               "publie ; secret (trop peu de structures, une structure prépondérante, ou valeur retenue pour "
               "qu'aucune autre ne puisse être retrouvée par soustraction ou par un indicateur lié) ; "
               "non_disponible (rien à calculer)", "i.statut", enum=_STATUTS),
         # after the first ten columns, which partners' scripts already read in this order
         Field("libelle_indicateur", "string", "Libellé de l'indicateur", "Nom de l'indicateur en clair", "r.libelle"),
         Field("unite", "string", "Unité de mesure",
               "Unité de mesure de la valeur (ratio : une part entre 0 et 1 ; personnes, structures, euros, "
               "heures, etp…) ; son libellé est dans registre.csv", "r.unite")],
        ["indicateur", "annee", "niveau", "code"],
        [_INDICATOR_KEY, _unit_key("unites")]),
    Table(
        "unites", "Unités territoriales",
        "Chaque commune, territoire et département, chaque année, avec son nombre de structures (centres sociaux, "
        "espaces de vie sociale) et son nombre d'indicateurs publiés.",
        # a territory that is its département (dbt's flag) is not a unit of its own
        "publie.pub_unites AS u WHERE NOT coalesce(u.confondu_avec_parent, false)", "u.annee, u.niveau, u.libelle, u.code",
        [Field("annee", "integer", "Année de données", "Année de données"),
         Field("niveau", "string", "Niveau", _NIVEAU, enum=_NIVEAUX),
         Field("code", "string", "Code de l'unité", _CODE),
         Field("libelle", "string", "Nom de l'unité", "Nom de la commune, du territoire ou du département"),
         Field("niveau_parent", "string", "Niveau du parent", "Niveau de l'unité qui la contient (vide au sommet)"),
         Field("code_parent", "string", "Code du parent", "Code de l'unité qui la contient (vide au sommet)"),
         Field("nb_structures", "integer", "Structures", "Nombre de structures agréées (centres sociaux et EVS)"),
         Field("nb_cs", "integer", "Centres sociaux", "Nombre de centres sociaux"),
         Field("nb_evs", "integer", "Espaces de vie sociale", "Nombre d'espaces de vie sociale"),
         Field("nb_indicateurs_publies", "integer", "Indicateurs publiés",
               "Nombre d'indicateurs publiés pour l'unité cette année-là",
               "coalesce(nb_indicateurs_publies, 0)")],
        ["annee", "niveau", "code"], mart="pub_unites"),
    Table(
        "registre", "Registre des indicateurs",
        "La définition, le calcul, le champ, l'unité et la cible de chaque indicateur.",
        "publie.pub_registre", "ordre, indicateur",
        [Field("indicateur", "string", "Indicateur", "Identifiant de l'indicateur"),
         Field("libelle", "string", "Libellé", "Nom de l'indicateur"),
         Field("definition", "string", "Définition", "Ce que mesure l'indicateur"),
         Field("calcul", "string", "Calcul", "Le calcul en clair"),
         Field("champ", "string", "Champ", "Les structures (ou activités) retenues"),
         Field("rubrique", "string", "Rubrique", "Rubrique des pages de l'observatoire"),
         Field("axe", "string", "Axe", "Axe du projet fédéral (ou socle : chiffres clés SENACS)"),
         Field("libelle_axe", "string", "Libellé de l'axe", "Nom de l'axe du projet fédéral"),
         Field("action", "string", "Action", "Action du projet fédéral"),
         Field("libelle_action", "string", "Libellé de l'action", "Nom de l'action du projet fédéral"),
         Field("libelle_maillon", "string", "Maillon", "Maillon de la chaîne de résultats"),
         Field("libelle_source", "string", "Source", "Source des données"),
         Field("unite", "string", "Unité de mesure", "Code de l'unité de mesure (ratio : une part entre 0 et 1)"),
         Field("libelle_unite", "string", "Libellé de l'unité de mesure", "Unité de mesure en clair"),
         Field("libelle_sens", "string", "Sens", "Sens d'un progrès"),
         Field("n_min", "integer", "Minimum de structures",
               "Nombre minimum de structures pour publier une valeur (secret statistique)"),
         Field("decimales", "integer", "Décimales", "Précision de publication de la valeur"),
         Field("annee_reference", "integer", "Année de référence", "Année de référence (point de départ du projet)"),
         Field("cible", "number", "Cible", "Cible du projet fédéral (vide : pas de cible)")],
        ["indicateur"], mart="pub_registre"),
    Table(
        "cibles", "Cibles du projet fédéral",
        "Pour chaque indicateur qui a une cible, à l'unité principale de l'observatoire : l'année et la valeur de "
        "référence, la cible et l'année où elle doit être atteinte.",
        """(SELECT *, row_number() OVER (PARTITION BY indicateur ORDER BY annee DESC) AS rang
            FROM publie.pub_tableau_de_bord WHERE cible IS NOT NULL) AS t
           WHERE rang = 1""", "ordre_axe, axe, action, indicateur",
        [Field("indicateur", "string", "Indicateur", "Identifiant de l'indicateur (voir registre.csv)"),
         Field("libelle_indicateur", "string", "Libellé de l'indicateur", "Nom de l'indicateur", "libelle"),
         Field("axe", "string", "Axe", "Axe du projet fédéral"),
         Field("action", "string", "Action", "Action du projet fédéral"),
         Field("niveau", "string", "Niveau", "Niveau de l'unité principale", enum=_NIVEAUX),
         Field("code", "string", "Code de l'unité", "Code de l'unité principale"),
         Field("unite", "string", "Unité de mesure", "Unité de mesure (ratio : une part entre 0 et 1)"),
         Field("annee_reference", "integer", "Année de référence", "Année de la valeur de départ"),
         Field("valeur_reference", "number", "Valeur de référence",
               "Valeur de l'indicateur l'année de référence (vide si secrète)"),
         Field("cible", "number", "Cible", "Valeur à atteindre"),
         Field("annee_cible", "integer", "Année de la cible", "Année où la cible doit être atteinte")],
        ["indicateur"],
        [_INDICATOR_KEY], mart="pub_tableau_de_bord"),
    Table(
        "verdicts", "Verdicts du tableau de bord",
        "Chaque année, pour chaque indicateur qui a une cible, à l'unité principale : la valeur, la valeur attendue "
        "sur la trajectoire de la référence à la cible, le verdict, la part du chemin parcouru et l'écart à la cible.",
        "publie.pub_tableau_de_bord WHERE cible IS NOT NULL", "indicateur, annee",
        [Field("indicateur", "string", "Indicateur", "Identifiant de l'indicateur (voir registre.csv)"),
         Field("annee", "integer", "Année de données", "Année de données"),
         Field("niveau", "string", "Niveau", "Niveau de l'unité principale", enum=_NIVEAUX),
         Field("code", "string", "Code de l'unité", "Code de l'unité principale"),
         Field("valeur", "number", "Valeur", "Valeur de l'indicateur (vide si secrète)"),
         Field("valeur_attendue", "number", "Valeur attendue",
               "Valeur attendue cette année sur la trajectoire linéaire de la référence à la cible"),
         Field("statut_cible", "string", "Statut sur la trajectoire",
               "en_bonne_voie (au moins la valeur attendue), en_retard (en progrès depuis la référence, sous la "
               "valeur attendue), hors_trajectoire (pas de progrès depuis la référence) ; vide sans statut",
               enum=["en_bonne_voie", "en_retard", "hors_trajectoire"]),
         Field("verdict", "string", "Verdict du tableau de bord",
               "atteinte ; non_atteinte (la dernière année du projet) ; en_bonne_voie, en_retard, hors_trajectoire "
               "(les années précédentes) ; non_calculable (valeur ou référence non publiée, ou année de référence)",
               enum=["atteinte", "non_atteinte", "en_bonne_voie", "en_retard", "hors_trajectoire",
                     "non_calculable"]),
         Field("part_chemin", "number", "Part du chemin parcouru",
               "(valeur − valeur de référence) ÷ (cible − valeur de référence) : 0 au départ, 1 à la cible"),
         Field("ecart_cible", "number", "Écart à la cible", "Valeur moins cible"),
         Field("annee_atteinte", "integer", "Année où la cible a été atteinte",
               "Première année, jusqu'à celle de la ligne, où la valeur a atteint la cible"),
         Field("rang_attention", "integer", "Ordre d'attention",
               "Ordre de lecture du tableau de bord dans l'année : ce qui demande l'attention d'abord")],
        ["indicateur", "annee", "niveau", "code"],
        [_INDICATOR_KEY, _unit_key("unites")], mart="pub_tableau_de_bord"),
    Table(
        "references_nationales", "Références nationales",
        "Les chiffres nationaux SENACS publiés auxquels l'observatoire compare ses valeurs, avec leur source.",
        """(SELECT indicateur, annee_nationale AS annee, any_value(valeur_nationale) AS valeur,
                   any_value(note_nationale) AS note, any_value(editeur_source) AS editeur,
                   any_value(titre_source) AS titre, any_value(source_nationale) AS url,
                   any_value(type_source) AS type_source
            FROM publie.pub_comparaison_nationale WHERE valeur_nationale IS NOT NULL
            GROUP BY indicateur, annee_nationale) AS n""", "indicateur, annee",
        [Field("indicateur", "string", "Indicateur", "Identifiant de l'indicateur (voir registre.csv)"),
         Field("annee", "integer", "Année", "Année de données du chiffre national"),
         Field("valeur", "number", "Valeur nationale", "Valeur nationale publiée (une part est écrite entre 0 et 1)"),
         Field("note", "string", "Note", "Précision sur le chiffre national"),
         Field("editeur", "string", "Éditeur", "Éditeur de la source"),
         Field("titre", "string", "Titre de la source", "Titre de la publication"),
         Field("url", "string", "Adresse", "Adresse de la publication"),
         Field("type_source", "string", "Type de source", "rapport_senacs, institution, reseau ou presse")],
        ["indicateur", "annee"],
        [_INDICATOR_KEY]),
]

UNIT_COLUMNS = [f.name for f in TABLES[1].fields]

DICTIONARY_TABLE = Table(
    "dictionnaire", "Dictionnaire des données", "La description de chaque colonne de chaque fichier.", "", "",
    [Field("fichier", "string", "Fichier", "Nom du fichier"),
     Field("colonne", "string", "Colonne", "Nom de la colonne"),
     Field("type", "string", "Type", "Type de la colonne (Table Schema : string, integer, number)"),
     Field("libelle", "string", "Libellé", "Libellé de la colonne"),
     Field("description", "string", "Description", "Ce que contient la colonne")],
    ["fichier", "colonne"])

# The rule of formatting.csv_cell, for the cells DuckDB writes: text starting with = + - @ that is
# not a number is prefixed with a quote, so that no spreadsheet runs it.
_NEUTRAL = ("CASE WHEN regexp_matches({c}, '^[=+@\\t\\r-]') AND TRY_CAST(replace({c}, ',', '.') AS DOUBLE) IS NULL "
            "THEN '''' || {c} ELSE {c} END")
# a whole number is written as one ("5", "659789"), not as the float it is stored as ("5.0")
_WHOLE = "CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"


def _present(con, table: Table) -> set[str] | None:
    if not table.mart:
        return None
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                      "'publie' AND table_name = ?", [table.mart]).fetchall()}


def _select(table: Table, *, for_csv: bool, present: set[str] | None = None, has_sheet: str = "",
            numbered: bool = False) -> str:
    """The table's query: for the CSV, its text as a spreadsheet may open it; else its typed values.
    `numbered`: unordered, with each row's rank in the table's order as `_rn` (the workbook's sheets)."""
    columns = []
    for f in table.fields:
        e = f.expression
        if present is not None and f.sql is None and f.name not in present:
            e = "NULL"
        if for_csv and f.type == "string":
            e = _NEUTRAL.format(c=f"CAST({e} AS VARCHAR)")
        elif for_csv and f.type == "number":
            e = _WHOLE.format(c=f"CAST({e} AS DOUBLE)")
        elif f.type == "integer":
            e = f"CAST({e} AS BIGINT)"
        columns.append(f'{e} AS "{f.name}"')
    source = table.source.replace('HAS_SHEET', has_sheet or _HAS_SHEET)
    if numbered:
        return f"SELECT {', '.join(columns)}, row_number() OVER (ORDER BY {table.order}) AS _rn FROM {source}"
    return f"SELECT {', '.join(columns)} FROM {source} ORDER BY {table.order}"


# whether a unit of publie.pub_unites has a sheet (dbt decides) or is its main unit or a territory that
# is its département (neither listed without a sheet); the rows of a year frozen before dbt published
# a_une_fiche (a year held back since) are read by the rule dbt had then
_HAS_SHEET = ("coalesce(u.a_une_fiche, u.niveau <> 'commune' OR coalesce(u.nb_indicateurs_publies, 0) > 0) "
              "OR u.est_principal OR coalesce(u.confondu_avec_parent, false)")


def _sheet_rule(con) -> str:
    """_HAS_SHEET, for a snapshot whose pub_unites was frozen before dbt published a_une_fiche too."""
    present = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                         "'publie' AND table_name = 'pub_unites'").fetchall()}
    return _HAS_SHEET if "a_une_fiche" in present else _HAS_SHEET.replace("u.a_une_fiche", "NULL")


def _copy_csv(con, select: str, path: Path) -> int:
    """`select` written by DuckDB into `path` as a CSV of the project (';', UTF-8 with BOM, '\\n'
    line endings); returns its number of rows (COPY's answer)."""
    body = path.with_name(f".{path.name}")
    target = str(body).replace("'", "''")
    written = con.execute(f"COPY ({select}) TO '{target}' (FORMAT csv, DELIMITER ';', HEADER true, "
                          f"NEW_LINE '\\n')").fetchall()[0][0]
    with path.open("wb") as out, body.open("rb") as src:
        out.write("\ufeff".encode("utf-8"))      # UTF-8 with BOM, as every CSV of the project
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()
    return written


def _csv_text(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator=NEWLINE)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return "\ufeff" + buffer.getvalue()


def _dictionary_rows() -> list[list[str]]:
    return [[f"{t.name}.csv", f.name, f.type, f.title, f.description] for t in [*TABLES, DICTIONARY_TABLE]
            for f in t.fields]


def _schema(table: Table) -> dict:
    fields = []
    for f in table.fields:
        d = {"name": f.name, "type": f.type, "title": f.title, "description": f.description}
        if f.enum:
            d["constraints"] = {"enum": f.enum}
        fields.append(d)
    schema = {"fields": fields, "missingValues": [""]}
    if table.primary_key:
        schema["primaryKey"] = table.primary_key
    if table.foreign_keys:
        schema["foreignKeys"] = table.foreign_keys
    return schema


def datapackage(data: SiteData, produced: str | None) -> dict:
    """The Frictionless Data Package descriptor of the open data."""
    f = data.federation
    licence = {"name": "etalab-2.0" if "ouverte" in (f.get("licence") or "Licence Ouverte 2.0").lower() else
               "other", "title": f.get("licence") or "Licence Ouverte 2.0"}
    if f.get("licence_url"):
        licence["path"] = f["licence_url"]
    resources = []
    for t in [*TABLES, DICTIONARY_TABLE]:
        resources.append({
            "name": t.name, "path": f"{t.name}.csv", "title": t.title, "description": t.description,
            "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8-sig",
            "dialect": {"delimiter": ";", "lineTerminator": NEWLINE, "header": True},
            "schema": _schema(t)})
    package = {
        "profile": "tabular-data-package", "name": "observatoire-centres-sociaux",
        "title": f"Observatoire des centres sociaux – {f.get('nom', 'fédération')}",
        "description": "Indicateurs publiés de l'observatoire de l'impact social des centres sociaux et espaces "
                       "de vie sociale (enquête SENACS et journal d'activités de la fédération). Les mêmes tables "
                       f"sont dans le classeur {XLSX_NAME}, aux cellules numériques typées.",
        "licenses": [licence],
        "sources": [{"title": "Enquête SENACS (déclarations des structures) et journal d'activités de la fédération"}],
        "resources": resources}
    if produced:
        package["created"] = f"{produced}T00:00:00Z" if len(produced) == 10 else produced
    return package


def _xlsx(con, path: Path, stamp: str | None = None) -> None:
    """The same tables in one workbook, one sheet each, and the dictionary: numbers as numbers,
    text as text (never a formula). DuckDB writes the sheets' XML (reports/workbook.py): a
    spreadsheet library handling each of the national open data's millions of cells in Python
    took two thirds of the `report` step."""
    import pyarrow as pa
    rule = _sheet_rule(con)
    sheets = [workbook.Sheet(t.name, [(f.name, f.type) for f in t.fields],
                             _select(t, for_csv=False, present=_present(con, t), has_sheet=rule, numbered=True))
              for t in TABLES]
    rows = _dictionary_rows()
    names = [f.name for f in DICTIONARY_TABLE.fields]
    dictionary = pa.table({**{n: [r[i] for r in rows] for i, n in enumerate(names)},
                           "_rn": list(range(1, len(rows) + 1))})
    view = "_observatoire_dictionnaire"
    con.register(view, dictionary)
    try:
        sheets.append(workbook.Sheet(DICTIONARY_TABLE.name, [(f.name, f.type) for f in DICTIONARY_TABLE.fields],
                                     f"SELECT * FROM {view}"))
        workbook.write(con, path, sheets, stamp)
    finally:
        con.unregister(view)


def write_open_data(data: SiteData, folder: Path, con) -> int:
    """Writes every table of the open data as CSV (DuckDB writes them: hundreds of thousands of
    rows at national scale), the dictionary, datapackage.json, the XLSX workbook and LICENCE.txt;
    returns the number of rows of indicateurs.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for t in TABLES:
        n = _copy_csv(con, _select(t, for_csv=True, present=_present(con, t), has_sheet=_sheet_rule(con)),
                      folder / f"{t.name}.csv")
        written = written or n          # the first table: indicateurs.csv
    (folder / "dictionnaire.csv").write_bytes(
        _csv_text([f.name for f in DICTIONARY_TABLE.fields], _dictionary_rows()).encode("utf-8"))
    f = data.federation
    dates = [p["publie_le"] for a, p in data.publications.items() if a in data.annees and p.get("publie_le")]
    produced = str(max(dates))[:10] if dates else None
    _xlsx(con, folder / XLSX_NAME, produced)
    (folder / "datapackage.json").write_bytes(
        (json.dumps(datapackage(data, produced), ensure_ascii=False, indent=2) + NEWLINE).encode("utf-8"))
    (folder / "LICENCE.txt").write_bytes((
        f"Données de l'observatoire des centres sociaux. Producteur : {f.get('nom') or 'la fédération'}.\n"
        f"Licence : {f.get('licence') or 'Licence Ouverte 2.0'}"
        + (f" ({f['licence_url']})" if f.get("licence_url") else "") + "\n"
        + (f"Date de production : {date_longue(max(dates))}\n" if dates else "")
        + "Source : enquête SENACS (déclarations des structures)"
        + (" et journal d'activités de la fédération" if data.parametres.get("journal") else "") + ".\n"
    ).encode("utf-8"))
    return written          # COPY answers with the number of rows it wrote
