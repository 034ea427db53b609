"""Validation: every rule catches a seeded fault (real Great Expectations), the clean demo has
no blocking finding and few warnings, a blocked year keeps its previous publication, corrections
are traced, the indicator frames stay bounded. (Seeded implausible values through real files and
confirmations: test_plausibility.py.)"""
import shutil

import pandas as pd
import pytest

from conftest import CORRECTIONS_HEADER, DEMO_DIR, build_and_validate, frame, query, write_year_files
from expectations.frames import SQL, load_frames
from expectations.rules import BY_ID, OTHER_LABELS, RULES, libelle
from expectations.validate import _run_gx, findings_for
from ingest import warehouse as W
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth
from observatoire.validation import run_validation

@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The demo, loaded, built and validated once."""
    base = tmp_path_factory.mktemp("clean")
    db = base / "o.duckdb"
    ingest_paths([DEMO_DIR], db)
    return db, *build_and_validate(db, base)


@pytest.fixture(scope="module")
def clean_frames(clean):
    """The frames of the clean demo; `mesures` with every scored value, not only those that stand out."""
    con = W.connect(clean[0], read_only=True)
    try:
        frames = load_frames(con)
        # (what the rules read of int_controles__scores besides: no value influential, no unit)
        frames["mesures"] = con.execute("SELECT *, false AS influente, NULL::VARCHAR AS nature, "
                                        "NULL::DOUBLE AS facteur_unite, false AS financeurs_concordants, "
                                        "NULL::DOUBLE AS unite_financeurs, NULL::DOUBLE AS unite_historique, "
                                        "false AS ligne_sans_total, false AS unite_contredite "
                                        "FROM int_controles__mesures").df()
        return frames
    finally:
        con.close()


@pytest.mark.lent
def test_clean_demo_has_no_blocking_finding_and_every_year_is_published(clean):
    db, outcome, *_ = clean
    assert all(g.publie for g in outcome.gates) and len(outcome.gates) == 6
    assert query(db, "SELECT count(*) FROM constats_qualite WHERE severite = 'bloquant'")[0][0] == 0
    assert query(db, "SELECT count(*) FROM publie.pub_indicateurs")[0][0] == query(db, "SELECT count(*) FROM pub_indicateurs")[0][0]
    assert query(db, "SELECT DISTINCT statut FROM publications") == [("publiee",)]


def seed(rule, frames):
    """Break the frame of `rule` on one row, from the expectation's own parameters."""
    import great_expectations.expectations as gxe

    exp = rule.build(gxe)
    f = frames[rule.frame].copy()
    kind = type(exp).__name__
    needed = [c for c in (getattr(exp, "column", None), getattr(exp, "column_A", None),
                          getattr(exp, "column_B", None)) if c]
    candidates = f.dropna(subset=needed).index if needed else f.index
    i = candidates[len(candidates) // 2]
    if kind == "ExpectColumnValuesToNotBeNull":
        f[exp.column] = f[exp.column].astype(object)
        f.loc[i, exp.column] = None
    elif kind == "ExpectColumnValuesToBeBetween":
        bad = exp.max_value + 1 if exp.max_value is not None else exp.min_value - 1
        f[exp.column] = f[exp.column].astype("Float64")
        f.loc[i, exp.column] = bad
    elif kind == "ExpectColumnValuesToBeInSet":
        f[exp.column] = f[exp.column].astype(object)
        f.loc[i, exp.column] = False if True in exp.value_set else "hors_liste"
    elif kind == "ExpectColumnPairValuesAToBeGreaterThanB":
        f[exp.column_B] = f[exp.column_B].astype("Float64")
        f.loc[i, exp.column_B] = float(f.loc[i, exp.column_A]) + 1
    elif kind == "ExpectCompoundColumnsToBeUnique":
        f = pd.concat([f, f.loc[[i]]], ignore_index=True)
    else:
        raise AssertionError(f"no seeding for {kind}")
    return f, f.loc[i] if kind != "ExpectCompoundColumnsToBeUnique" else f.iloc[-1]


@pytest.mark.lent
def test_clean_demo_warns_on_few_structures(clean):
    """Findings people read: warnings on at most 2 % of the responding structure-years."""
    db = clean[0]
    warned = query(db, "SELECT count(DISTINCT (annee_enquete, code_structure)) FROM constats_qualite "
                       "WHERE severite = 'avertissement' AND code_structure IS NOT NULL")[0][0]
    responding = query(db, "SELECT count(*) FROM reponses WHERE repondant")[0][0]
    assert warned <= 0.02 * responding


class _Arguments:
    """Stands for great_expectations.expectations when the tests are collected: each expectation
    is the arguments it is given (importing GX takes seconds, and the fast tier collects this module)."""
    def __getattr__(self, name):
        return lambda **kwargs: kwargs


def _conditional(rule) -> bool:
    return rule.expectation(_Arguments()).get("row_condition") is not None


@pytest.mark.parametrize("regle", [r.regle for r in RULES if not _conditional(r)])
@pytest.mark.lent
def test_every_rule_catches_a_seeded_fault(regle, clean_frames):
    rule = BY_ID[regle]
    broken, row = seed(rule, clean_frames)
    frames = {rule.frame: broken}
    failing = _run_gx(frames, None)
    assert regle in failing
    found = findings_for({regle: failing[regle]}, frames)
    assert set(found["severite"]) == {rule.severite}
    assert set(found["colonne"]) == {rule.colonne.format(colonne=row.get("colonne"))}
    if "code_structure" in broken:
        assert row["code_structure"] in set(found["code_structure"])
    assert found["message"].str.len().gt(20).all() and not found["message"].str.contains("{").any()
    assert not found["message"].str.contains(r"\w\(s\)").any()       # « 1 valeur », « 2 valeurs »


def test_every_rule_has_a_french_label_and_its_messages_fill_in():
    for rule in RULES:
        assert rule.libelle[:1].isupper() and rule.libelle != rule.regle, rule.regle
        assert libelle(rule.regle) == rule.libelle
    for regle in OTHER_LABELS:
        assert libelle(regle) == OTHER_LABELS[regle]
    # an id nobody declared (another step's new rule) still reads as words, never as an id
    assert libelle("nouvelle_regle_inconnue") == "Nouvelle regle inconnue" and libelle(None) == "Constat"


@pytest.mark.lent
def test_indicator_frames_are_summarised_in_sql(clean):
    """The share / sum checks see one row per indicator x year x level, not every unit."""
    db = clean[0]
    with W.connect(db, read_only=True) as con:
        frames = {name: con.execute(sql).df() for name, sql in SQL.items() if name in ("parts", "sommes")}
        groups = con.execute("SELECT count(DISTINCT (indicateur, annee, niveau)) FROM indicateurs "
                             "WHERE valeur IS NOT NULL AND NOT isnan(valeur)").fetchall()[0][0]
    assert len(frames["parts"]) + len(frames["sommes"]) == groups
    assert query(db, "SELECT count(*) FROM indicateurs")[0][0] > 10 * groups


@pytest.mark.lent
def test_blocked_year_keeps_its_previous_publication(clean, tmp_path):
    db = tmp_path / "o.duckdb"
    shutil.copy2(clean[0], db)
    before = frame(db, "SELECT * FROM publie.pub_indicateurs WHERE annee = 2021 ORDER BY ALL")
    published_at = query(db, "SELECT publie_le FROM publications WHERE annee = 2021")
    truth = build_truth("92")
    df = {s: d for s, d, _ in truth.per_year}[2022].copy()
    i = df.index[df["repondant"] & df["charges_total"].notna()][3]
    df.loc[i, "charges_total"] = df.loc[i, "charges_total"] * 1000
    write_year_files(truth, tmp_path / "v2", {2022: df})
    ingest_paths([tmp_path / "v2" / "senacs_2022.csv"], db)
    build(db, docs=False, corrections=clean[2])
    outcome = run_validation(db, tmp_path / "qualite", confirmations=clean[3])
    gate = next(g for g in outcome.gates if g.annee == 2021)
    assert not gate.publie and gate.deja_publie
    assert set(gate.bloquants["regle"]) & {"montant_unite"}
    # the indicators changed, the published ones did not
    assert query(db, "SELECT valeur FROM indicateurs WHERE indicateur = 'budget_moyen' AND annee = 2021 "
                     "AND niveau = 'departement'") != query(
        db, "SELECT valeur FROM publie.pub_indicateurs WHERE indicateur = 'budget_moyen' AND annee = 2021 "
            "AND niveau = 'departement'")
    pd.testing.assert_frame_equal(frame(db, "SELECT * FROM publie.pub_indicateurs WHERE annee = 2021 ORDER BY ALL"), before)
    assert query(db, "SELECT publie_le FROM publications WHERE annee = 2021") == published_at
    assert query(db, "SELECT statut FROM publications WHERE annee = 2021") == [("bloquee",)]


@pytest.mark.lent
def test_a_bad_correction_is_refused_and_blocks(clean, tmp_path):
    db = tmp_path / "o.duckdb"
    shutil.copy2(clean[0], db)
    bad = tmp_path / "corrections.csv"
    bad.write_text(CORRECTIONS_HEADER
                   + "2022;CS92-9999;salaries;12;typo;A. Analyste;2024-06-01\n"
                   + "2022;CS92-0001;colonne_inconnue;12;typo;A. Analyste;2024-06-01\n"
                   + "2022;CS92-0001;salaries;douze;typo;A. Analyste;2024-06-01\n", encoding="utf-8")
    assert build(db, docs=False, corrections=bad).corrections == (0, 3)
    refused = frame(db, "SELECT * FROM constats_qualite WHERE regle = 'correction_refusee' ORDER BY ligne")
    assert refused["severite"].tolist() == ["bloquant"] * 3
    assert "aucune réponse de CS92-9999" in refused["message"][0]
    assert "n'est pas une colonne corrigeable" in refused["message"][1]
    assert "« douze » illisible" in refused["message"][2]
    outcome = run_validation(db, tmp_path / "qualite", confirmations=clean[3])
    assert not next(g for g in outcome.gates if g.annee == 2021).publie


@pytest.mark.lent
def test_a_correction_fixes_the_year_without_touching_the_extract(clean, tmp_path):
    db = tmp_path / "o.duckdb"
    shutil.copy2(clean[0], db)
    truth = build_truth("92")
    df = {s: d for s, d, _ in truth.per_year}[2022].copy()
    i = df.index[df["repondant"] & df["charges_total"].notna() & df["produits_total"].notna()][3]
    code, good = df.loc[i, "code_structure"], df.loc[i, "charges_total"]
    df.loc[i, "charges_total"] = good * 1000
    write_year_files(truth, tmp_path / "v2", {2022: df})
    ingest_paths([tmp_path / "v2" / "senacs_2022.csv"], db)
    build(db, docs=False, corrections=clean[2])
    assert not next(g for g in run_validation(db, tmp_path / "q0", confirmations=clean[3]).gates
                    if g.annee == 2021).publie
    fixes = tmp_path / "corrections.csv"
    fixes.write_text(CORRECTIONS_HEADER + f"2022;{code};charges_total;{good};Saisi en euros au lieu de k€, "
                     "vérifié avec la structure;A. Analyste;2024-06-01\n", encoding="utf-8")
    raw_before = frame(db, "SELECT * FROM raw_senacs ORDER BY ALL")
    assert build(db, docs=False, corrections=fixes).corrections == (1, 0)
    outcome = run_validation(db, tmp_path / "q1", confirmations=clean[3])
    assert all(g.publie for g in outcome.gates)
    pd.testing.assert_frame_equal(frame(db, "SELECT * FROM raw_senacs ORDER BY ALL"), raw_before)
    traced = frame(db, "SELECT * FROM constats_qualite WHERE regle = 'correction_appliquee' AND code_structure = ?", [code])
    assert len(traced) == 1 and traced["severite"][0] == "info" and "A. Analyste" in traced["message"][0]
    assert query(db, "SELECT statut FROM corrections WHERE code_structure = ?", [code]) == [("appliquee",)]


@pytest.mark.lent
def test_great_expectations_data_docs_are_built(clean):
    docs = clean[1].data_docs
    assert docs.exists()
    html = docs.read_text(encoding="utf-8")
    assert "controles_reponses" in html and "controles_mesures" in html and "controles_indicateurs_parts" in html




# ------------------------------------------------------------------ findings built column by column
def _many_failing_rows(n: int = 230) -> pd.DataFrame:
    """A `mesures` frame of `n` values that stand out, as expectations/frames.py pulls it: integer
    and decimal values, a structure with no code, some rows with a score."""
    rows = []
    for i in range(n):
        rows.append({"annee_enquete": 2022 + i % 2, "annee_donnees": 2021 + i % 2,
                     "code_structure": None if i == 17 else f"CS92-{i // 3:04d}", "ligne_source": i + 2,
                     "colonne": ("charges_total", "salaries", "heures_benevolat")[i % 3],
                     "valeur": -(1000 * i + 192) if i % 5 else -(i + 0.5), "type_structure": "CS",
                     "facteur_pairs": 3.5 + i, "mediane_pairs": 1500.25, "sens_pairs": "plus",
                     "sens_pairs_centre": "plus élevée", "z_pairs": 4.0,
                     "score": 0.25 * i if i % 4 == 0 else None, "figure_score": "les salariés du département",
                     "causes": "un chiffre en trop ?" if i % 2 else None})
    frame = pd.DataFrame(rows)
    frame["valeur"] = frame["valeur"].astype("float64")
    return frame


def test_what_a_centre_is_asked_reads_as_french_whatever_the_cause():
    """Each cause dbt words for an unusual value (int_controles__scores: « un montant… », « des
    heures… », « le chiffre d'une autre année… ») reads in the request sent to the centre without
    an uncontracted article (« de le », « de un », « de des »)."""
    import re
    from pathlib import Path

    from expectations.validate import _ask

    sql = (Path(__file__).resolve().parent.parent / "models" / "intermediate" / "int_controles__scores.sql"
           ).read_text(encoding="utf-8")
    block = sql[:sql.index("end as causes")]
    block = block[block.rindex("case"):]
    causes = [m.replace("''", "'") for m in re.findall(r"(?:then|else)\s+'((?:[^']|'')*)'", block)]
    assert len(causes) >= 4, causes
    rule = BY_ID["valeur_atypique"]
    for cause in causes:
        asked = _ask(rule, {"causes": cause})
        assert cause in asked
        assert not re.search(r"\b(?:de|à) (?:le|les|un|une|des)\b", asked), asked


def test_an_evolution_is_told_to_the_centre_against_the_year_it_is_compared_with():
    """The last year a structure declared may be two years back (a year it did not answer): the
    sheet names that year, never « l'année précédente » for 2018 beside 2020."""
    fields = {"valeur": "8", "annee_donnees": 2020, "facteur_evolution": "4", "sens_evolution_centre": "plus basse",
              "valeur_reference": "32", "annee_reference": 2018}
    for regle in ("evolution_unite", "evolution_forte", "evolution_confirmee"):
        said = BY_ID[regle].centre.format(**fields)
        assert "année précédente" not in said and "32" in said and "2018" in said, said
        assert said == "La valeur déclarée (8 pour 2020) est 4 fois plus basse que celle déclarée pour 2018 (32).", said


def test_findings_are_worded_column_by_column_exactly_as_one_by_one(monkeypatch):
    """The findings of many failing rows, built a slice at a time: each message in full (French
    numbers, the rule's advice), the row's line, year and score; of one group on one value only
    the gravest; a confirmed value turned into an `info` with who confirmed it; the order of the
    failing rows. The same whatever the size of the slices."""
    import expectations.validate as V

    frame = _many_failing_rows()
    frame["valeur_entiere"] = (frame["valeur"].abs() * 10).round().astype("int64")   # numpy integers
    negative = list(frame.index)
    atypical = list(range(0, len(frame), 2))        # the same values: only the gravest is kept
    confirmations = pd.DataFrame([{"annee_enquete": 2023, "code_structure": "CS92-0000", "colonne": "salaries",
                                   "auteur": "A. Analyste", "date_confirmation": "2024-06-01",
                                   "motif": "vérifié au téléphone"}])
    failing = {"mesure_negative": negative, "valeur_atypique": atypical}
    found = findings_for(failing, {"mesures": frame}, confirmations)
    monkeypatch.setattr(V, "SLICE", 7)
    assert_same = pd.testing.assert_frame_equal
    assert_same(findings_for(failing, {"mesures": frame}, confirmations), found)

    assert len(found) == len(frame)           # every atypical value is also negative: the blocking one kept
    assert found["regle"].tolist() == ["mesure_negative"] * len(frame)
    assert found["ligne"].tolist() == [i + 2 for i in range(len(frame))]
    first = found.iloc[3]
    assert first["message"] == ("CS92-0001 (enquête 2023) : charges_total négatif (-3\u202f192). " + BY_ID[
        "mesure_negative"].conseil)
    assert first["valeur_brute"] == "-3192" and first["severite"] == "bloquant" and first["nature"] == "impossible"
    assert first["constat_centre"] == "La valeur déclarée (-3\u202f192) est négative : ce nombre ne peut pas l'être."
    assert "Est-ce un chiffre en trop ?" in first["demande_centre"] and " de un " not in first["demande_centre"]
    decimal = found.iloc[5]
    assert "heures_benevolat négatif (-5,5)." in decimal["message"]
    assert found["score"].iloc[4] == 1.0 and found["figure"].iloc[4] == "les salariés du département"
    assert pd.isna(found["score"].iloc[3]) and pd.isna(found["figure"].iloc[3])
    assert found.loc[17, "message"].startswith("? (enquête 2023) :")     # no code: kept, named « ? »
    confirmed = found[found["severite"] == "info"]
    assert confirmed["code_structure"].tolist() == ["CS92-0000"] and confirmed["colonne"].tolist() == ["salaries"]
    assert confirmed["message"].iloc[0].endswith(
        "Valeur confirmée par A. Analyste le 2024-06-01 : vérifié au téléphone.")
    assert confirmed["nature"].iloc[0] == "info"

    # a rule alone keeps each of its rows, and numpy integers read as French numbers
    frame["valeur"] = -frame["valeur_entiere"]
    alone = findings_for({"valeur_atypique": atypical}, {"mesures": frame})
    assert len(alone) == len(atypical) and set(alone["severite"]) == {"avertissement"}
    assert "heures_benevolat de -21\u202f920, 5,5 fois plus que la médiane des CS de l'année (1\u202f500,25)" in \
        alone["message"].iloc[1]


@pytest.mark.lent
def test_a_validation_in_slices_finds_exactly_what_a_whole_one_finds(clean, tmp_path, monkeypatch):
    """A frame larger than one slice reaches GX a slice at a time (bounded memory on a large
    extract): with slices of a few dozen rows, every finding (text, severity, nature, score, line)
    is the one a validation of whole frames records, on a year with many findings; no slice splits
    the rows a rule compares with each other."""
    import duckdb

    import expectations.frames as F
    from expectations.validate import validate

    db = tmp_path / "o.duckdb"
    shutil.copy2(clean[0], db)
    truth = build_truth("92")
    df = {s: d for s, d, _ in truth.per_year}[2022].copy()
    answered = df.index[df["repondant"] & df["charges_total"].notna() & df["salaries"].notna()]
    df.loc[answered[::3], "charges_total"] = df.loc[answered[::3], "charges_total"] * 1000
    df.loc[answered[1::3], "salaries"] = -df.loc[answered[1::3], "salaries"]
    write_year_files(truth, tmp_path / "v2", {2022: df})
    ingest_paths([tmp_path / "v2" / "senacs_2022.csv"], db)
    build(db, docs=False, corrections=clean[2])
    columns = "* EXCLUDE (cree_le)"

    def findings(rows: int | None) -> pd.DataFrame:
        monkeypatch.setattr(F, "SLICE_ROWS", rows or 100_000)
        con = duckdb.connect(str(db))
        try:
            con.execute("BEGIN TRANSACTION")
            validate(con, docs_dir=tmp_path / f"gx-{rows}", confirmations=clean[3])
            con.execute("COMMIT")
            return con.execute(f"SELECT {columns} FROM constats_qualite WHERE etape = 'validation' "
                               "ORDER BY ALL").df()
        finally:
            con.close()

    whole = findings(None)
    assert (whole["annee_enquete"] == 2022).sum() >= 20 and {"montant_unite", "mesure_negative"} <= set(whole["regle"])
    sliced = findings(37)
    pd.testing.assert_frame_equal(sliced, whole)
    # the Data Docs hold one validation per slice
    results = {rows: len(list((tmp_path / f"gx-{rows}" / "validations").rglob("*.html"))) for rows in (None, 37)}
    assert results[37] > results[None] > 0
    # the frames were cut: several slices each, of bounded size, answers of one structure and survey together
    con = duckdb.connect(str(db), read_only=True)
    try:
        seen: dict[str, list] = {}
        for name, start, end, part in F.frame_slices(con, rows=37):
            seen.setdefault(name, []).append((start, end, part))
        for name in ("reponses", "repondantes", "mesures"):
            assert len(seen[name]) > 2, name
            assert [s for s, _, _ in seen[name]][1:] == [e for _, e, _ in seen[name]][:-1]
        keys = [set(zip(p["annee_enquete"], p["code_structure"])) for _, _, p in seen["reponses"]]
        assert all(not (a & b) for i, a in enumerate(keys) for b in keys[i + 1:])
        assert sum(len(p) for _, _, p in seen["mesures"]) == len(load_frames(con)["mesures"])
    finally:
        con.close()


def test_messages_quote_amounts_in_euros_and_ratios_as_a_person_says_them():
    """A finding's sentence: an amount in euros says so (« 292,77 € », a median of amounts in whole
    euros « 1 006 566 € »), a count does not; a ratio from 10 on is whole (« 3 438 fois », not
    « 3 438,08 fois »), below it has one decimal (« 2,5 fois »)."""
    import pandas as pd

    from expectations.validate import _Shown

    rows = pd.DataFrame({"valeur": [292.77, 12.0], "mediane_pairs": [1006566.02, 3.5], "nature": ["euros", "personnes"],
                         "facteur_pairs": [3438.08, 2.54]})
    said = _Shown(rows).format("{valeur} ; médiane {mediane_pairs} ; {facteur_pairs} fois")
    assert said == ["292,77\u00a0€ ; médiane 1\u202f006\u202f566\u00a0€ ; 3\u202f438 fois", "12 ; médiane 3,5 ; 2,5 fois"]


def test_a_centre_is_asked_about_its_commune_in_words_of_a_commune():
    """The feedback sheet's question for a commune changed since the last survey asks about the
    commune, not « Pouvez-vous vérifier ces chiffres » (it is a code, not a figure); a figure's
    question is unchanged."""
    from expectations.rules import RULES
    from expectations.validate import _ask

    rules = {r.regle: r for r in RULES}
    assert _ask(rules["commune_inchangee"], {}) == ("Votre site principal a-t-il changé de commune ? Merci de nous "
                                                    "confirmer sa commune, ou de nous indiquer la bonne.")
    assert "chiffre" in _ask(rules["valeur_atypique"], {})
