"""Quality outputs of a validation run: a French page per data year and, per structure,
the CSV of its findings to send back to the centre ("fiche de retour").

The data preparation (`quality_records`: which findings, grouped how, in which French words)
is kept apart from the HTML: it returns plain records (strings, numbers, lists, dicts) that
any template can render, the quality page here or a page of the internal site."""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from slugify import slugify

from common.errors import then
from common.names import file_stem
from ingest.config import Config
from expectations.rules import libelle
from expectations.publication import DATA_YEAR, effective_findings_sql

from common.french import fr_number

from .formatting import csv_text, nombre, pourcentage, typo

TEMPLATES = Path(__file__).resolve().parent / "templates"
BLOCS = {"identite": "Identité et territoire", "publics_actions": "Publics et actions",
         "participation": "Participation et bénévolat", "partenariats": "Partenariats et pratiques",
         "personnel": "Personnel", "finances": "Finances"}
SEVERITIES = {"bloquant": "Bloquant", "avertissement": "Avertissement", "info": "Information"}
SEVERITY_ORDER = {"bloquant": 0, "avertissement": 1, "info": 2}
CONFIRMATION_STATUS = {"active": "prise en compte", "perimee": "périmée : la valeur a changé depuis",
                       "refusee": "ignorée : elle ne désigne aucune réponse"}
FICHE_COLUMNS = ["annee_enquete", "code_structure", "nom_structure", "severite", "controle", "colonne",
                 "valeur_declaree", "valeur_attendue", "message"]


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader([TEMPLATES, TEMPLATES / "site"]), autoescape=select_autoescape(["html"]),
                      trim_blocks=False, lstrip_blocks=False)
    env.filters["typo"] = typo
    return env


def _text(value) -> str:
    """Any value read from the warehouse, as text a person can read ("" when unknown)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


NATURES = {"impossible": "Impossible", "influente": "Influente", "suspecte": "Inhabituelle", "info": "Information"}
# Findings that say something of the federation's own files or work, never of a structure's answer:
# they stay off the feedback sheets.
FEDERATION_ONLY = {"code_commune_zero_restaure", "ligne_de_total", "colonne_inconnue", "entete_repete",
                   "colonne_sans_entete", "cellule_fusionnee", "feuille_lue", "extension_trompeuse",
                   "encodage_mixte", "formule_sans_valeur", "fichier_rejete", "fichier_remplace", "dossier_illisible",
                   "doublon_exact", "doublon_conflictuel", "annee_enquete_differente_du_fichier", "correction_appliquee",
                   "correction_refusee", "confirmation_perimee", "confirmation_refusee", "reponse_avec_precision",
                   "caracteres_de_controle", "champs_surnumeraires", "champs_manquants", "ligne_mal_formee",
                   "guillemet_non_ferme", "guillemets_mal_places", "cellule_trop_longue"}
# A finding the structure's centre can answer (its feedback sheet asks it): one worded for the
# centre, or a slip of its own answer found on reading the survey (not one of the federation's own
# files), as SQL over the findings (quality outputs, the run's summary).
FOR_THE_CENTRE = ("(coalesce(constat_centre, '') <> '' OR (etape = 'ingest' AND coalesce(type_extrait, '') IN "
                  "('', 'senacs') AND coalesce(regle, '') NOT IN (" + ", ".join(f"'{r}'" for r in sorted(FEDERATION_ONLY))
                  + ")))")


@cache
def _not_numbers() -> frozenset[str]:
    """The extracts' columns whose values are codes, dates or words, never quantities (ingest/schema.yaml):
    a commune code 97400, a SIRET or a year is shown as declared, not as « 97 400 »."""
    return frozenset(c.name for columns in Config().columns.values() for c in columns.values()
                     if c.type not in ("int", "decimal"))


def _shown(text: str, colonne: str = "") -> str:
    """A declared value as a person reads it: 592 154 160, 17,5 (text that is no number, or the value of
    a column of codes, stays as is)."""
    if not text or text.strip().lower() in ("nan", "inf", "-inf") or colonne in _not_numbers():
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return fr_number(int(number) if number.is_integer() else number)


def _score(value) -> float | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else float(value)


def _finding(row: dict, questions: dict | None = None) -> dict:
    severite = row.get("severite", "bloquant")
    score = _score(row.get("score"))
    colonne = _text(row.get("colonne"))
    question = (questions or {}).get(colonne, {})
    nature = _text(row.get("nature")) or {"bloquant": "impossible", "avertissement": "suspecte"}.get(severite, "info")
    return {"severite": severite, "severite_libelle": SEVERITIES.get(severite, "Constat"),
            "nature": nature, "nature_libelle": NATURES.get(nature, "Constat"),
            "score": score,
            # the score in words: « changerait les familles touchées du département (…) de 2,4 % »
            "effet": (f"changerait {_text(row.get('figure'))} de {pourcentage(score)}"
                      if score is not None and _text(row.get("figure")) else ""),
            "question": question.get("question", ""), "libelle_question": question.get("libelle_court", ""),
            "constat_centre": _text(row.get("constat_centre")), "demande_centre": _text(row.get("demande_centre")),
            "pour_la_structure": bool(row.get("pour_la_structure")),      # FOR_THE_CENTRE, in _prepare
            "controle": libelle(row.get("regle")), "colonne": _text(row.get("colonne")),
            "valeur": _text(row.get("valeur_brute")), "attendu": _text(row.get("valeur_attendue")),
            "message": _text(row.get("message")), "annee_enquete": _text(row.get("annee_enquete")),
            "regle": _text(row.get("regle")), "valeur_lue": _shown(_text(row.get("valeur_brute")), colonne)}


def _structure(code: str, nom, found: list[dict], year) -> dict:
    """A structure's record: its findings (already in order, dbt's scores deciding among them),
    what to ask the centre, its files' names and its rank among the structures to contact."""
    nom = nom or code
    # the analyst's record (CSV) is named by the code; the sheet sent to the centre by its code and name
    name = f"{file_stem(code)}.csv"
    # the code's stem is injective and holds no "__" (nor does a slug): code and name stay apart
    stem = f"{file_stem(code)}__{slugify(str(nom), max_length=60, word_boundary=True) or 'structure'}"
    a_demander = [f for f in found if f["pour_la_structure"] and f["severite"] in ("bloquant", "avertissement")]
    return {"code": code, "nom": nom, "fiche": f"fiches_retour/{year}/{name}",
            "fiche_html": f"fiches_retour/{year}/{stem}.html" if a_demander else "",
            "fichier": name, "fichier_html": f"{stem}.html", "constats": found, "a_demander": a_demander,
            # impossible findings first, then by the largest effect on a published figure
            "rang": max((float("inf") if f["nature"] == "impossible" else (f["score"] or 0))
                        for f in found if f["severite"] == "bloquant") if any(
                            f["severite"] == "bloquant" for f in found) else 0.0,
            "n_bloquants": sum(r["severite"] == "bloquant" for r in found),
            "n_avertissements": sum(r["severite"] == "avertissement" for r in found)}


