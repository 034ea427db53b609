"""Speed and memory of the pipeline stages, on the 92 demo and the national-scale set.

    .venv/bin/python .ci/benchmark.py            # print the figures
    .venv/bin/python .ci/benchmark.py --readme   # and write them into README.md

Each stage runs as its own `observatoire` process; wall time and peak memory (max RSS of
that process) are measured from outside. Targets come from the issues.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "observatoire"]


def measure(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak MiB) of one CLI process: wait4 gives that child's own max RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(CLI + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"échec de {' '.join(args)} :\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readme", action="store_true", help="écrire les résultats dans README.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(CLI + ["demo", "--echelle", "national", "--sortie", str(tmp / "national")],
                       cwd=ROOT, check=True, capture_output=True)
        cases = [
            ("ingest", "démo 92", ["--entrepot", str(tmp / "d.duckdb"), "ingest", str(ROOT / "data/demo/92")],
             "≤ 3 s"),
            ("ingest", "national", ["--entrepot", str(tmp / "n.duckdb"), "ingest", str(tmp / "national")],
             "≤ 20 s, ≤ 1 Gio"),
            ("build", "démo 92", ["--entrepot", str(tmp / "d.duckdb"), "build"], "≤ 8 s"),
            ("build", "national", ["--entrepot", str(tmp / "n.duckdb"), "build"], "≤ 30 s"),
            ("validate", "démo 92", ["--entrepot", str(tmp / "d.duckdb"), "validate"], "—"),
            ("validate", "national", ["--entrepot", str(tmp / "n.duckdb"), "validate"], "≤ 30 s"),
            ("report", "démo 92 (public + interne)",
             ["--entrepot", str(tmp / "d.duckdb"), "report", "--sortie", str(tmp / "site92")], "≤ 10 s"),
            ("report", "national (public)", ["--entrepot", str(tmp / "n.duckdb"), "report", "--sortie",
                                             str(tmp / "siten"), "--public-seulement"],
             "≥ 1 000 pages/s, ≤ 1,5 Gio"),
            ("report", "national (public + interne)", ["--entrepot", str(tmp / "n.duckdb"), "report", "--sortie",
                                                       str(tmp / "sitenat")], "—"),
        ]
        for stage, data, cli_args, target in cases:
            seconds, mib, output = measure(cli_args)
            pages = sum(int(n.replace("\u202f", "")) for n in re.findall(r"(\d[\d\u202f]*) pages", output))
            group = lambda n: f"{n:,.0f}".replace(",", "\u202f")
            extra = f" ; {group(pages)} pages, {group(pages / seconds)} pages/s" if pages else ""
            rows.append((stage, data, target, seconds, mib, extra))
        size = lambda folder: sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
        weights = {site: size(tmp / "site92" / site) for site in ("public", "interne")}
        national = {site: size(tmp / "sitenat" / site) for site in ("public", "interne")}
    machine = f"{os.cpu_count()} cœurs, Python {platform.python_version()}"
    lines = ["<!-- benchmark -->", f"Dernière mesure ({time.strftime('%Y-%m-%d')}, {machine}) :", "",
             "| étape | jeu | objectif | durée | mémoire max |", "|---|---|---|---|---|"]
    for stage, data, target, seconds, mib, extra in rows:
        lines.append(f"| {stage} | {data} | {target} | {seconds:.1f} s".replace(".", ",")
                     + f"{extra} | {mib:.0f} Mio |")
    lines.append("")
    lines.append("Poids des sites de la démo 92 (objectif ≤ 15 Mo, plotly.min.js compris) : "
                 + ", ".join(f"{site} {mib:.1f} Mio".replace(".", ",") for site, mib in weights.items()) + ".")
    lines.append("Poids des sites nationaux (objectifs : public ≤ 150 Mo, interne ≤ 300 Mo) : "
                 + ", ".join(f"{site} {mib:.0f} Mio" for site, mib in national.items()) + ".")
    lines.append("<!-- /benchmark -->")
    block = "\n".join(lines)
    print(block)
    if args.readme:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        if "<!-- benchmark -->" in text:
            text = re.sub(r"<!-- benchmark -->.*?<!-- /benchmark -->", block, text, flags=re.S)
        else:
            text = text.replace("BENCHMARK_RESULTS", block)
        readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
