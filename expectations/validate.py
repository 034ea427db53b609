"""Run the rules with Great Expectations and turn every failing row into a finding."""
from __future__ import annotations

import logging
import math
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from common.french import fr_number
from ingest import warehouse as W
from ingest.config import SELECTION_FILE, score_thresholds
from ingest.corrections import CONFIRMATIONS_FILE, record_confirmations

from .frames import load_frames
from .rules import BY_ID, RULES

SUITE_TITLES = {"reponses": "controles_reponses", "repondantes": "controles_repondantes",
                "mesures": "controles_mesures", "parts": "controles_indicateurs_parts",
                "sommes": "controles_indicateurs_sommes", "presence": "controles_indicateurs_presence"}
SEVERITY_RANK = {"bloquant": 0, "avertissement": 1, "info": 2}


@dataclass
class ValidationResult:
    findings: pd.DataFrame
    rules_run: int = 0
    rules_failed: list[str] = field(default_factory=list)
    data_docs: Path | None = None


IDENTIFIERS = ("annee", "code", "ligne", "indicateur", "niveau")


def _identifier(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _needed(rules, expectations, frame: pd.DataFrame) -> list[str]:
    """The columns of `frame` the rules read (GX copies the frame per row condition: a narrow
    frame is many times faster), in the frame's order."""
    names = _read(rules, expectations)
    return [c for c in frame.columns if c in names]


def _read(rules, expectations) -> set[str]:
    """The columns that rules and their expectations read: to validate, and to word a finding."""
    names = set(IDENTIFIERS_COLUMNS)
    for rule, exp in zip(rules, expectations):
        for template in (rule.message, rule.attendu, rule.colonne, rule.centre):
            names |= {f.removesuffix("__s") for _, f, _, _ in string.Formatter().parse(template) if f}
        for attr in ("column", "column_A", "column_B", "column_list"):
            value = getattr(exp, attr, None)
            names |= set(value) if isinstance(value, list) else {value} if value else set()
        condition = getattr(exp, "row_condition", None)
        condition = re.sub(r"'[^']*'", "", getattr(condition, "pass_through_filter", None) or str(condition or ""))
        names |= set(re.findall(r"[A-Za-z_]\w*", condition))
    return names


IDENTIFIERS_COLUMNS = ("annee_enquete", "annee_donnees", "code_structure", "ligne_source", "colonne")


class _Row(dict):
    """A failing row's values as its message shows them; `{name__s}` is « s » when the number
    `name` is 2 or more (« 1 valeur », « 3 valeurs »)."""

    def __init__(self, shown: dict, record: dict):
        super().__init__(shown)
        self.record = record

    def __missing__(self, key):
        if key.endswith("__s"):
            n = self.record.get(key[:-3])
            try:
                return "s" if n is not None and abs(float(n)) >= 2 else ""
            except (TypeError, ValueError):
                return ""
        return "?"


def _gx():
    """Great Expectations and its expectations, imported on first use (GX costs seconds to import)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def _run_gx(frames: dict[str, pd.DataFrame], docs_dir: Path | None, expectations: dict | None = None):
    """One GX suite per frame, each validated once by its validation definition (which keeps its
    result for the Data Docs); returns {regle: failing index list}. The suites run with GX's
    BASIC result format (counts, for the Data Docs); only a failing expectation is run again
    with the COMPLETE format, which lists every failing row and costs much more. The Data Docs
    are built once, from every suite and result, when all have run. `expectations`: the
    expectation of each rule, when they are built already."""
    gx, gxe = _gx()
    expectations = expectations or {rule.regle: rule.build(gxe) for rule in RULES}
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(site_name="observatoire", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": _gx_literal(str(docs_dir))},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    source = context.data_sources.add_pandas("entrepot")
    failing: dict[str, list] = {}
    for frame_name, frame in frames.items():
        rules = [r for r in RULES if r.frame == frame_name]
        if not rules:
            continue
        built = [expectations[rule.regle] for rule in rules]
        # the suite is stored whole (adding its expectations one by one would store it again each time)
        suite = context.suites.add(gx.ExpectationSuite(name=SUITE_TITLES[frame_name], expectations=built))
        frame = frame[_needed(rules, built, frame)]
        batch = source.add_dataframe_asset(name=frame_name).add_batch_definition_whole_dataframe("tout")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=SUITE_TITLES[frame_name], data=batch, suite=suite))
        result = definition.run(batch_parameters={"dataframe": frame}, result_format="BASIC")
        failed = _failed(result.results)
        if failed:
            data = batch.get_batch(batch_parameters={"dataframe": frame})
            for regle in failed:
                complete = data.validate(expectations[regle], result_format="COMPLETE")
                _failed([complete])
                failing[regle] = list(complete.result.get("unexpected_index_list") or [])
    if docs_dir is not None:
        context.build_data_docs(site_names=["observatoire"])
    return failing


def _gx_literal(text: str) -> str:
    """A path as GX's configuration takes it literally: GX replaces $NAME and ${NAME} by variables
    of the environment (a folder « $HOME » would be written elsewhere, « $y » fails), unless escaped."""
    return text.replace("$", "\\$")


def _exception(info) -> str | None:
    """GX's exception info: flat, or one entry per metric that could not be computed."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    return next((m for m in map(_exception, info.values()) if m), None)


def _failed(results) -> list[str]:
    failed = []
    for result in results:
        regle = result.expectation_config.meta["regle"]
        error = _exception(result.exception_info)
        if error:
            raise RuntimeError(f"la règle {regle} n'a pas pu s'exécuter : {error}")
        if not result.success:
            failed.append(regle)
    return failed


def _confirmed(confirmations: pd.DataFrame | None) -> dict:
    if confirmations is None or confirmations.empty:
        return {}
    return {(int(r["annee_enquete"]), r["code_structure"], r["colonne"]): r
            for r in confirmations.to_dict("records")}


def _ask(rule, record: dict) -> str:
    """What the federation asks the structure about a finding, in its words."""
    if rule.regle.endswith("_obligatoire"):
        return "Merci de nous indiquer cette information."
    causes = record.get("causes")
    if isinstance(causes, str) and causes:
        return (f"Pouvez-vous vérifier ce chiffre ? S'agit-il de {causes} Merci de nous indiquer la valeur juste, "
                "ou de nous confirmer la valeur déclarée.")
    return "Pouvez-vous vérifier ces chiffres et nous indiquer la valeur juste, ou nous confirmer la valeur déclarée ?"


def findings_for(failing: dict[str, list], frames: dict[str, pd.DataFrame],
                 confirmations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One finding per failing row; of one rule group on one value only the gravest is kept; a
    value its structure confirmed (active confirmation) turns its finding into `info`."""
    confirmed = _confirmed(confirmations)
    rows = []
    for regle, indices in failing.items():
        rule = BY_ID[regle]
        frame = frames[rule.frame]
        for record in frame.loc[indices].to_dict("records"):
            values = _Row({k: (_identifier(v) if k.startswith(IDENTIFIERS) else fr_number(v))
                           for k, v in record.items()}, record)
            column = rule.colonne.format_map(values)
            raw = record.get("valeur") if rule.colonne == "{colonne}" else record.get(column)
            message, severite = rule.message.format_map(values), rule.severite
            key = (record.get("annee_enquete"), record.get("code_structure"), column)
            confirmation = confirmed.get(key) if key[0] is not None and not pd.isna(key[0]) else None
            if confirmation is not None and severite != "info":
                severite = "info"
                message += (f" Valeur confirmée par {confirmation['auteur']} le {confirmation['date_confirmation']} : "
                            f"{confirmation['motif']}.")
            else:
                message += " " + rule.conseil
            score = record.get("score")
            score = None if score is None or pd.isna(score) else float(score)
            rows.append({
                "ligne": record.get("ligne_source"),
                "annee_enquete": record.get("annee_enquete"),
                "annee_donnees": record.get("annee_donnees"),
                "code_structure": record.get("code_structure"),
                "colonne": column,
                "valeur_brute": None if raw is None or pd.isna(raw) else _identifier(raw),
                "valeur_attendue": rule.attendu.format_map(values),
                "regle": regle, "severite": severite, "message": message,
                "nature": rule.nature if severite == rule.severite else "info",
                "score": score, "figure": record.get("figure_score") if score is not None else None,
                "constat_centre": rule.centre.format_map(values) if rule.centre else None,
                "demande_centre": _ask(rule, record) if rule.centre else None,
                "_groupe": rule.groupe or regle,
            })
    if not rows:
        return pd.DataFrame(columns=["ligne", "annee_enquete", "annee_donnees", "code_structure", "colonne",
                                     "valeur_brute", "valeur_attendue", "regle", "severite", "message",
                                     *W.SELECTION_COLUMNS])
    found = pd.DataFrame(rows)
    found["_rang"] = found["severite"].map(SEVERITY_RANK)
    keys = ["annee_enquete", "code_structure", "colonne", "_groupe"]
    found = found.sort_values("_rang", kind="stable")
    found = found[~found[keys].astype(str).duplicated(keep="first") | found["code_structure"].isna()]
    return found.drop(columns=["_groupe", "_rang"]).sort_index().reset_index(drop=True)


def validate(con, docs_dir: Path | None = None, confirmations: Path = CONFIRMATIONS_FILE,
             selection: Path = SELECTION_FILE) -> ValidationResult:
    """Run every rule over the warehouse; replace the validation findings. Runs in the
    caller's transaction. `selection`: the selective-editing settings (thresholds)."""
    W.add_selection_columns(con)
    active = record_confirmations(con, confirmations)
    _, gxe = _gx()
    expectations = {rule.regle: rule.build(gxe) for rule in RULES}
    columns: dict[str, set[str]] = {"mesures": {"score", "figure_score", "causes"}}
    for rule in RULES:      # per frame, the columns the rules read and the findings name
        columns.setdefault(rule.frame, {"valeur"}).update(
            _read([rule], [expectations[rule.regle]]) | {rule.colonne})
    frames = load_frames(con, columns, score_thresholds(selection))
    failing = _run_gx(frames, docs_dir, expectations)
    findings = findings_for(failing, frames, active)
    con.execute("DELETE FROM constats_qualite WHERE etape = 'validation'")
    W.write_findings(con, findings, etape="validation", kind="senacs", year=None, fichier=None, sha256=None)
    return ValidationResult(findings=findings, rules_run=len(RULES), rules_failed=sorted(failing),
                            data_docs=docs_dir)
