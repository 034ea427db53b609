"""Rebuild the commune reference files under data/reference/ from Etalab's
"découpage administratif" npm package.

    python -m ingest.reference_build            # runs `npm pack` in a temp folder
    python -m ingest.reference_build --source DIR  # DIR holds the package's data/*.json

Outputs (UTF-8 CSV, comma separated, sorted, deterministic):
  communes.csv      every current commune and municipal arrondissement
  departements.csv  every département
  ept.csv           the établissements publics territoriaux of the Métropole du Grand Paris
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@etalab/decoupage-administratif"
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"


def fetch_package(workdir: Path) -> Path:
    """npm-pack the package into workdir and return its data folder."""
    out = subprocess.run(["npm", "pack", PACKAGE], cwd=workdir, check=True,
                         capture_output=True, text=True)
    tgz = workdir / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package" / "data"


def build(source: Path, dest: Path = REFERENCE_DIR) -> dict[str, int]:
    communes = json.loads((source / "communes.json").read_text(encoding="utf-8"))
    departements = json.loads((source / "departements.json").read_text(encoding="utf-8"))
    epts = json.loads((source / "ept.json").read_text(encoding="utf-8"))
    version = json.loads((source.parent / "package.json").read_text(encoding="utf-8")).get("version", "")

    ept_of: dict[str, tuple[str, str]] = {}
    for ept in epts:
        for member in ept["membres"]:
            ept_of[member["code"]] = (ept["code"], ept["nom"])

    rows = []
    for c in communes:
        if c["type"] not in ("commune-actuelle", "arrondissement-municipal"):
            continue  # delegated / associated communes reuse codes of current ones
        code_ept, nom_ept = ept_of.get(c["code"], ("", ""))
        rows.append({
            "code_insee": c["code"],
            "nom_commune": c["nom"],
            "code_departement": c.get("departement", ""),
            "code_region": c.get("region", ""),
            "code_ept": code_ept,
            "nom_ept": nom_ept,
            "population": c.get("population", ""),
            "type_commune": "commune" if c["type"] == "commune-actuelle" else "arrondissement_municipal",
            "code_commune_parent": c.get("commune", ""),
        })
    rows.sort(key=lambda r: r["code_insee"])
    dest.mkdir(parents=True, exist_ok=True)
    _write(dest / "communes.csv", rows)
    _write(dest / "departements.csv", sorted(
        ({"code_departement": d["code"], "nom_departement": d["nom"], "code_region": d["region"]}
         for d in departements), key=lambda r: r["code_departement"]))
    _write(dest / "ept.csv", sorted(
        ({"code_ept": e["code"], "nom_ept": e["nom"], "population": e.get("populationMunicipale", "")}
         for e in epts), key=lambda r: r["code_ept"]))
    (dest / "SOURCE.txt").write_text(
        f"Source : {PACKAGE} {version} (Etalab, données sous Licence Ouverte).\n"
        "Régénérer : python -m ingest.reference_build\n", encoding="utf-8")
    return {"communes": len(rows), "departements": len(departements), "ept": len(epts)}


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Régénère les référentiels communes / départements / EPT.")
    parser.add_argument("--source", type=Path, help="dossier data/ du paquet déjà extrait")
    parser.add_argument("--dest", type=Path, default=REFERENCE_DIR)
    args = parser.parse_args(argv)
    if args.source:
        counts = build(args.source, args.dest)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            counts = build(fetch_package(Path(tmp)), args.dest)
    print(", ".join(f"{k} : {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
