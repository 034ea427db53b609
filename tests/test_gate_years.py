"""The data year a finding holds, through real files, a real ingest, dbt build and validation: a
rejected survey file of year N holds data year N-1 (what the survey describes), a rejected activity
log of year N holds year N, a faulty line of a survey file (a finding with no year of its own)
holds the year its file describes, and a file whose name gives no year holds none. Each held year
is asserted with the finding that holds it, so that a severity lowered or a year shifted by one
fails here (tests/test_selective.py does the same for the validation's kinds of finding)."""
import pytest

from conftest import build_and_validate, frame, write_year_files
from ingest.load import ingest_paths
from observatoire.demo import build_truth

pytestmark = pytest.mark.lent

UNREADABLE = b"\x00\x01\x02 pas un tableau\x00"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    base = tmp_path_factory.mktemp("gate_years")
    truth = build_truth("92")
    write_year_files(truth, base / "extraits")
    # survey 2019 (data 2018): one line with a value more than the header has columns
    survey = base / "extraits" / "senacs_2019.csv"
    lines = survey.read_text(encoding="utf-8").splitlines()
    lines[3] += ";une valeur en trop"
    survey.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = base / "o.duckdb"
    assert not ingest_paths([base / "extraits"], db).rejected
    # a second delivery of survey 2022 (data 2021) and of the 2020 activity log that cannot be
    # read, and a file whose name says nothing of its year
    later = base / "livraison"
    later.mkdir()
    for name in ("senacs_2022.csv", "activites_2020.csv", "export_senacs.csv"):
        (later / name).write_bytes(UNREADABLE)
    assert len(ingest_paths([later], db).rejected) == 3
    result, _, _ = build_and_validate(db, base)
    return db, result


def test_each_finding_holds_exactly_the_year_it_describes(outcome):
    _, result = outcome
    assert {g.annee: g.publie for g in result.gates} == {
        2017: True, 2018: False, 2019: True, 2020: False, 2021: False, 2022: True}
    held = {g.annee: sorted(set(g.bloquants["regle"])) for g in result.gates if not g.publie}
    assert held == {2018: ["champs_surnumeraires"], 2020: ["fichier_rejete"], 2021: ["fichier_rejete"]}
    files = {g.annee: set(g.bloquants["message"].str.extract(r"Fichier (\S+) rejeté")[0].dropna())
             for g in result.gates if not g.publie}
    assert files[2020] == {"activites_2020.csv"} and files[2021] == {"senacs_2022.csv"}


def test_a_file_whose_name_gives_no_year_is_a_warning_that_holds_nothing(outcome):
    db, _ = outcome
    rows = frame(db, "SELECT severite, annee_fichier FROM constats_qualite WHERE fichier = 'export_senacs.csv'")
    assert rows["severite"].tolist() == ["avertissement"] and rows["annee_fichier"].isna().all()