def _by_structure(rows: list[dict], names: dict, year) -> list[dict]:
    """Findings grouped by structure, one record each, in the order the rows come (DuckDB's)."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["code_structure"], []).append(row)
    return [_structure(code, names.get(code), found, year) for code, found in groups.items()]


TOP = 100           # structures (and findings outside any structure) detailed on a year's page
BATCH = 500         # structures whose feedback sheets are written from one query
FULL_LIST = "constats_{annee}.csv"      # every finding of a year, beside its page
# the temporary tables of the quality outputs (quality_records creates them, release drops them)
_FINDINGS, _STRUCTURES, _LABELS = "_qualite_constats", "_qualite_structures", "_qualite_libelles"
# columns a finding may lack in a warehouse written before they existed (read as empty)
_OPTIONAL = {"nature": "VARCHAR", "score": "DOUBLE", "figure": "VARCHAR", "constat_centre": "VARCHAR",
             "demande_centre": "VARCHAR", "type_extrait": "VARCHAR", "valeur_attendue": "VARCHAR",
             "etape": "VARCHAR"}
# the order of a structure's findings: gravest first, then by their effect on a published figure
_FINDING_ORDER = ("ordre_severite, coalesce(score_lu, 0) DESC, coalesce(colonne, ''), controle, "
                  "coalesce(regle, ''), coalesce(valeur_brute, ''), coalesce(message, '')")
_HAS_CODE = "coalesce(code_structure, '') <> ''"
# what the outputs read of a finding (the rest stays in the warehouse)
_READ = ("etape", "type_extrait", "fichier", "ligne", "annee_enquete", "code_structure", "colonne", "valeur_brute",
         "valeur_attendue", "regle", "severite", "message", "nature", "score", "figure", "constat_centre",
         "demande_centre")


@contextmanager
def _in_order(con):
    """Rows written and read in the order of the query (validate lets DuckDB reorder them); the
    setting restored after, without hiding a failure (common.errors.then)."""
    kept = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    with then(lambda: con.execute(f"SET preserve_insertion_order = {'true' if kept else 'false'}")):
        yield


def _rows(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _prepare(con) -> None:
    """The findings of every data year as the quality outputs read them, in DuckDB's temporary
    tables (never all in Python): each with its data year, its rule's French label, its batch of
    feedback sheets; and per structure and year its counts of findings and its rank (its gravest
    blocking finding: an impossible value first, else the largest score dbt gave)."""
    present = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'constats_qualite'").fetchall()}
    missing = ", ".join(f"NULL::{kind} AS {name}" for name, kind in _OPTIONAL.items() if name not in present)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_LABELS} (regle VARCHAR, controle VARCHAR)")
    rules = [r[0] for r in con.execute("SELECT DISTINCT regle FROM constats_qualite WHERE regle IS NOT NULL").fetchall()]
    if rules:
        con.execute(f"INSERT INTO {_LABELS} SELECT unnest(?), unnest(?)", [rules, [libelle(r) for r in rules]])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _qualite_lus AS
        SELECT f.*, coalesce(l.controle, ?) AS controle,
               CASE f.severite WHEN 'bloquant' THEN 0 WHEN 'avertissement' THEN 1 WHEN 'info' THEN 2 ELSE 3 END
                   AS ordre_severite,
               CASE WHEN isnan(f.score) THEN NULL ELSE f.score END AS score_lu,
               coalesce({FOR_THE_CENTRE}, false) AS pour_la_structure,
               coalesce(nullif(f.nature, ''), CASE f.severite WHEN 'bloquant' THEN 'impossible'
                                                   WHEN 'avertissement' THEN 'suspecte' ELSE 'info' END) AS nature_lue
        FROM (SELECT {DATA_YEAR} AS annee, {", ".join(c for c in _READ if c in present)}{', ' + missing if missing else ''}
              FROM ({effective_findings_sql(con)})) f
        LEFT JOIN {_LABELS} l USING (regle)""", [libelle(None)])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_STRUCTURES} AS
        WITH s AS (
            SELECT annee, code_structure AS code,
                   count(*) FILTER (WHERE severite = 'bloquant') AS n_bloquants,
                   -- those the centre can answer: a structure is to contact for them, not for the
                   -- federation's own slips (a refused correction)
                   count(*) FILTER (WHERE severite = 'bloquant' AND pour_la_structure) AS n_a_demander,
                   count(*) FILTER (WHERE severite = 'avertissement') AS n_avertissements,
                   coalesce(max(CASE WHEN nature_lue = 'impossible' THEN 'Infinity'::DOUBLE
                                     ELSE coalesce(score_lu, 0) END) FILTER (WHERE severite = 'bloquant'), 0) AS rang
            FROM _qualite_lus WHERE annee IS NOT NULL AND {_HAS_CODE} GROUP BY ALL)
        SELECT s.*, coalesce(nullif(d.nom, ''), s.code) AS nom,
               (dense_rank() OVER (PARTITION BY s.annee ORDER BY s.code) - 1) // {BATCH} AS lot
        FROM s LEFT JOIN (SELECT code_structure, any_value(nom_structure) AS nom FROM dim_structures GROUP BY ALL) d
            ON d.code_structure = s.code""")
    # stored by year and batch, so that reading one batch skips the others, and in the order of the
    # full list: by structure, its gravest findings first, then those of no structure
    with _in_order(con):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {_FINDINGS} AS
            SELECT f.*, s.lot, s.nom AS nom_structure_lu FROM _qualite_lus f
            LEFT JOIN {_STRUCTURES} s ON s.annee = f.annee AND s.code = f.code_structure
            ORDER BY f.annee, s.lot, f.code_structure, {_FINDING_ORDER}, fichier, ligne""")
    con.execute("DROP TABLE _qualite_lus")


