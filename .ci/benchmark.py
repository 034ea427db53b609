"""Speed and memory of the pipeline, on the 92 demo and on the national-scale demo.

    .venv/bin/python .ci/benchmark.py             # measure and print the tables
    .venv/bin/python .ci/benchmark.py --readme    # and write them into README.md
    .venv/bin/python .ci/benchmark.py --sans-echelles   # skip the scaling series (faster)
    .venv/bin/python .ci/benchmark.py --selection-seulement --jeu-bruite DIR   # selective editing only,
                                                  # the noisy national set built once in DIR, then reused
    .venv/bin/python .ci/benchmark.py --gros-csv-seulement   # the whole run on the 195 MiB CSV only
                                                  # (with --readme: its row of the README's table only)
    .venv/bin/python .ci/benchmark.py --readme --sans-gros-csv   # all but that chain, its row kept

Every command runs as its own process. Wall time and peak memory are measured from outside:
the peak is the max RSS that wait4 reports for the process and the children it waited for
(`run` runs each step in a child process). Phases inside each step come from the lines the
steps append to OBSERVATOIRE_PROFIL (common/timing.py). Targets come from the issues. The demo
run, a few seconds long, is measured three times and its median kept (with the range).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "observatoire"]
SIZES = (0.25, 0.5, 1, 2)
DEMO_RUNS = 3


def measure(args: list[str], profile: Path | None = None, ok=(0,), command: list[str] = CLI,
            env_extra: dict | None = None) -> dict:
    """Wall seconds, peak MiB and output of one CLI process (or of another `command`)."""
    env = dict(os.environ, **(env_extra or {}))
    if profile is not None:
        profile.unlink(missing_ok=True)
        env["OBSERVATOIRE_PROFIL"] = str(profile)
    start = time.perf_counter()
    proc = subprocess.Popen(command + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(failure(args, code, output))
    phases = []
    if profile is not None and profile.exists():
        phases = [json.loads(line) for line in profile.read_text(encoding="utf-8").splitlines() if line]
    pages = sum(int(n.replace("\u202f", "")) for n in re.findall(r"(\d[\d\u202f]*) pages", output))
    return {"s": seconds, "mio": usage.ru_maxrss / 1024, "pages": pages, "phases": phases, "out": output}


def failure(args: list[str], code: int, output: str) -> str:
    """The message of a command that failed: its whole output when it is short, else its first and
    last lines (the first error is often far from the end: a traceback cut at its tail names nothing)."""
    if len(output) > 12_000:
        output = f"{output[:6000]}\n[…]\n{output[-6000:]}"
    return f"échec de {' '.join(args)} (code {code}) :\n{output}"


def size_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


# one page of each kind, the first file matching each pattern (from the public site's root)
PAGE_KINDS = (("accueil", "index.html"), ("rapport annuel", "2*/index.html"), ("fiche de territoire", "2*/territoires/*.html"),
              ("fiche de commune", "2*/communes/*.html"), ("page d'indicateur", "indicateurs/habitants_touches.html"),
              ("tableau de bord", "tableau-de-bord.html"), ("méthodologie", "methodologie.html"))
_ASSET = re.compile(r'<(?:script|link|img)\b[^>]*?(?:src|href)="([^"#?:]+)"')


def page_weights(site: Path) -> list[dict]:
    """What a reader downloads for one page of each kind of the public site: the page and the files
    it loads (styles, scripts, images), raw and gzip-compressed (as a web server sends them), on a
    first visit (nothing cached) and on the next pages (only the page: its assets are cached)."""
    import gzip

    rows = []
    for kind, pattern in PAGE_KINDS:
        pages = sorted(site.glob(pattern), reverse=pattern.startswith("2"))   # the latest year first
        if not pages:
            continue
        page = pages[0]
        html = page.read_bytes()
        assets = {(page.parent / ref).resolve() for ref in _ASSET.findall(html.decode("utf-8"))}
        files = [page] + sorted(a for a in assets if a.is_file())
        raw = {f: f.stat().st_size for f in files}
        packed = {f: len(gzip.compress(f.read_bytes(), 6)) for f in files}
        rows.append({"kind": kind, "page": str(page.relative_to(site)), "html": raw[page], "html_gz": packed[page],
                     "total": sum(raw.values()), "total_gz": sum(packed.values()),
                     "plotly": any(f.name == "plotly.min.js" for f in files)})
    return rows


def weight_rows(rows: list[dict]) -> list[str]:
    kib = lambda n: fr(n / 1024, 0) + " Kio"
    out = ["", "Poids des pages du site public de la démo 92 (une page de chaque sorte ; « compressé » : gzip, "
           "comme l'envoie un serveur web ; première visite : la page et ses styles, scripts et images ; "
           "pages suivantes : la page seule, le reste étant en cache) :", "",
           "| page | première visite | compressé | pages suivantes (compressé) | Plotly |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['kind']} (`{r['page']}`) | {kib(r['total'])} | {kib(r['total_gz'])} | "
                   f"{kib(r['html_gz'])} | {'oui' if r['plotly'] else 'non'} |")
    return out


def met(ok: bool) -> str:
    return "oui" if ok else "**non**"


def fr(x: float, decimals: int = 1) -> str:
    return f"{x:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def generate(tmp: Path, size: float) -> tuple[Path, int]:
    out = tmp / f"national-{size:g}"
    if not out.exists():
        result = subprocess.run(CLI + ["demo", "--echelle", "national", "--taille", f"{size:g}", "--sortie", str(out)],
                                cwd=ROOT, check=True, capture_output=True, text=True)
        (out / ".reponses").write_text(re.search(r"([\d\u202f]+) réponses", result.stdout)[1].replace("\u202f", ""))
    return out, int((out / ".reponses").read_text())


def run_pipeline(tmp: Path, name: str, extracts: list[str], extra: list[str] = (), ok=(0, 4)) -> dict:
    db = tmp / name / "entrepot" / "o.duckdb"
    shutil.rmtree(tmp / name, ignore_errors=True)
    result = measure(["--entrepot", str(db), "run", *extracts, *extra], tmp / f"{name}.profil", ok=ok)
    result["sites"] = {site: size_mib(tmp / name / "site" / site)
                       for site in ("public", "interne") if (tmp / name / "site" / site).exists()}
    result["pages_site"] = {m[1]: int(m[2].replace("\u202f", ""))
                            for m in re.finditer(r"Site (\w+) : ([\d\u202f]+) pages", result["out"])}
    return result


def plaquette_times(tmp: Path) -> list[float]:
    """Seconds to render each yearly plaquette of the demo, the cache of rendered plaquettes
    empty (a `report` of the demo's last warehouse, each rendering timed where it happens)."""
    db = tmp / "demo" / "entrepot" / "o.duckdb"
    r = measure(["--entrepot", str(db), "report", "--sortie", str(tmp / "demo-plaquettes")], tmp / "plaquettes.profil",
                env_extra={"XDG_CACHE_HOME": str(tmp / "cache-vide")})
    return [p["secondes"] for p in r["phases"] if p["phase"].startswith("plaquette")]


def steps_alone(tmp: Path, name: str, extracts: list[str]) -> dict[str, dict]:
    """Each step as a separate command, as an analyst would run them one after the other."""
    db = tmp / name / "entrepot" / "o.duckdb"
    shutil.rmtree(tmp / name, ignore_errors=True)
    site = tmp / name / "site"
    steps = {
        "ingest": (["ingest", *extracts], (0,)),
        "build": (["build"], (0,)),
        "validate": (["validate"], (0, 4)),
        "report": (["report", "--sortie", str(site)], (0,)),
    }
    return {step: measure(["--entrepot", str(db), *args], tmp / f"{name}-{step}.profil", ok=ok)
            for step, (args, ok) in steps.items()}


def selective_editing(tmp: Path, reuse: Path | None = None) -> dict:
    """The gate on the noisier national demo (observatoire/demo.py::add_noise), whose seeded slips
    are known: how many hold their year (recall), what else holds a year, and how many structures
    the analyst must contact, per data year. `reuse`: a folder where a previous call left the
    noisy set built (extraits/, entrepot/o.duckdb, semees.csv): only measured again, not rebuilt."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from observatoire.demo import generate as write_demo

    folder = reuse or tmp / "bruit"
    db = folder / "entrepot" / "o.duckdb"
    steps = {}
    if reuse is None or not db.exists():
        out = folder / "extraits"
        slips = write_demo(out, "national", bruit=True).erreurs_semees
        slips.to_csv(folder / "semees.csv", index=False)
        for args, ok in ((["ingest", str(out)], (0,)), (["build", "--sans-docs"], (0,)), (["validate"], (0, 4))):
            steps[args[0]] = measure(["--entrepot", str(db), *args], ok=ok)
    slips = pd.read_csv(folder / "semees.csv", dtype={"code_structure": str})
    return {**selective_figures(db, slips), "validate": steps.get("validate")}


def selective_figures(db: Path, slips) -> dict:
    """The figures of selective_editing, from a validated warehouse and its seeded slips."""
    import duckdb

    from expectations.publication import effective_findings_sql
    from ingest.config import score_thresholds

    thresholds = score_thresholds()
    passes = " OR ".join(f"(t.niveau = '{level}' AND abs(s.valeur_semee - s.valeur_juste) / nullif(abs(t.total), 0) "
                         f">= {float(v)!r})" for level, v in thresholds.items())
    below = " AND ".join(f"coalesce(c.score_{level} < {float(v)!r}, true)" for level, v in thresholds.items())
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.register("semees", slips)
        con.execute(f"CREATE TEMP TABLE eff AS SELECT * FROM ({effective_findings_sql(con)}) "
                    "WHERE severite = 'bloquant' AND code_structure IS NOT NULL")
        # a seeded slip holds its year when its own value has a blocking finding and the year is held
        recall = con.execute(f"""
            WITH influence AS (
                -- whether the slip, against the true value, moves a published figure past its threshold
                SELECT s.annee_enquete, s.code_structure, s.colonne, bool_or({passes}) AS influente
                FROM semees s
                JOIN int_structures_annees r USING (annee_enquete, code_structure)
                JOIN int_controles__totaux t ON t.annee = r.annee AND t.colonne = s.colonne
                 AND t.code = CASE t.niveau WHEN 'commune' THEN r.code_commune WHEN 'territoire' THEN r.code_territoire
                                            WHEN 'departement' THEN r.code_departement ELSE 'FR' END
                GROUP BY ALL)
            SELECT s.erreur, coalesce(i.influente, false) OR s.erreur <> 'chiffre_en_trop' AS doit_retenir,
                   count(*) AS n,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM eff b WHERE b.annee_enquete = s.annee_enquete
                                                  AND b.code_structure = s.code_structure AND b.colonne = s.colonne)
                                    AND p.statut = 'bloquee') AS retenues
            FROM semees s
            JOIN (SELECT DISTINCT annee_enquete, code_structure, annee_donnees FROM reponses) r
              USING (annee_enquete, code_structure)
            LEFT JOIN influence i USING (annee_enquete, code_structure, colonne)
            LEFT JOIN publications p ON p.annee = r.annee_donnees
            GROUP BY ALL ORDER BY ALL""").fetchall()
        per_year = con.execute(f"""
            WITH rep AS (SELECT annee_donnees AS annee, count(DISTINCT code_structure) AS n FROM reponses
                         WHERE repondant GROUP BY ALL),
                 b AS (
                    SELECT coalesce(e.annee_donnees, e.annee_enquete - 1) AS annee, e.code_structure,
                           s.code_structure IS NOT NULL AS semee,
                           -- a value not seeded whose effect on every published figure is below the
                           -- threshold, in an answer with no seeded slip (a ratio finding names a
                           -- field related to the slipped one: charges over income in thousands)
                           s.code_structure IS NULL AND sa.sa_code IS NULL AND {below} AS sous_le_seuil
                    FROM eff e
                    LEFT JOIN (SELECT DISTINCT annee_enquete, code_structure, colonne FROM semees) s
                      USING (annee_enquete, code_structure, colonne)
                    LEFT JOIN (SELECT DISTINCT annee_enquete AS sa_annee, code_structure AS sa_code FROM semees) sa
                      ON sa.sa_annee = e.annee_enquete AND sa.sa_code = e.code_structure
                    LEFT JOIN int_controles__scores c USING (annee_enquete, code_structure, colonne))
            SELECT rep.annee, rep.n, p.statut,
                   count(DISTINCT b.code_structure) AS contacter,
                   count(DISTINCT b.code_structure) FILTER (WHERE NOT b.semee) AS sans_erreur_semee,
                   count(DISTINCT b.code_structure) FILTER (WHERE b.sous_le_seuil) AS sous_le_seuil
            FROM rep LEFT JOIN b USING (annee) LEFT JOIN publications p USING (annee)
            GROUP BY ALL ORDER BY rep.annee""").fetchall()
        # per rule: findings on answers with no seeded slip, on another value of an answer with one
        # (a ratio finding names a field related to the slipped one), on the seeded slips themselves
        rules = con.execute("""
            SELECT regle, count(*) FILTER (WHERE sa.sa_code IS NULL) AS non_semees,
                   count(*) FILTER (WHERE sa.sa_code IS NOT NULL AND s.code_structure IS NULL) AS liees,
                   count(s.code_structure) AS semees
            FROM eff LEFT JOIN (SELECT DISTINCT annee_enquete, code_structure, colonne FROM semees) s
              USING (annee_enquete, code_structure, colonne)
            LEFT JOIN (SELECT DISTINCT annee_enquete AS sa_annee, code_structure AS sa_code FROM semees) sa
              ON sa.sa_annee = eff.annee_enquete AND sa.sa_code = eff.code_structure
            GROUP BY ALL ORDER BY 2 DESC, 4 DESC, 1""").fetchall()
    finally:
        con.close()
    return {"recall": recall, "per_year": per_year, "rules": rules}


def selective_rows(result: dict) -> list[str]:
    recall = result["recall"]
    must = [r for r in recall if r[1]]
    total, held = sum(r[2] for r in must), sum(r[3] for r in must)
    words = {"centimes": "montant en centimes", "milliers": "montant en milliers", "chiffre_en_trop":
             "effectif avec un chiffre en trop", "negatif": "effectif négatif"}
    rows = ["", "Contrôle sélectif sur le jeu national bruité (`observatoire/demo.py::add_noise` : 2 % des mesures "
            "multipliées ou divisées par 2 à 10, et des erreurs semées connues). Une erreur semée retient son année "
            "quand sa propre valeur a un constat bloquant et que l'année n'est pas publiée. Un montant dans une autre "
            "unité et un effectif négatif sont impossibles : ils doivent tous retenir leur année ; un chiffre en trop "
            "doit la retenir quand il change un chiffre publié d'au moins le seuil (`data/config/selection.yaml`), "
            "sinon c'est un avertissement classé par score :", "",
            "| erreur semée | doit retenir l'année | nombre | retient son année | rappel |", "|---|---|---|---|---|"]
    for kind, needed, n, kept in recall:
        rows.append(f"| {words.get(kind, kind)} | {'oui' if needed else 'non (sous le seuil)'} | {fr(n, 0)} | "
                    f"{fr(kept, 0)} | {fr(100 * kept / n)} % |")
    rows.append(f"| **celles qui doivent retenir l'année** (objectif ≥ 95 %) | | {fr(total, 0)} | {fr(held, 0)} | "
                f"{fr(100 * held / max(total, 1))} % ({met(held >= 0.95 * total)}) |")
    rows += ["", "| année | répondantes | statut | structures à contacter | part (objectif ≤ 2 %) | "
             "dont sans erreur semée | retenues par une valeur sous le seuil (objectif 0) |", "|---|---|---|---|---|---|---|"]
    for annee, n, statut, contacter, clean, below in result["per_year"]:
        share = contacter / n if n else 0
        rows.append(f"| {annee} | {fr(n, 0)} | {statut or '–'} | {fr(contacter, 0)} | {fr(100 * share)} % "
                    f"({met(share <= 0.02)}) | {fr(clean, 0)} | {fr(below, 0)} |")
    rows += ["", "Constats bloquants par règle (sur une réponse sans erreur semée, sur une autre valeur d'une réponse "
             "qui en a une, sur les erreurs semées elles-mêmes) : " + ", ".join(
                 f"{regle} {fr(other, 0)}, {fr(linked, 0)} et {fr(seeded, 0)}"
                 for regle, other, linked, seeded in result["rules"]) + "."]
    if result.get("validate"):
        rows.append(f"\n`validate` sur le jeu bruité : {fr(result['validate']['s'])} s, "
                    f"{fr(result['validate']['mio'], 0)} Mio.")
    return rows


def phase_rows(results: dict[str, dict]) -> list[str]:
    rows = []
    for step, r in results.items():
        rows.append(f"| **{step}** | **tout** | **{fr(r['s'])} s** | **{fr(r['mio'], 0)} Mio** |")
        for p in r["phases"]:
            rows.append(f"| {step} | {p['phase']} | {fr(p['secondes'])} s | {fr(p['pic_mio'], 0)} Mio |")
    return rows


def zip_bomb(tmp: Path) -> dict:
    """`ingest` of a folder holding a good extract and a workbook whose sheet expands to 1 GiB."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import BASE_HEADER, survey_rows, write_csv
    from hostile_files import bomb, workbook

    folder = tmp / "bombe" / "extraits"
    folder.mkdir(parents=True)
    write_csv(folder / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    rows = [BASE_HEADER] + [[r[k] for k in BASE_HEADER] for r in survey_rows(2022)]
    (folder / "senacs_2022.xlsx").write_bytes(bomb(workbook(rows), 1024))
    result = measure(["--entrepot", str(tmp / "bombe" / "o.duckdb"), "ingest", str(folder)], ok=(1,))
    result["refused"] = "senacs_2022.xlsx" in result["out"] and "anormalement compressé" in result["out"]
    result["xlsx"] = (folder / "senacs_2022.xlsx").stat().st_size / 2**20
    return result


BIG_CSV_MIB = 195           # just under the 200 MiB an extract may weigh
_NUMBER = re.compile(r"\d[\d \u202f\xa0]*(?:,\d+)?( €)?")


def big_csv(national: Path, folder: Path, mib: float = BIG_CSV_MIB) -> tuple[Path, int]:
    """A valid survey CSV of `mib` MiB made from the national demo's newest survey in UTF-8: its rows again
    and again, each copy with its own codes, names and counts (random, of the same magnitude), so
    that the values are as varied as a real extract's and not the same few repeated. Returns the
    file (named as its source) and its number of rows."""
    import random

    for source in sorted(national.glob("senacs_*.csv"), reverse=True):    # the newest one in UTF-8
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
            break
        except UnicodeDecodeError:
            continue
    header, rows = lines[0], lines[1:]
    sep = "\t" if "\t" in header else ";"
    cols = [c.upper() for c in header.split(sep)]
    code, name = cols.index("CODE_STRUCTURE"), cols.index("NOM_STRUCTURE")
    fixed = {code} | {i for i, c in enumerate(cols) if c in ("ANNEE_ENQUETE", "ANNEE_DONNEES", "CODE_COMMUNE", "SIRET")}
    target = folder / source.name
    limit, written, n, rng = mib * 2**20, len(header.encode()) + 1, 0, random.Random(19)
    with target.open("w", encoding="utf-8", newline="") as out:
        out.write(header + "\n")
        for copy in range(10**6):
            for row in rows:
                cells = row.split(sep)
                if copy:
                    cells[code], cells[name] = f"{cells[code]}-{copy:04d}", f"{cells[name]} {copy}"
                    for i, c in enumerate(cells):
                        if i in fixed:
                            if cols[i] == "SIRET":
                                cells[i] = ""
                            continue
                        if len(c) > 2 and (m := _NUMBER.fullmatch(c)):
                            digits = len(re.sub(r"\D", "", c.split(",")[0]))
                            cells[i] = (f"{rng.randint(1, 10 ** digits)},{rng.randint(0, 99):02d}{m[1] or ''}"
                                        if "," in c else str(rng.randint(1, 10 ** digits)))
                line = sep.join(cells) + "\n"
                if written + len(line.encode()) > limit:
                    return target, n
                out.write(line)
                written += len(line.encode())
                n += 1
    return target, n


# A step of the run on the large CSV that passes this is stopped (and said so): the target is 1.5
# GiB, and a step growing without bound would starve the machine (and whoever shares it).
GUARD_MIB = 4096


def _group_rss_mib(group: int) -> float:
    """Resident memory of every process of a process group, in MiB."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def measure_guarded(args: list[str], limit_mib: float = GUARD_MIB, ok=(0,)) -> dict:
    """As `measure`, the command in a process group of its own, stopped once the group holds more
    than `limit_mib` (then `stopped` is True and the peak is at least the limit)."""
    import threading

    start = time.perf_counter()
    proc = subprocess.Popen(CLI + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    stopped = threading.Event()

    def guard():
        while proc.poll() is None and not stopped.is_set():
            if _group_rss_mib(proc.pid) > limit_mib:
                stopped.set()
                os.killpg(proc.pid, 9)
                return
            time.sleep(0.25)

    watcher = threading.Thread(target=guard, daemon=True)
    watcher.start()
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stopped_now = stopped.is_set()
    stopped.set()
    watcher.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok and not stopped_now:
        sys.exit(failure(args, code, output))
    return {"s": seconds, "mio": max(usage.ru_maxrss / 1024, limit_mib if stopped_now else 0), "stopped": stopped_now,
            "out": output}


def large_csv(tmp: Path, national: Path) -> dict:
    """The whole run on a valid survey CSV of 195 MiB (a few hundred thousand rows) loaded beside the
    national surveys (it replaces the newest one): ingest, build, validate, report, each step as an
    analyst runs it, measured alone; a step past GUARD_MIB is stopped and the run ends there."""
    folder = tmp / "gros-csv" / "extraits"
    shutil.copytree(national, folder, ignore=shutil.ignore_patterns(".*"))
    path, rows = big_csv(national, folder)
    mib_file = path.stat().st_size / 2**20
    db = tmp / "gros-csv" / "entrepot" / "o.duckdb"
    steps = {}
    for step, args, ok in (("ingest", ["ingest", str(folder)], (0,)), ("build", ["build", "--sans-docs"], (0,)),
                           ("validate", ["validate"], (0, 4)),
                           ("report", ["report", "--sortie", str(tmp / "gros-csv" / "site")], (0,))):
        print(f"  {step}…", flush=True)
        steps[step] = measure_guarded(["--entrepot", str(db), *args], ok=ok)
        print(f"  {step} : {fr(steps[step]['s'])} s, {fr(steps[step]['mio'], 0)} Mio"
              + (" (arrêté)" if steps[step]["stopped"] else ""), flush=True)
        if steps[step]["stopped"]:
            break
    shutil.rmtree(tmp / "gros-csv", ignore_errors=True)
    return {"steps": steps, "rows": rows, "mib_file": mib_file,
            "s": sum(r["s"] for r in steps.values()), "mio": max(r["mio"] for r in steps.values()),
            "complete": len(steps) == 4 and not any(r["stopped"] for r in steps.values())}


def kept_large_csv_row() -> str:
    """The README's row of the chain on the large CSV, as last measured (--sans-gros-csv)."""
    found = re.search(r"^\| chaîne entière sur un CSV d'enquête valide .*$", (ROOT / "README.md").read_text(encoding="utf-8"),
                      re.M)
    return found[0] if found else ("| chaîne entière sur un CSV d'enquête valide de 195 Mio | ≤ 1,5 Gio | non mesurée "
                                   "(--sans-gros-csv) | — |")


def large_csv_row(run: dict, apart: str | None = None) -> str:
    """The table's row of the chain on the large CSV; `apart`: the day it was measured on its own
    (--gros-csv-seulement), when it is not the table's."""
    steps = "ingest à côté des dix enquêtes nationales, build, validate, report"
    if apart:
        steps += f" (mesurée à part, le {apart})"
    said = " ; ".join(f"{step} **arrêté** après {fr(r['s'])} s, au-delà de {fr(r['mio'], 0)} Mio" if r["stopped"]
                      else f"{step} {fr(r['s'])} s, {fr(r['mio'], 0)} Mio" for step, r in run["steps"].items())
    ok = run["complete"] and run["mio"] <= 1536
    return (f"| chaîne entière sur un CSV d'enquête valide de {fr(run['mib_file'], 0)} Mio ({fr(run['rows'], 0)} lignes) : "
            f"{steps} | ≤ 1,5 Gio | {said} ; en tout {fr(run['s'])} s, pic {fr(run['mio'], 0)} Mio"
            f"{'' if run['complete'] else ', chaîne arrêtée'} | {met(ok)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="écrire les résultats dans README.md")
    parser.add_argument("--sans-echelles", action="store_true", help="ne pas mesurer la série de tailles")
    parser.add_argument("--poids-seulement", metavar="SITE", type=Path,
                        help="ne mesurer que le poids des pages d'un site public déjà produit (et l'afficher)")
    parser.add_argument("--selection-seulement", action="store_true",
                        help="ne mesurer que le contrôle sélectif sur le jeu national bruité (et l'afficher)")
    parser.add_argument("--jeu-bruite", type=Path, default=None,
                        help="dossier où garder le jeu bruité construit (réutilisé s'il y est déjà)")
    parser.add_argument("--gros-csv-seulement", action="store_true",
                        help="ne mesurer que la chaîne entière sur le CSV de 195 Mio (et l'afficher)")
    parser.add_argument("--sans-gros-csv", action="store_true",
                        help="ne pas remesurer la chaîne sur le CSV de 195 Mio (plus d'une demi-heure) : le tableau "
                             "garde sa ligne du README, mesurée à part")
    args = parser.parse_args()
    if args.gros_csv_seulement:
        with tempfile.TemporaryDirectory(prefix="observatoire-mesures-") as tmp:
            national, _ = generate(Path(tmp), 1)
            row = large_csv_row(large_csv(Path(tmp), national), apart=time.strftime("%Y-%m-%d"))
        print(row)
        if args.readme:      # this row only, in the table of the last whole measure
            readme = ROOT / "README.md"
            text = readme.read_text(encoding="utf-8")
            text, n = re.subn(r"^\| chaîne entière sur un CSV d'enquête valide .*$", lambda _: row, text, count=1,
                              flags=re.M)
            if n == 0:
                sys.exit("README.md n'a pas de ligne de la chaîne sur le gros CSV à remplacer : lancez la mesure entière.")
            readme.write_text(text, encoding="utf-8")
        return
    if args.poids_seulement:
        print("\n".join(weight_rows(page_weights(args.poids_seulement))))
        return
    if args.selection_seulement:
        with tempfile.TemporaryDirectory(prefix="observatoire-mesures-") as tmp:
            print("\n".join(selective_rows(selective_editing(Path(tmp), args.jeu_bruite))))
        return
    with tempfile.TemporaryDirectory(prefix="observatoire-mesures-") as tmp:
        tmp = Path(tmp)
        print("init…", flush=True)
        init = measure(["init", str(tmp / "dossier-essai"), "--federation", "Fédération d'essai",
                        "--departement", "06"])
        print("démo 92…", flush=True)
        # a run of a few seconds on a shared machine varies by a second or more from one try to
        # the next (a busy disk): the median of DEMO_RUNS tries is kept, their range shown
        tries = sorted((run_pipeline(tmp, "demo", ["--demo"], ok=(0,)) for _ in range(DEMO_RUNS)),
                       key=lambda r: r["s"])
        demo = tries[len(tries) // 2]
        demo_range = f"{fr(tries[0]['s'])} à {fr(tries[-1]['s'])} s"
        demo_peak = max(r["mio"] for r in tries)
        weights = page_weights(tmp / "demo" / "site" / "public")   # the pages of the last try
        print("démo 92, plaquettes sans cache…", flush=True)
        plaquettes = plaquette_times(tmp)
        print("classeur piégé (bombe de décompression)…", flush=True)
        bomb_run = zip_bomb(tmp)
        national, responses = generate(tmp, 1)
        csv_run = None
        if not args.sans_gros_csv:
            print(f"CSV d'enquête de {BIG_CSV_MIB} Mio…", flush=True)
            csv_run = large_csv(tmp, national)
        print("national, étape par étape…", flush=True)
        alone = steps_alone(tmp, "etapes", [str(national)])
        print("national, run…", flush=True)
        full = run_pipeline(tmp, "national", [str(national)])
        public = run_pipeline(tmp, "national-public", [str(national)], ["--public-seulement"])
        print("national, plancher…", flush=True)
        floor = measure([str(national), str(tmp / "plancher")],
                        command=[sys.executable, str(ROOT / ".ci" / "floor.py")])
        scaling = []
        for size in (() if args.sans_echelles else SIZES):
            print(f"national × {size:g}…", flush=True)
            extracts, n = generate(tmp, size)
            r = full if size == 1 else run_pipeline(tmp, f"taille-{size:g}", [str(extracts)])
            scaling.append((size, n, r))
        print("national bruité, contrôle sélectif…", flush=True)
        selective = selective_editing(tmp)
    lines = ["<!-- benchmark -->",
             f"Dernière mesure : {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cœurs, Python "
             f"{platform.python_version()} ; jeu national : {fr(responses, 0)} réponses sur 10 enquêtes.", "",
             "| mesure | objectif | mesuré | atteint |", "|---|---|---|---|",
             f"| `init` | ≤ 2 s | {fr(init['s'])} s | {met(init['s'] <= 2)} |",
             f"| `run --demo` (deux sites), médiane de {DEMO_RUNS} essais | ≤ 10 s | {fr(demo['s'])} s "
             f"({demo_range}), {fr(demo_peak, 0)} Mio | {met(demo['s'] <= 10)} |",
             f"| `run` national (deux sites) | ≤ 60 s, ≤ 1,5 Gio | {fr(full['s'])} s, {fr(full['mio'], 0)} Mio | "
             f"{met(full['s'] <= 60 and full['mio'] <= 1536)} |",
             f"| `run` national (deux sites), ticket 20 | ≤ 15 s, ≤ 1 Gio | {fr(full['s'])} s, "
             f"{fr(full['mio'], 0)} Mio, {fr(full['s'] / floor['s'])} fois le plancher | "
             f"{met(full['s'] <= 15 and full['mio'] <= 1024)} |",
             f"| plancher du `run` national (`.ci/floor.py`) | — | {fr(floor['s'])} s, {fr(floor['mio'], 0)} Mio | — |",
             f"| `run --public-seulement` national | ≤ 30 s | {fr(public['s'])} s, {fr(public['mio'], 0)} Mio | "
             f"{met(public['s'] <= 30)} |"]
    for step, target in (("ingest", 20), ("build", None), ("validate", 15), ("report", None)):
        r = alone[step]
        lines.append(f"| `{step}` national seul | {f'≤ {target} s, ' if target else ''}≤ 1 Gio | "
                     f"{fr(r['s'])} s, {fr(r['mio'], 0)} Mio | {met((not target or r['s'] <= target) and r['mio'] <= 1024)} |")
    if plaquettes:
        lines.append(f"| plaquette PDF d'une année (démo 92, sans cache), la plus longue des {len(plaquettes)} | ≤ 10 s | "
                     f"{fr(max(plaquettes))} s | {met(max(plaquettes) <= 10)} |")
    lines.append(f"| `ingest` d'un XLSX de {fr(bomb_run['xlsx'], 1)} Mio décompressé en 1 Gio, à côté d'un bon "
                 f"extrait | refusé, ≤ 5 s, ≤ 500 Mio | {'refusé' if bomb_run['refused'] else '**lu**'}, "
                 f"{fr(bomb_run['s'])} s, {fr(bomb_run['mio'], 0)} Mio | "
                 f"{met(bomb_run['refused'] and bomb_run['s'] <= 5 and bomb_run['mio'] <= 500)} |")
    lines.append(large_csv_row(csv_run) if csv_run else kept_large_csv_row())
    public_pages = public["pages_site"].get("public", 0)
    report_public = next((p for p in public["phases"] if p["phase"] == "site public"), None)
    if report_public and public_pages:
        lines.append(f"| site public national | ≥ 1 000 pages/s, ≤ 150 Mo | {fr(public_pages, 0)} pages en "
                     f"{fr(report_public['secondes'])} s ({fr(public_pages / report_public['secondes'], 0)} pages/s), "
                     f"{fr(public['sites']['public'], 0)} Mio | "
                     f"{met(public_pages / report_public['secondes'] >= 1000 and public['sites']['public'] * 2**20 <= 150e6)} |")
    if "interne" in full["sites"]:
        lines.append(f"| site interne national | ≤ 300 Mo | {fr(full['sites']['interne'], 0)} Mio | "
                     f"{met(full['sites']['interne'] * 2**20 <= 300e6)} |")
    lines.append(f"| sites de la démo 92 | — | public {fr(demo['sites'].get('public', 0))} Mio, "
                 f"interne {fr(demo['sites'].get('interne', 0))} Mio | — |")
    lines += ["", "Profil du jeu national, étape par étape (chaque étape lancée seule ; pic de mémoire du "
              "processus à la fin de chaque phase) :", "",
              "| étape | phase | durée | pic mémoire |", "|---|---|---|---|", *phase_rows(alone)]
    if scaling:
        base_n, base = next((n, r) for size, n, r in scaling if size == 1)
        lines += ["", "Croissance avec la taille des données (`run`, deux sites) : le temps et la mémoire doivent "
                  "croître au plus comme les données.", "",
                  "| taille | réponses | durée | durée / réponses (× 1 = 1) | pic mémoire | pages |",
                  "|---|---|---|---|---|---|"]
        for size, n, r in scaling:
            ratio = (r["s"] / n) / (base["s"] / base_n)
            lines.append(f"| × {fr(size, 2).rstrip('0').rstrip(',')} | {fr(n, 0)} | {fr(r['s'])} s | {fr(ratio, 2)} | "
                         f"{fr(r['mio'], 0)} Mio | {fr(sum(r['pages_site'].values()), 0)} |")
    lines += weight_rows(weights)
    lines += selective_rows(selective)
    lines.append("<!-- /benchmark -->")
    block = "\n".join(lines)
    print(block)
    if args.readme:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        text = re.sub(r"<!-- benchmark -->.*?<!-- /benchmark -->", lambda _: block, text, flags=re.S)
        readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
