"""Quality outputs of a validation run: a French page per data year and, per structure,
the CSV of its findings to send back to the centre ("fiche de retour").

The data preparation (`quality_records`: which findings, grouped how, in which French words)
is kept apart from the HTML: it returns plain records (strings, numbers, lists, dicts) that
any template can render, the quality page here or a page of the internal site."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from slugify import slugify

from common.names import file_stem
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
                   "encodage_mixte", "formule_sans_valeur", "fichier_rejete", "dossier_illisible",
                   "doublon_exact", "doublon_conflictuel", "annee_enquete_differente_du_fichier", "correction_appliquee",
                   "correction_refusee", "confirmation_perimee", "confirmation_refusee", "reponse_avec_precision",
                   "caracteres_de_controle", "champs_surnumeraires", "champs_manquants", "ligne_mal_formee",
                   "guillemet_non_ferme", "guillemets_mal_places", "cellule_trop_longue"}


def _shown(text: str) -> str:
    """A declared value as a person reads it: 592 154 160, 17,5 (text that is no number stays as is)."""
    if not text or text.strip().lower() in ("nan", "inf", "-inf"):
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
            "pour_la_structure": bool(_text(row.get("constat_centre"))) or (
                _text(row.get("etape")) == "ingest" and _text(row.get("regle")) not in FEDERATION_ONLY
                and _text(row.get("type_extrait")) in ("", "senacs")),
            "controle": libelle(row.get("regle")), "colonne": _text(row.get("colonne")),
            "valeur": _text(row.get("valeur_brute")), "attendu": _text(row.get("valeur_attendue")),
            "message": _text(row.get("message")), "annee_enquete": _text(row.get("annee_enquete")),
            "regle": _text(row.get("regle")), "valeur_lue": _shown(_text(row.get("valeur_brute")))}


def _by_structure(rows: list[dict], names: dict[str, str], year) -> list[dict]:
    """Findings grouped by structure, the structures with the gravest findings first."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["code_structure"], []).append(row)
    out = []
    for code, found in groups.items():
        found = sorted(found, key=lambda r: (SEVERITY_ORDER.get(r["severite"], 3), -(r["score"] or 0), r["colonne"],
                                             r["controle"]))
        nom = names.get(code) or code
        # the analyst's record (CSV) is named by the code; the sheet sent to the centre by its code and name
        name = f"{file_stem(code)}.csv"
        # the code's stem is injective and holds no "__" (nor does a slug): code and name stay apart
        stem = f"{file_stem(code)}__{slugify(str(nom), max_length=60, word_boundary=True) or 'structure'}"
        a_demander = [f for f in found if f["pour_la_structure"] and f["severite"] in ("bloquant", "avertissement")]
        out.append({"code": code, "nom": nom, "fiche": f"fiches_retour/{year}/{name}",
                    "fiche_html": f"fiches_retour/{year}/{stem}.html" if a_demander else "",
                    "fichier": name, "fichier_html": f"{stem}.html", "constats": found, "a_demander": a_demander,
                    # impossible findings first, then by the largest effect on a published figure
                    "rang": max((float("inf") if f["nature"] == "impossible" else (f["score"] or 0))
                                for f in found if f["severite"] == "bloquant") if any(
                                    f["severite"] == "bloquant" for f in found) else 0.0,
                    "n_bloquants": sum(r["severite"] == "bloquant" for r in found),
                    "n_avertissements": sum(r["severite"] == "avertissement" for r in found)})
    return sorted(out, key=lambda s: (-s["n_bloquants"], -s["n_avertissements"], s["code"]))