def release(con) -> None:
    """Drops the temporary tables of the quality outputs."""
    for table in (_FINDINGS, _STRUCTURES, _LABELS):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _findings_of(con, questions: dict, where: str, params: list, order: str = _FINDING_ORDER,
                 limit: int | None = None) -> list[dict]:
    rows = _rows(con, f"SELECT * FROM {_FINDINGS} WHERE {where} ORDER BY {order}"
                      + (f" LIMIT {int(limit)}" if limit is not None else ""), params)
    return [{**_finding(r, questions), "code_structure": _text(r["code_structure"])} for r in rows]


def _structures_of(con, questions: dict, year, codes: list[str]) -> dict[str, dict]:
    """The records of the structures `codes` in `year`, each with all its findings."""
    if not codes:
        return {}
    names = dict(con.execute(f"SELECT code, nom FROM {_STRUCTURES} WHERE annee = ? AND code IN (SELECT unnest(?))",
                             [year, codes]).fetchall())
    found = _findings_of(con, questions, "annee = ? AND code_structure IN (SELECT unnest(?))", [year, codes],
                         order=f"code_structure, {_FINDING_ORDER}")
    return {s["code"]: s for s in _by_structure(found, names, year)}


def _top(con, year, where: str, order: str, top: int) -> tuple[list[str], int]:
    """The first `top` structures of `year` matching `where` in `order`, and how many match."""
    codes = [r[0] for r in con.execute(f"SELECT code FROM {_STRUCTURES} WHERE annee = ? AND ({where}) "
                                       f"ORDER BY {order} LIMIT {int(top)}", [year]).fetchall()]
    total = con.execute(f"SELECT count(*) FROM {_STRUCTURES} WHERE annee = ? AND ({where})", [year]).fetchall()[0][0]
    return codes, total


