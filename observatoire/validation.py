"""`observatoire validate`: rules, findings, the publication gate and the quality outputs."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ingest import warehouse as W
from ingest.corrections import CONFIRMATIONS_FILE
from common.errors import ObservatoireError
from common.timing import Chrono

from common import files as fichiers
from .build import require_complete_build
from expectations.publication import YearGate, effective_findings_sql, publish

MARKER = ".observatoire-qualite"
MARKER_TEXT = "Dossier écrit par « observatoire validate » : il est remplacé en entier à chaque contrôle.\n"
OUR_ENTRIES = re.compile(r"\d{4}\.html|constats_\d{4}\.csv|fiches_retour|gx")     # what validate wrote before the marker


@dataclass
class ValidateOutcome:
    gates: list[YearGate]
    counts: dict[str, int]
    rules_failed: list[str]
    pages: list[Path]
    data_docs: Path | None      # None: not built this time (run --public-seulement)
    contacts: dict | None = None    # per data year, the structures to contact in order (reports.qualite)


def default_quality_dir(db_path: Path) -> Path:
    return db_path.resolve().parent / "qualite"


def run_validation(db_path: Path, out_dir: Path | None = None, wait: float = 0,
                   confirmations: Path = CONFIRMATIONS_FILE, docs: bool = True, observatory=None) -> ValidateOutcome:
    """Check, record the findings, publish the years without a blocking one, write the quality
    outputs; with `docs`, GX's Data Docs among them (else the quality folder has none, rather
    than those of an earlier validation)."""
    from expectations.validate import validate
    from reports.qualite import write_quality_outputs

    db_path = db_path.resolve()
    selection = None
    if observatory is not None:
        confirmations = observatory.confirmations
        selection = observatory.selection_file
    out_dir = (out_dir or default_quality_dir(db_path)).resolve()
    with W.warehouse_lock(db_path, wait):
        if not db_path.exists():
            raise ObservatoireError(f"L'entrepôt {db_path} n'existe pas : lancez d'abord « observatoire run ».")
        owner = fichiers.owner_tag(db_path)
        fichiers.clean(out_dir, owner)
        _check_ours(out_dir)
        con = W.connect(db_path)
        try:
            built = con.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name IN ('indicateurs', 'int_controles__reponses')").fetchall()[0][0]
            if built < 2:
                raise ObservatoireError("Les indicateurs ne sont pas calculés : lancez d'abord "
                                        "« observatoire build ».")
            require_complete_build(con)
            # The new outputs are written beside the old ones and swapped in once complete and
            # committed: a failure or a kill keeps the previous Data Docs, pages and fiches whole.
            tmp = fichiers.staging(out_dir, owner)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    chrono = Chrono("validate")
                    result = validate(con, docs_dir=tmp / "gx" if docs else None, confirmations=confirmations,
                                      **({"selection": selection} if selection is not None else {}))
                    chrono.tour("contrôles Great Expectations")
                    gates = publish(con)
                    chrono.tour("publication")
                    contacts: dict = {}
                    pages = write_quality_outputs(con, gates, tmp, contacts)
                    (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
                    con.execute("COMMIT")
                    chrono.tour("sorties qualité")
                except BaseException:
                    W.rollback(con)
                    raise
                fichiers.swap(tmp, out_dir, owner)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            counts = dict(con.execute(f"SELECT severite, count(*) FROM ({effective_findings_sql(con)}) GROUP BY 1").fetchall())
        finally:
            con.close()
    return ValidateOutcome(gates=gates, counts=counts, rules_failed=result.rules_failed,
                           pages=[out_dir / p.relative_to(tmp) for p in pages], data_docs=out_dir / "gx" / "index.html" if docs else None, contacts=contacts)


def _check_ours(out_dir: Path) -> None:
    """The quality folder is replaced whole: never replace a folder holding anything else."""
    if not out_dir.is_dir() or (out_dir / MARKER).exists():
        return
    foreign = sorted(p.name for p in out_dir.iterdir() if not OUR_ENTRIES.fullmatch(p.name))
    if foreign:
        raise ObservatoireError(
            f"Le dossier {out_dir} contient d'autres fichiers que les sorties qualité ({', '.join(foreign[:5])}) : "
            "il est remplacé en entier à chaque contrôle. Choisissez un dossier vide ou dédié avec --sortie.")
