"""The open data a partner reuses: a Frictionless Data Package that the `frictionless` library
accepts (and rejects once broken), an XLSX whose numbers are numbers, one line ending, a
dictionary of every file, and every value read from the published marts."""
import csv
import json
import shutil

import pytest
from frictionless import Package, system
from openpyxl import load_workbook

from conftest import frame



def test_the_descriptor_describes_every_table_and_its_keys():
    """Fast: the descriptor alone, without data. Every field has a type, a title and a
    description; keys name fields of their own table; foreign keys point to a resource and fields
    that exist; frictionless reads the descriptor without a metadata error."""
    from types import SimpleNamespace

    from reports.opendata import DICTIONARY_TABLE, TABLES, datapackage
    data = SimpleNamespace(federation={"nom": "Fédération test", "licence": "Licence Ouverte 2.0"})
    package = datapackage(data, "2026-03-31")
    resources = {r["name"]: r for r in package["resources"]}
    assert set(resources) == {t.name for t in [*TABLES, DICTIONARY_TABLE]}
    for r in resources.values():
        names = [f["name"] for f in r["schema"]["fields"]]
        assert len(names) == len(set(names)) and all(f["type"] in ("string", "integer", "number")
                                                     for f in r["schema"]["fields"])
        assert set(r["schema"].get("primaryKey", [])) <= set(names), r["name"]
        for fk in r["schema"].get("foreignKeys", []):
            own = fk["fields"] if isinstance(fk["fields"], list) else [fk["fields"]]
            ref = fk["reference"]["fields"] if isinstance(fk["reference"]["fields"], list) else [fk["reference"]["fields"]]
            assert set(own) <= set(names)
            target = resources[fk["reference"]["resource"]]
            assert set(ref) <= {f["name"] for f in target["schema"]["fields"]}
            assert ref == target["schema"]["primaryKey"]          # a reference is the target's key
    Package.from_descriptor(json.loads(json.dumps(package)))      # raises on a metadata error
    assert package["created"].startswith("2026-03-31")


def _read(path):
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _validate(folder):
    with system.use_context(trusted=True):
        return Package(str(folder / "datapackage.json")).validate()


@pytest.fixture(scope="module")
def donnees(site):
    db, root, *_ = site
    return db, root / "public" / "donnees"


@pytest.mark.lent
def test_the_data_package_is_valid_and_catches_a_broken_file(donnees, tmp_path):
    db, folder = donnees
    report = _validate(folder)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    names = {r["name"] for r in package["resources"]}
    assert {"indicateurs", "unites", "registre", "cibles", "verdicts", "references_nationales",
            "dictionnaire"} <= names
    ind = next(r for r in package["resources"] if r["name"] == "indicateurs")["schema"]
    assert ind["primaryKey"] == ["indicateur", "annee", "niveau", "code"]
    assert {fk["reference"]["resource"] for fk in ind["foreignKeys"]} == {"registre", "unites"}
    types = {f["name"]: f["type"] for f in ind["fields"]}
    assert types["valeur"] == "number" and types["annee"] == "integer" and types["code"] == "string"
    assert all(f.get("title") and f.get("description") for r in package["resources"] for f in r["schema"]["fields"])
    # the validation is real: an unknown indicator, a duplicated key, text in a number all fail
    broken = tmp_path / "donnees"
    shutil.copytree(folder, broken)
    lines = (broken / "indicateurs.csv").read_text(encoding="utf-8-sig").splitlines()
    first = lines[1].split(";")
    unknown = ";".join(["inconnu"] + first[1:])
    text_value = first[:6] + ["4,7"] + first[7:]
    text_value[2] = "1999"
    (broken / "indicateurs.csv").write_text("\ufeff" + "\n".join(lines + [unknown, lines[1], ";".join(text_value)])
                                            + "\n", encoding="utf-8")
    errors = {e.type for e in _validate(broken).tasks[0].errors}
    assert {"foreign-key", "primary-key", "type-error"} <= errors, errors


