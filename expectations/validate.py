"""Run the rules with Great Expectations and turn every failing row into a finding."""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingest import warehouse as W

from .frames import load_frames
from .rules import BY_ID, RULES

SUITE_TITLES = {"reponses": "controles_reponses", "repondantes": "controles_repondantes",
                "parts": "controles_indicateurs_parts", "sommes": "controles_indicateurs_sommes",
                "presence": "controles_indicateurs_presence", "secret": "controles_indicateurs_secret"}


@dataclass
class ValidationResult:
    findings: pd.DataFrame
    rules_run: int = 0
    rules_failed: list[str] = field(default_factory=list)
    data_docs: Path | None = None


def fr_number(value) -> str:
    """1 234 567,5 — for messages."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "vide"
    if isinstance(value, (bool,)):
        return "oui" if value else "non"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value:,.2f}".rstrip("0").rstrip(".") if float(value) != int(value) else f"{int(value):,}"
        return text.replace(",", "\u202f").replace(".", ",")
    return str(value)


IDENTIFIERS = ("annee", "code", "ligne", "indicateur", "niveau")


class _Row(dict):
    def __missing__(self, key):
        return "?"


def _run_gx(frames: dict[str, pd.DataFrame], docs_dir: Path | None):
    """One GX suite per frame; returns {regle: failing index list} and the Data Docs folder."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx  # lazy: GX costs seconds to import
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(site_name="observatoire", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    source = context.data_sources.add_pandas("entrepot")
    failing: dict[str, list] = {}
    for frame_name, frame in frames.items():
        rules = [r for r in RULES if r.frame == frame_name]
        if not rules:
            continue
        suite = context.suites.add(gx.ExpectationSuite(name=SUITE_TITLES[frame_name]))
        for rule in rules:
            suite.add_expectation(rule.build(gxe))
        batch = source.add_dataframe_asset(name=frame_name).add_batch_definition_whole_dataframe("tout")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=SUITE_TITLES[frame_name], data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"point_{frame_name}", validation_definitions=[definition], result_format="COMPLETE",
            actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["observatoire"])]
            if docs_dir is not None else []))
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        for validation in run.run_results.values():
            for result in validation.results:
                regle = result.expectation_config.meta["regle"]
                if result.exception_info and result.exception_info.get("raised_exception"):
                    raise RuntimeError(f"la règle {regle} n'a pas pu s'exécuter : "
                                       f"{result.exception_info.get('exception_message')}")
                if not result.success:
                    failing[regle] = list(result.result.get("unexpected_index_list") or [])
    return failing


def findings_for(failing: dict[str, list], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for regle, indices in failing.items():
        rule = BY_ID[regle]
        frame = frames[rule.frame]
        for record in frame.loc[indices].to_dict("records"):
            values = _Row({k: (str(v) if k.startswith(IDENTIFIERS) and not pd.isna(v) else fr_number(v))
                           for k, v in record.items()})
            rows.append({
                "ligne": record.get("ligne_source"),
                "annee_enquete": record.get("annee_enquete"),
                "annee_donnees": record.get("annee_donnees"),
                "code_structure": record.get("code_structure"),
                "colonne": rule.colonne,
                "valeur_brute": None if pd.isna(record.get(rule.colonne)) else str(record.get(rule.colonne)),
                "valeur_attendue": rule.attendu,
                "regle": regle, "severite": rule.severite,
                "message": rule.message.format_map(values) + " " + rule.conseil,
            })
    return pd.DataFrame(rows)


def validate(con, docs_dir: Path | None = None) -> ValidationResult:
    """Run every rule over the warehouse; replace the validation findings. Runs in the
    caller's transaction."""
    frames = load_frames(con)
    failing = _run_gx(frames, docs_dir)
    findings = findings_for(failing, frames)
    con.execute("DELETE FROM constats_qualite WHERE etape = 'validation'")
    W.write_findings(con, findings, etape="validation", kind="senacs", year=None, fichier=None, sha256=None)
    return ValidationResult(findings=findings, rules_run=len(RULES), rules_failed=sorted(failing),
                            data_docs=docs_dir)