def _rest(shown: int, total: int) -> dict | None:
    """What a page says of the items it does not show (None when it shows them all)."""
    return {"nb": total - shown, "n": nombre(total - shown), "total": nombre(total)} if total > shown else None


def _counts(con, year, severite: str) -> list[dict]:
    return [{"controle": controle, "n": nombre(n)} for controle, n in con.execute(
        f"SELECT controle, count(*) AS n FROM {_FINDINGS} WHERE annee = ? AND severite = ? "
        "GROUP BY controle ORDER BY n DESC, controle", [year, severite]).fetchall()]


def quality_records(con, gates, top: int = TOP) -> list[dict]:
    """One plain record per data year of `gates`: the structures to contact (those whose
    findings hold the year, impossible ones first then by score), what blocks publication
    (grouped by structure), the warnings by check and by score, the confirmed values (by whom,
    when, why), the response and completeness rates, and the structures to review with their
    findings. Bounded whatever the number of findings: the counts are DuckDB's, and each list
    holds at most `top` items, the first in the order DuckDB ranks them (`reste_*` says how many
    more; every finding is in the year's full list, written by write_full_list). Leaves the
    findings in temporary tables for write_fiches and write_full_list (release drops them)."""
    questions = _questions(con)
    _prepare(con)
    has_confirmations = con.execute("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_name = 'confirmations'").fetchall()[0][0]
    confirmations = (con.execute("SELECT coalesce(annee_donnees, annee_enquete - 1) AS annee, * FROM confirmations "
                                 "ORDER BY code_structure, colonne").df()
                     if has_confirmations else pd.DataFrame(columns=["annee"]))
    # of the observatory's main unit, as dbt chose it (the federation's département, or France)
    completude = con.execute("""SELECT * FROM fct_completude WHERE (annee, niveau, code) IN
                                    (SELECT (annee, niveau, code) FROM pub_unites WHERE est_principal)""").df()
    federation = con.execute("SELECT nom FROM pub_federation").fetchall()[0][0]
    # findings of no year hold every year
    undated = "annee IS NULL AND severite = 'bloquant'"
    n_undated = con.execute(f"SELECT count(*) FROM {_FINDINGS} WHERE {undated}").fetchall()[0][0]
    records = []
    for gate in gates:
        year = gate.annee
        n_bloquants, n_avertissements, n_hors, n_averties, n_autres, n_bloquants_hors = con.execute(f"""
            SELECT count(*) FILTER (WHERE severite = 'bloquant'),
                   count(*) FILTER (WHERE severite = 'avertissement'),
                   count(*) FILTER (WHERE severite = 'avertissement' AND NOT {_HAS_CODE}),
                   count(DISTINCT code_structure) FILTER (WHERE severite = 'avertissement' AND {_HAS_CODE}),
                   count(*) FILTER (WHERE NOT {_HAS_CODE}),
                   count(*) FILTER (WHERE severite = 'bloquant' AND NOT {_HAS_CODE})
            FROM {_FINDINGS} WHERE annee = ?""", [year]).fetchall()[0]
        to_contact, n_to_contact = _top(con, year, "n_a_demander > 0", "rang DESC, code", top)
        blocked, _ = _top(con, year, "n_bloquants > 0", "rang DESC, n_bloquants DESC, code", top)
        to_review, n_to_review = _top(con, year, "n_bloquants > 0 OR n_avertissements > 0",
                                      "n_bloquants DESC, n_avertissements DESC, code", top)
        n_informations = con.execute(f"SELECT count(*) FROM {_STRUCTURES} WHERE annee = ? AND n_bloquants = 0 "
                                     "AND n_avertissements = 0", [year]).fetchall()[0][0]
        detail = _structures_of(con, questions, year, list(dict.fromkeys(to_contact + blocked + to_review)))
        hors = _findings_of(con, questions, f"annee = ? AND severite = 'bloquant' AND NOT {_HAS_CODE}", [year],
                            order=f"{_FINDING_ORDER}, fichier, ligne", limit=top)
        hors += [{**f, "code_structure": None} for f in _findings_of(
            con, questions, undated, [], order="coalesce(regle, ''), code_structure, ligne", limit=top - len(hors))]
        autres = _findings_of(con, questions, f"annee = ? AND NOT {_HAS_CODE}", [year],
                              order=f"{_FINDING_ORDER}, fichier, ligne", limit=top)
        blocks = completude[completude["annee"] == year].sort_values("bloc")
        records.append({
            "annee": int(year), "federation": _text(federation), "publie": bool(gate.publie),
            "deja_publie": bool(gate.deja_publie),
            "n_bloquants": n_bloquants + n_undated,
            "bloquants": [{**detail[c], "constats": [f for f in detail[c]["constats"] if f["severite"] == "bloquant"]}
                          for c in blocked],
            "a_contacter": [detail[c] for c in to_contact],
            "n_a_contacter": n_to_contact,
            "reste_a_contacter": _rest(len(to_contact), n_to_contact),
            "avertissements_par_score": _findings_of(
                con, questions, "annee = ? AND severite = 'avertissement' AND score_lu IS NOT NULL", [year],
                order=f"score_lu DESC, code_structure, {_FINDING_ORDER}", limit=50),
            "bloquants_hors_structure": hors,
            "reste_bloquants_hors_structure": _rest(len(hors), n_bloquants_hors + n_undated),
            "n_avertissements": n_avertissements,
            "n_structures_averties": n_averties,
            "n_avertissements_hors_structure": n_hors,
            "avertissements_par_controle": _counts(con, year, "avertissement"),
            "infos_par_controle": _counts(con, year, "info"),
            "confirmations": [{"code": c["code_structure"], "nom": _name(con, c["code_structure"]),
                               "colonne": _text(c["colonne"]), "valeur": _text(c["valeur_confirmee"]),
                               "motif": _text(c["motif"]), "auteur": _text(c["auteur"]),
                               "date": _text(c["date_confirmation"]),
                               "statut": CONFIRMATION_STATUS.get(c["statut"], _text(c["statut"]))}
                              for c in confirmations[confirmations["annee"] == year].to_dict("records")],
            "completude": [{"bloc": BLOCS.get(b.bloc, _text(b.bloc)), "n_invites": nombre(b.n_invites),
                            "n_repondants": nombre(b.n_repondants), "taux_reponse": pourcentage(b.taux_reponse),
                            "taux_completude": pourcentage(b.taux_completude)} for b in blocks.itertuples()],
            # every structure with a finding has its fiche (write_fiches); the page details those to review
            "structures_a_revoir": [detail[c] for c in to_review],
            "reste_a_revoir": _rest(len(to_review), n_to_review),
            "n_structures_informations": n_informations,
            "autres": autres,
            "reste_autres": _rest(len(autres), n_autres),
            "liste_complete": FULL_LIST.format(annee=int(year)),
        })
    return records


