"""`observatoire validate`: rules, findings, the publication gate and the quality outputs."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ingest import warehouse as W
from ingest.corrections import CONFIRMATIONS_FILE
from ingest.errors import ObservatoireError

from .publication import YearGate, publish


@dataclass
class ValidateOutcome:
    gates: list[YearGate]
    counts: dict[str, int]
    rules_failed: list[str]
    pages: list[Path]
    data_docs: Path


def default_quality_dir(db_path: Path) -> Path:
    return db_path.resolve().parent / "qualite"


def run_validation(db_path: Path, out_dir: Path | None = None, wait: float = 0,
                   confirmations: Path = CONFIRMATIONS_FILE) -> ValidateOutcome:
    from expectations.validate import validate
    from reports.qualite import write_quality_outputs

    db_path = db_path.resolve()
    out_dir = (out_dir or default_quality_dir(db_path)).resolve()
    with W.warehouse_lock(db_path, wait):
        if not db_path.exists():
            raise ObservatoireError(f"L'entrepôt {db_path} n'existe pas : lancez d'abord « observatoire run ».")
        con = W.connect(db_path)
        try:
            built = con.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name IN ('indicateurs', 'int_controles__reponses')").fetchall()[0][0]
            if built < 2:
                raise ObservatoireError("Les indicateurs ne sont pas calculés : lancez d'abord "
                                        "« observatoire build ».")
            docs = out_dir / "gx"
            shutil.rmtree(docs, ignore_errors=True)
            con.execute("BEGIN TRANSACTION")
            try:
                result = validate(con, docs_dir=docs, confirmations=confirmations)
                gates = publish(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            pages = write_quality_outputs(con, gates, out_dir)
            counts = dict(con.execute("SELECT severite, count(*) FROM constats_qualite GROUP BY 1").fetchall())
        finally:
            con.close()
    return ValidateOutcome(gates=gates, counts=counts, rules_failed=result.rules_failed, pages=pages,
                           data_docs=docs / "index.html")