def _counts(rows: list[dict], severite: str) -> list[dict]:
    counts: dict[str, int] = {}
    for row in rows:
        if row["severite"] == severite:
            counts[row["controle"]] = counts.get(row["controle"], 0) + 1
    return [{"controle": k, "n": nombre(v)} for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def quality_records(con, gates) -> list[dict]:
    """One plain record per data year of `gates`: the structures to contact (those whose
    findings hold the year, impossible ones first then by score), what blocks publication
    (grouped by structure), the warnings by check and by score, the confirmed values (by whom,
    when, why), the response and completeness rates, and every structure's findings."""
    questions = {r["colonne"]: r for r in con.execute(
        "SELECT colonne, question, libelle_court FROM questions_enquete").df().to_dict("records")} \
        if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'questions_enquete'"
                       ).fetchall()[0][0] else {}
    findings = con.execute(f"SELECT {DATA_YEAR} AS annee, * FROM ({effective_findings_sql(con)})").df()
    names = dict(con.execute("SELECT code_structure, nom_structure FROM dim_structures").fetchall())
    has_confirmations = con.execute("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_name = 'confirmations'").fetchall()[0][0]
    confirmations = (con.execute("SELECT coalesce(annee_donnees, annee_enquete - 1) AS annee, * FROM confirmations "
                                 "ORDER BY code_structure, colonne").df()
                     if has_confirmations else pd.DataFrame(columns=["annee"]))
    # of the observatory's main unit, as dbt chose it (the federation's département, or France)
    completude = con.execute("""SELECT * FROM fct_completude WHERE (annee, niveau, code) IN
                                    (SELECT (annee, niveau, code) FROM pub_unites WHERE est_principal)""").df()
    federation = con.execute("SELECT nom FROM pub_federation").fetchall()[0][0]
    records = []
    for gate in gates:
        year = gate.annee
        rows = [{**_finding(r, questions), "code_structure": r["code_structure"]}
                for r in findings[findings["annee"] == year].to_dict("records")]
        blocking = [r for r in rows if r["severite"] == "bloquant"]
        blocking += [{**_finding(r, questions), "code_structure": None}      # findings of no year hold every year
                     for r in gate.bloquants.to_dict("records") if pd.isna(r.get("annee"))]
        with_code = [r for r in rows if _text(r["code_structure"])]
        structures = _by_structure(with_code, names, year)
        blocks = completude[completude["annee"] == year].sort_values("bloc")
        records.append({
            "annee": int(year), "federation": _text(federation), "publie": bool(gate.publie),
            "deja_publie": bool(gate.deja_publie),
            "n_bloquants": len(blocking),
            "bloquants": sorted(_by_structure([r for r in blocking if _text(r["code_structure"])], names, year),
                                key=lambda s: -s["rang"]),
            "a_contacter": sorted([s for s in structures if s["n_bloquants"]], key=lambda s: (-s["rang"], s["code"])),
            "avertissements_par_score": sorted(
                [r for r in rows if r["severite"] == "avertissement" and r["score"] is not None],
                key=lambda r: -r["score"])[:50],
            "bloquants_hors_structure": [r for r in blocking if not _text(r["code_structure"])],
            "n_avertissements": sum(r["severite"] == "avertissement" for r in rows),
            "n_structures_averties": len({r["code_structure"] for r in with_code if r["severite"] == "avertissement"}),
            "n_avertissements_hors_structure": sum(r["severite"] == "avertissement" for r in rows
                                                   if not _text(r["code_structure"])),
            "avertissements_par_controle": _counts(rows, "avertissement"),
            "infos_par_controle": _counts(rows, "info"),
            "confirmations": [{"code": c["code_structure"], "nom": names.get(c["code_structure"]) or _text(c["code_structure"]),
                               "colonne": _text(c["colonne"]), "valeur": _text(c["valeur_confirmee"]),
                               "motif": _text(c["motif"]), "auteur": _text(c["auteur"]),
                               "date": _text(c["date_confirmation"]),
                               "statut": CONFIRMATION_STATUS.get(c["statut"], _text(c["statut"]))}
                              for c in confirmations[confirmations["annee"] == year].to_dict("records")],
            "completude": [{"bloc": BLOCS.get(b.bloc, _text(b.bloc)), "n_invites": nombre(b.n_invites),
                            "n_repondants": nombre(b.n_repondants), "taux_reponse": pourcentage(b.taux_reponse),
                            "taux_completude": pourcentage(b.taux_completude)} for b in blocks.itertuples()],
            # every structure with a finding has its fiche; the page details those to review
            "structures": structures,
            "structures_a_revoir": [s for s in structures if s["n_bloquants"] or s["n_avertissements"]],
            "n_structures_informations": sum(1 for s in structures if not (s["n_bloquants"] or s["n_avertissements"])),
            "autres": [r for r in rows if not _text(r["code_structure"])],
        })
    return records


def write_quality_outputs(con, gates, out_dir: Path, contacts: dict | None = None) -> list[Path]:
    """Writes <out>/<annee>.html and <out>/fiches_retour/<annee>/<structure>.csv (and the
    sheets to send, .html); returns the pages. `contacts`, when given, receives per year the
    structures to contact in order, each as (code, name, [what to ask, in short])."""
    template = environment().get_template("qualite_annee.html")
    pages = []
    for record in quality_records(con, gates):
        if contacts is not None:
            contacts[record["annee"]] = [
                (s["code"], s["nom"], [f"{c['libelle_question'] or c['colonne'] or c['controle']} ({c['valeur_lue'] or 'vide'}"
                                       + (f", {c['effet']}" if c["effet"] else f", {c['nature_libelle'].lower()}") + ")"
                                       for c in s["constats"] if c["severite"] == "bloquant"])
                for s in record["a_contacter"]]
        write_fiches(record, out_dir)
        page = out_dir / f"{record['annee']}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(template.render(**record), encoding="utf-8")
        pages.append(page)
    return pages


def write_fiches(record: dict, out_dir: Path) -> None:
    """Per structure with a finding in the year of `record`: the analyst's record of its findings
    (CSV), and, when something is to be checked with it, the feedback sheet addressed to the
    centre (printable HTML): each question as the survey words it, the value declared, what
    looks odd and what the federation asks; nothing meant for the analyst, nothing about the
    federation's own files."""
    template = environment().get_template("fiche_retour.html")
    for structure in record["structures"]:
        folder = out_dir / "fiches_retour" / str(record["annee"])
        _write_fiche(folder / structure["fichier"], structure)
        if structure["a_demander"]:
            (folder / structure["fichier_html"]).write_text(
                template.render(structure=structure, annee=record["annee"], federation=record["federation"]),
                encoding="utf-8")


def _write_fiche(path: Path, structure: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ([f["annee_enquete"], structure["code"], structure["nom"], f["severite_libelle"], f["controle"],
             f["colonne"], f["valeur"], f["attendu"], f["message"]] for f in structure["constats"])
    path.write_text(csv_text(FICHE_COLUMNS, rows), encoding="utf-8")
