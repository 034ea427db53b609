"""An adversarial review of the whole chain (issue 11): what real files and real analysts do
that the other hostile tests did not cover, each case through the real CLI, a real dbt build and
real Great Expectations. Every line is loaded as declared or named in a finding, every
implausible figure blocks its year, and nothing wrong reaches the public site."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import BASE_HEADER, frame, query, survey_rows, write_csv


# ------------------------------------------------------------------ files and names
def test_a_row_of_another_survey_does_not_push_that_survey_s_own_row_out(tmp_path, cli_run, warehouse):
    """A row typed with the next survey's year in this survey's file: held against its own file's
    year, and the next survey's real answer for that structure stays in `reponses`."""
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021, [{"annee_enquete": "2022"}]))
    write_csv(tmp_path / "senacs_2022.csv", BASE_HEADER, survey_rows(2022))
    assert cli_run("ingest", tmp_path).exit_code == 0
    assert query(warehouse, "SELECT annee_enquete, count(*) FROM reponses GROUP BY 1 ORDER BY 1") == [
        (2021, 2), (2022, 3)]
    assert query(warehouse, "SELECT fichier, annee_enquete, code_structure, regle, severite FROM constats_qualite") == [
        ("senacs_2021.csv", 2021, "CS92-0001", "annee_enquete_differente_du_fichier", "bloquant")]


@pytest.mark.parametrize("name", ["senacs_2022 (1).csv", "senacs_2022_corrige.csv", "Copie de activites_2021.xlsx"])
def test_a_file_named_almost_like_an_extract_is_named_not_ignored(tmp_path, cli_run, warehouse, name):
    """The corrected version saved by the browser as « senacs_2022 (1).csv » must not be passed over
    in silence while the old one loads."""
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    write_csv(tmp_path / name, BASE_HEADER, survey_rows(2022))
    (tmp_path / "notes de réunion.txt").write_text("rien à voir")
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"{name} : nom de fichier non reconnu" in said
    assert query(warehouse, "SELECT fichier, annee_fichier, regle, severite FROM constats_qualite") == [
        (name, None, "fichier_rejete", "avertissement")]
    assert query(warehouse, "SELECT count(*) FROM reponses")[0][0] == 3