def _questions(con) -> dict[str, dict]:
    """The survey's questions by column (their wording on the sheets and pages)."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'questions_enquete'"
                       ).fetchall()[0][0]:
        return {}
    return {r["colonne"]: r for r in _rows(con, "SELECT colonne, question, libelle_court FROM questions_enquete")}


def _name(con, code) -> str:
    row = con.execute("SELECT nom_structure FROM dim_structures WHERE code_structure = ? LIMIT 1", [code]).fetchall()
    return (row[0][0] if row else None) or _text(code)


def write_quality_outputs(con, gates, out_dir: Path, contacts: dict | None = None, top: int = TOP) -> list[Path]:
    """Writes <out>/<annee>.html, the year's full list of findings <out>/constats_<annee>.csv and
    <out>/fiches_retour/<annee>/<structure>.csv (and the sheets to send, .html); returns the pages.
    `contacts`, when given, receives per year the first structures to contact in order (a
    Contacts: its `total` says how many there are), each as (code, name, [what to ask, in short])."""
    template = environment().get_template("qualite_annee.html")
    pages = []
    with then(lambda: release(con)):      # a failure is said as itself (validate's transaction)
        for record in quality_records(con, gates, top):
            if contacts is not None:
                contacts[record["annee"]] = Contacts(
                    [(s["code"], s["nom"], [f"{c['libelle_question'] or c['colonne'] or c['controle']} ({c['valeur_lue'] or 'vide'}"
                                            + (f", {c['effet']}" if c["effet"] else f", {c['nature_libelle'].lower()}") + ")"
                                            for c in s["constats"] if c["severite"] == "bloquant"
                                            and c["pour_la_structure"]])
                     for s in record["a_contacter"]], record["n_a_contacter"])
            write_fiches(con, record, out_dir)
            write_full_list(con, record["annee"], out_dir / record["liste_complete"])
            page = out_dir / f"{record['annee']}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(template.render(**record), encoding="utf-8")
            pages.append(page)
    return pages


class Contacts(list):
    """The first structures to contact of a year, in order; `total`: how many there are in all."""

    def __init__(self, items, total: int):
        super().__init__(items)
        self.total = total


def write_fiches(con, record: dict, out_dir: Path) -> None:
    """Per structure with a finding in the year of `record`: the analyst's record of its findings
    (CSV), and, when something is to be checked with it, the feedback sheet addressed to the
    centre (printable HTML): each question as the survey words it, the value declared, what
    looks odd and what the federation asks; nothing meant for the analyst, nothing about the
    federation's own files. Written BATCH structures at a time, each batch read by one query
    (after quality_records, whose temporary tables it reads)."""
    template = environment().get_template("fiche_retour.html")
    year = record["annee"]
    folder = out_dir / "fiches_retour" / str(year)
    questions = _questions(con)
    lots = con.execute(f"SELECT max(lot) FROM {_STRUCTURES} WHERE annee = ?", [year]).fetchall()[0][0]
    for lot in range(0 if lots is None else lots + 1):
        rows = _rows(con, f"SELECT * FROM {_FINDINGS} WHERE annee = ? AND lot = ? "
                          f"ORDER BY code_structure, {_FINDING_ORDER}", [year, lot])
        names = {r["code_structure"]: r["nom_structure_lu"] for r in rows}
        for structure in _by_structure([{**_finding(r, questions), "code_structure": r["code_structure"]}
                                        for r in rows], names, year):
            _write_fiche(folder / structure["fichier"], structure)
            if structure["a_demander"]:
                (folder / structure["fichier_html"]).write_text(
                    template.render(structure=structure, annee=year, federation=record["federation"]),
                    encoding="utf-8")


def write_full_list(con, year: int, path: Path) -> int:
    """Every finding of `year` (and those of no year, which hold every year), written by DuckDB:
    structure by structure (by code, as their feedback sheets), the gravest findings of each first,
    then those of no structure; each as the feedback sheets say it. Read in the order the findings
    are stored (quality_records' temporary tables): no sort, whatever their number. Returns the
    number of findings."""
    from .opendata import _NEUTRAL, _copy_csv

    severity = "CASE severite " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SEVERITIES.items()) + " ELSE 'Constat' END"
    cells = {"annee_enquete": "CAST(annee_enquete AS VARCHAR)", "code_structure": "code_structure",
             "nom_structure": "nom_structure_lu", "severite": severity, "controle": "controle",
             "colonne": "colonne", "valeur_declaree": "valeur_brute", "valeur_attendue": "valeur_attendue",
             "message": "message"}
    select = ", ".join(f"{_NEUTRAL.format(c=f'CAST({e} AS VARCHAR)')} AS {name}" for name, e in cells.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    with _in_order(con):
        return _copy_csv(con, f"SELECT {select} FROM {_FINDINGS} WHERE annee = {int(year)} "
                              "OR (annee IS NULL AND severite = 'bloquant')", path)


def _write_fiche(path: Path, structure: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ([f["annee_enquete"], structure["code"], structure["nom"], f["severite_libelle"], f["controle"],
             f["colonne"], f["valeur"], f["attendu"], f["message"]] for f in structure["constats"])
    path.write_text(csv_text(FICHE_COLUMNS, rows), encoding="utf-8")
