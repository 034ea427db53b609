"""The CLI through its runner: French help, docs in step with --help, no traceback."""
import re

from click.testing import CliRunner

from conftest import ROOT
from observatoire.cli import cli
import pytest


def test_every_command_is_documented_in_the_readme_and_back():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `observatoire ([a-z-]+)", readme, flags=re.M))
    assert documented == set(cli.commands)


GLOBAL = {"--dossier", "--entrepot"}


def test_global_options_are_documented_and_accepted_after_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    preamble = readme.split("## Commandes")[1].split("\n### ")[0]
    assert all(f"`{o}" in preamble for o in GLOBAL)
    for name, command in cli.commands.items():
        if name not in ("init", "demo"):
            assert GLOBAL <= {o for p in command.params for o in p.opts}, name


def test_readme_options_match_help():
    """Each command's README section lists exactly its options, as --help shows them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    runner = CliRunner()
    for name, command in cli.commands.items():
        section = re.split(r"\n##+ ", readme.split(f"### `observatoire {name}")[1])[0]
        help_text = runner.invoke(cli, [name, "--help"]).output
        # the global options, accepted after every command too, are documented once, above the commands
        options = {o for p in command.params for o in p.opts if o.startswith("--")} - {"--help"} - GLOBAL
        for option in options:
            assert option in help_text
            assert f"`{option}" in section, f"{option} of `{name}` is not in the README"
        assert set(re.findall(r"`(--[a-z-]+)", section)) <= options | {"--help"}


def test_help_is_in_french():
    output = CliRunner().invoke(cli, ["--help"]).output
    assert "Charge les extraits" in output and "Utilisation :" in output and "Commandes" in output
    assert CliRunner().invoke(cli, ["ingest", "--help"]).exit_code == 0


def test_no_command_help_shows_english_markers():
    """click marks a required option « [required] »: every command's help says it in French."""
    for name in cli.commands:
        output = CliRunner().invoke(cli, [name, "--help"]).output
        assert "[required]" not in output, name
    assert "[obligatoire]" in CliRunner().invoke(cli, ["init", "--help"]).output


def test_missing_path_is_a_clear_error():
    result = CliRunner().invoke(cli, ["ingest", "/nulle/part"])
    assert result.exit_code == 2 and "/nulle/part" in result.output and "introuvable" in result.output


def test_module_entry_point():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "observatoire", "--version"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("observatoire ")


@pytest.mark.lent
def test_run_demo_chains_every_stage(tmp_path):
    """The README's main command, on its own warehouse, as a real process (each step runs in
    a child process of its own, writing to the same console)."""
    import subprocess
    import sys

    from conftest import query

    db = tmp_path / "entrepot" / "o.duckdb"
    proc = subprocess.run([sys.executable, "-m", "observatoire", "--entrepot", str(db), "run", "--demo"],
                          capture_output=True, text=True, cwd=ROOT)
    result = type("Result", (), {"exit_code": proc.returncode, "output": proc.stdout + proc.stderr})
    assert result.exit_code == 0, result.output
    assert f"Entrepôt : {db}" in result.output
    assert "Table « indicateurs »" in result.output and "2022 : publiée" in result.output
    assert query(db, "SELECT count(DISTINCT annee) FROM publie.pub_indicateurs")[0][0] == 6
    assert (tmp_path / "entrepot" / "qualite" / "2022.html").exists()
    assert (tmp_path / "entrepot" / "dbt" / "target" / "index.html").exists()
    assert (tmp_path / "site" / "public" / "2022" / "index.html").exists()
    assert "Site interne : " in result.output
    assert not re.search(r"\w\(s\)", result.output), result.output     # real plurals, not "avertissement(s)"
    assert re.search(r"Constats : \d+ bloquants?, \d+ avertissements?, \d+ informations?\.", result.output)
    assert (tmp_path / "entrepot" / "qualite" / "gx" / "index.html").exists()
    # the public site alone: neither the dbt docs nor GX's Data Docs (none left from the run before)
    docs = tmp_path / "entrepot" / "dbt" / "target" / "index.html"
    docs_before = docs.stat().st_mtime_ns
    proc = subprocess.run([sys.executable, "-m", "observatoire", "--entrepot", str(db), "run", "--demo",
                           "--public-seulement"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Data Docs Great Expectations : non produites avec --public-seulement" in proc.stdout
    assert not (tmp_path / "entrepot" / "qualite" / "gx").exists()
    assert (tmp_path / "entrepot" / "qualite" / "2022.html").exists() and docs.stat().st_mtime_ns == docs_before
    assert "Site public : " in proc.stdout and "Site interne : " not in proc.stdout


def test_the_analysts_workload_is_said_in_french_even_when_empty(capsys):
    """The console's list of structures to contact: « Aucune structure à contacter » (as the quality
    page says it) rather than « 0 structure à contacter », the count and the first ones otherwise."""
    from observatoire.cli import _print_contacts

    _print_contacts({2021: [("CS1", "Centre A", ["confirmer salaries"])], 2022: []})
    said = " ".join(capsys.readouterr().out.split())
    assert said.startswith("Aucune structure à contacter cette année (données 2022).")
    assert "2021 : 1 structure à contacter." in said and "0 structure" not in said
    _print_contacts({2022: [("CS1", "Centre A", ["confirmer salaries"]), ("CS2", "Centre B", ["corriger etp"])]})
    said = " ".join(capsys.readouterr().out.split())
    assert said.startswith("2 structures à contacter cette année (données 2022) : - Centre A (CS1) : confirmer salaries")


def test_a_demo_of_another_departement_lies_in_its_communes(tmp_path):
    """`demo --departement 2A`: survey extracts of structures in Corse-du-Sud's communes (codes with
    a letter), as many as its population calls for, no activity log (it follows a federal project
    the folder has not declared); an unknown code, or --echelle beside it, is a French error."""
    import csv as csv_module

    from observatoire.demo import AT_LEAST_CS, AT_LEAST_EVS, build_truth

    runner = CliRunner()
    done = runner.invoke(cli, ["demo", "--departement", "2a", "--sortie", str(tmp_path / "d")])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "senacs_2018.csv", "senacs_2019.csv", "senacs_2020.xlsx", "senacs_2021.csv", "senacs_2022.csv", "senacs_2023.xlsx"]
    truth = build_truth("2A")
    with (ROOT / "data" / "reference" / "communes.csv").open(encoding="utf-8") as f:
        corse_du_sud = {r["code_insee"] for r in csv_module.DictReader(f) if r["code_departement"] == "2A"}
    assert set(truth.reponses["code_commune"]) <= corse_du_sud
    kinds = truth.reponses.drop_duplicates("code_structure")["type_structure"].value_counts()
    assert kinds["CS"] >= AT_LEAST_CS and kinds["EVS"] >= AT_LEAST_EVS
    assert f"{len(truth.reponses)} réponses (enquêtes seulement" in " ".join(done.output.split())
    bad = runner.invoke(cli, ["demo", "--departement", "99", "--sortie", str(tmp_path / "e")])
    assert bad.exit_code != 0 and "« 99 » n'est pas un code de département" in bad.output
    assert not (tmp_path / "e").exists()
    both = runner.invoke(cli, ["demo", "--departement", "59", "--echelle", "national", "--sortie", str(tmp_path / "f")])
    assert both.exit_code == 2 and "ne vont pas ensemble" in both.output
