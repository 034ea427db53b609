"""`observatoire report`: the public and internal sites from the published tables."""
from __future__ import annotations

from pathlib import Path

from ingest import warehouse as W
from common.errors import ObservatoireError

from common import files as fichiers
from .build import dbt_dirs, require_complete_build
from .validation import default_quality_dir

AUDIENCES = ("public", "interne")


def default_site_dir(db_path: Path) -> Path:
    return db_path.resolve().parent.parent / "site"


def run_report(db_path: Path, out_dir: Path | None = None, audiences=AUDIENCES, wait: float = 0,
               on_progress=lambda m: None, observatory=None):
    from reports.site import build_sites

    db_path = db_path.resolve()
    out_dir = (out_dir or default_site_dir(db_path)).resolve()
    with W.warehouse_lock(db_path, wait):
        if not db_path.exists():
            raise ObservatoireError(f"L'entrepôt {db_path} n'existe pas : lancez d'abord « observatoire run ».")
        owner = fichiers.owner_tag(db_path)
        for audience in AUDIENCES:      # what a killed report left, even for an audience not rebuilt now
            fichiers.clean(out_dir / audience, owner)
        con = W.connect(db_path, read_only=True)
        try:
            # as every step: beyond, DuckDB writes what it holds to its temporary files beside the warehouse
            con.execute(f"SET memory_limit = '{W.MEMORY_LIMIT}'")
            published = con.execute("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_schema = 'publie' AND table_name = 'pub_indicateurs'").fetchall()[0][0]
            if not published:
                raise ObservatoireError("Aucune année n'est encore publiée : « observatoire validate » publie les années "
                                        "sans constat bloquant (voir ses constats, ou lancez-le s'il n'a pas tourné).")
            if "interne" in audiences:      # the internal site reads the build itself
                require_complete_build(con)
            # the internal site holds the public one's pages: both are built in one pass
            return build_sites(con, {audience: out_dir / audience for audience in audiences},
                               quality_dir=default_quality_dir(db_path), dbt_docs=dbt_dirs(db_path)[0],
                               on_progress=on_progress, owner=owner,
                               pages=observatory.pages_file if observatory is not None else None)
        finally:
            con.close()