@pytest.mark.lent
def test_one_line_ending_and_a_dictionary_of_every_file(donnees):
    _, folder = donnees
    for path in folder.iterdir():
        if path.suffix in (".csv", ".json", ".txt"):
            data = path.read_bytes()
            assert b"\r" not in data and data.endswith(b"\n"), path.name
    described = {}
    for row in _read(folder / "dictionnaire.csv"):
        described.setdefault(row["fichier"], []).append(row["colonne"])
    csvs = sorted(p.name for p in folder.glob("*.csv"))
    assert sorted(described) == csvs
    for name in csvs:
        with (folder / name).open(encoding="utf-8-sig") as f:
            assert next(csv.reader(f, delimiter=";")) == described[name], name


def _as_csv(value) -> str:
    """A workbook cell as the CSV writes it (formatting.csv_cell: whole numbers without a decimal
    part, text beginning with = + - @ behind a quote)."""
    from reports.formatting import csv_cell
    return csv_cell(value)


@pytest.mark.lent
def test_the_workbook_holds_the_same_tables_with_numbers_as_numbers(donnees):
    _, folder = donnees
    book = load_workbook(folder / "observatoire.xlsx", read_only=True)
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    numbers = 0
    for resource in package["resources"]:
        sheet = book[resource["name"]]
        fields = resource["schema"]["fields"]
        rows = [tuple(r) + (None,) * (len(fields) - len(r)) for r in sheet.iter_rows(values_only=True)]
        assert list(rows[0]) == [f["name"] for f in fields]
        with (folder / resource["path"]).open(encoding="utf-8-sig", newline="") as f:
            written = list(csv.reader(f, delimiter=";"))
        assert len(rows) == len(written), resource["name"]
        for got, line in zip(rows[1:], written[1:]):        # cell for cell, the CSV's text its spreadsheet-safe form
            assert [_as_csv(v) for v in got] == line, (resource["name"], got, line)
        for f in fields:
            i = [x["name"] for x in fields].index(f["name"])
            values = [r[i] for r in rows[1:] if r[i] is not None]
            if f["type"] in ("number", "integer"):
                assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values), f["name"]
                numbers += len(values)
            else:
                assert all(isinstance(v, str) for v in values), f["name"]
    assert numbers > 3000
    # a name that looks like a formula stays text (never run by the spreadsheet)
    cells = [c for row in book["unites"].iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)


@pytest.mark.lent
def test_every_value_comes_from_the_published_marts(donnees):
    db, folder = donnees
    rows = _read(folder / "indicateurs.csv")
    pub = frame(db, "SELECT i.indicateur, annee, niveau, code, valeur, statut, r.libelle, r.unite "
                    "FROM publie.pub_indicateurs i JOIN publie.pub_registre r USING (indicateur)")
    pub = {(r["indicateur"], r["annee"], r["niveau"], r["code"]): r for r in pub.to_dict("records")}
    for row in rows:
        mart = pub[(row["indicateur"], int(row["annee"]), row["niveau"], row["code"])]
        assert row["statut"] == mart["statut"]
        assert row["libelle_indicateur"] == mart["libelle"] and row["unite"] == mart["unite"]
        if row["valeur"]:
            assert float(row["valeur"]) == pytest.approx(mart["valeur"])
        else:
            assert mart["valeur"] != mart["valeur"] or mart["valeur"] is None
    verdicts = _read(folder / "verdicts.csv")
    board = frame(db, "SELECT indicateur, annee, statut_cible, verdict, part_chemin FROM publie.pub_tableau_de_bord "
                      "WHERE cible IS NOT NULL")
    assert len(verdicts) == len(board) > 0
    text = lambda v: v if isinstance(v, str) else None
    assert {(v["indicateur"], int(v["annee"]), v["statut_cible"] or None, v["verdict"]) for v in verdicts} == {
        (b["indicateur"], b["annee"], text(b["statut_cible"]), b["verdict"]) for b in board.to_dict("records")}
    shares = {(b["indicateur"], b["annee"]): b["part_chemin"] for b in board.to_dict("records")}
    for v in verdicts:
        if v["part_chemin"]:
            assert float(v["part_chemin"]) == pytest.approx(shares[(v["indicateur"], int(v["annee"]))])
    national = _read(folder / "references_nationales.csv")
    seeds = frame(db, "SELECT DISTINCT indicateur, annee_nationale, valeur_nationale FROM publie.pub_comparaison_nationale "
                      "WHERE valeur_nationale IS NOT NULL")
    assert len(national) == len(seeds) > 0
    targets = _read(folder / "cibles.csv")
    assert targets and all(t["cible"] and t["annee_cible"] for t in targets)
