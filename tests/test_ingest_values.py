"""Cell parsers on the spellings of extracts.md §3 (pure functions, no I/O)."""
import pandas as pd
import pytest

from ingest import values as V


@pytest.mark.parametrize("raw, expected", [
    ("12,5", 12.5), ("633 817", 633817), ("633\u00a0817", 633817), ("633\u202f817", 633817),
    ("1 234,50 €", 1234.5), ("12 %", 12), ("12,5%", 12.5), ("-3", -3), ("1.5", 1.5), ("42", 42),
])
def test_french_numbers(raw, expected):
    values, failed = V.parse_number(pd.Series([raw]))
    assert values[0] == pytest.approx(expected)
    assert not failed[0]


@pytest.mark.parametrize("raw", ["", None, "NC", "nr", "N/A", "-", "?", "ne sait pas", " NC "])
def test_no_answer_spellings_are_null_not_failures(raw):
    for parse in (V.parse_number, V.parse_bool, V.parse_date, V.parse_text):
        values, failed = parse(pd.Series([raw], dtype="object"))
        assert pd.isna(values[0]) and not failed[0]


def test_unreadable_number_fails_and_stays_null():
    values, failed = V.parse_int(pd.Series(["douze", "12,5", "12"]))
    assert list(failed) == [True, True, False]
    assert pd.isna(values[0]) and pd.isna(values[1]) and values[2] == 12


@pytest.mark.parametrize("raw, expected", [
    ("Oui", True), ("NON", False), ("o", True), ("N", False), ("1", True), ("0", False),
    ("Vrai", True), ("faux", False), ("yes", True), ("No", False), ("x", True), ("X", True),
])
def test_boolean_spellings(raw, expected):
    values, failed = V.parse_bool(pd.Series([raw]))
    assert values[0] is expected or values[0] == expected
    assert not failed[0]


def test_checkbox_column_detection():
    assert V.checkbox_column(pd.Series(["x", None, "X", "NC"]))
    assert not V.checkbox_column(pd.Series(["x", "non"]))
    assert not V.checkbox_column(pd.Series([None, None]))


@pytest.mark.parametrize("raw", ["2019-03-31", "31/03/2019", "31-03-2019", "43555", "2019-03-31 00:00:00"])
def test_dates_iso_french_excel(raw):
    values, failed = V.parse_date(pd.Series([raw]))
    assert values[0] == pd.Timestamp("2019-03-31") and not failed[0]


def test_impossible_date_fails():
    values, failed = V.parse_date(pd.Series(["31/02/2019"]))
    assert failed[0] and pd.isna(values[0])


def test_commune_codes_repair_only_when_unambiguous():
    codes, failed, repaired = V.parse_code_commune(
        pd.Series(["1053", "92050", "2a004", "9999", "1053.0"]), frozenset({"01053", "92050", "2A004"}))
    assert list(codes.fillna("∅")) == ["01053", "92050", "2A004", "∅", "01053"]
    assert list(repaired) == [True, False, False, False, True]
    assert list(failed) == [False, False, False, True, False]



def test_corsican_commune_codes_are_repaired_to_the_one_commune_they_name():
    """Corsica's codes carry letters: a zero lost inside one (2B33) is restored, and a code of the
    single département 20 of before 1976 (20033, still in old files) becomes the 2A or 2B commune
    of that number; never a guess: not when the number is in neither, or in both."""
    known = frozenset({"2B033", "2A004", "2B120", "2A150", "2B150"})
    codes, failed, repaired = V.parse_code_commune(
        pd.Series(["20033", "2B33", "2b33", "20004", "20999", "2B7", "20150", "2B120", "2A4"]), known)
    assert list(codes.fillna("∅")) == ["2B033", "2B033", "2B033", "2A004", "20999", "∅", "20150", "2B120", "2A004"]
    assert list(repaired) == [True, True, True, True, False, False, False, False, True]
    assert list(failed) == [False, False, False, False, False, True, False, False, False]

def test_header_folding():
    assert V.fold("Nom structure") == V.fold("NOM_STRUCTURE") == "nom_structure"
    assert V.fold("Année de l'enquête ") == "annee_de_l_enquete"


@pytest.mark.parametrize("raw, expected", [
    ("1.234,5", 1234.5), ("1.234.567", 1234567), ("1,234.5", 1234.5), ("1,234,567", 1234567),
    ("\u221212", -12), ("\u2212 1 234,5 €", -1234.5), ("1,23E+05", 123000), ("+7", 7),
])
def test_rarer_number_spellings(raw, expected):
    values, failed = V.parse_number(pd.Series([raw]))
    assert values[0] == pytest.approx(expected) and not failed[0]


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "inf", "-inf", "Infinity", "nan", "NaN", "1e16",
                                 "99999999999999999999", "1_000", "0x10", "١٢", "12..5", "1.2.3,4,5"])
def test_absurd_or_foreign_numbers_are_unreadable_never_stored(raw):
    for parse in (V.parse_number, V.parse_int):
        values, failed = parse(pd.Series([raw]))
        assert failed[0] and pd.isna(values[0]), (parse.__name__, raw)


def test_an_ambiguous_thousands_comma_stays_a_french_decimal():
    values, _ = V.parse_number(pd.Series(["1,234"]))
    assert values[0] == pytest.approx(1.234)
    ints, failed = V.parse_int(pd.Series(["1,234"]))    # and so is no count: a finding, not 1234
    assert failed[0] and pd.isna(ints[0])


@pytest.mark.parametrize("raw, ok", [("2021", True), ("1900", True), ("2100", True), ("1899", False),
                                     ("2101", False), ("99999", False), ("-2021", False), ("2021,5", False)])
def test_years_are_bounded(raw, ok):
    values, failed = V.parse_year(pd.Series([raw]))
    assert failed[0] is not ok and (values[0] == int(raw) if ok else pd.isna(values[0]))


@pytest.mark.parametrize("raw", ["14/10/1066", "0001-01-01", "2999-12-31", "31/12/9999", "1", "99999",
                                 "2019-13-01", "2019-02-29"])
def test_dates_outside_1900_2100_or_impossible_fail(raw):
    values, failed = V.parse_date(pd.Series([raw]))
    assert failed[0] and pd.isna(values[0])


def test_spreadsheet_errors_are_no_text():
    values, failed = V.parse_text(pd.Series(["#REF!", " #N/A ", "Centre #1", None]))
    assert list(failed) == [True, True, False, False]
    assert values.isna().tolist() == [True, True, False, True]


def test_reference_codes_any_spelling_unknown_kept():
    known = {V.fold(c): c for c in ("A1.1", "A2.3", "B3.10")}
    values, unknown = V.parse_reference_code(pd.Series(["a2-3", "A2 3", " b3.10 ", "A9.9", "NC", None]), known)
    assert values.tolist()[:4] == ["A2.3", "A2.3", "B3.10", "A9.9"] and values[4:].isna().all()
    assert list(unknown) == [False, False, False, True, False, False]


def test_a_year_alone_is_no_excel_day_number():
    values, failed = V.parse_date(pd.Series(["2019", "1900", "43555", "12345"]))
    assert failed.tolist() == [True, True, False, False]
    assert values[2] == pd.Timestamp("2019-03-31")


def test_a_checkbox_column_survives_one_stray_spelling():
    assert V.checkbox_column(pd.Series(["x", None, "oui", "Année enquête"]))
    assert not V.checkbox_column(pd.Series(["x", None, "Non"]))
    assert not V.checkbox_column(pd.Series(["oui", None]))


def test_codes_wrapped_by_a_spreadsheet_and_spaces_inside_a_structure_code():
    codes, failed, _ = V.parse_code_commune(pd.Series(['="01053"', "'92050", " 92 050 "]), frozenset())
    assert codes.tolist() == ["01053", "92050", "92050"] and not failed.any()
    codes, failed = V.parse_code_structure(pd.Series(["CS92 0001", " cs92-0001 ", '="EVS92-0002"']))
    assert failed.tolist() == [True, False, False]
    assert codes.tolist()[1:] == ["CS92-0001", "EVS92-0002"]


@pytest.mark.parametrize("raw", ["31 mars 2019", "31 MARS 2019", "31-mars-2019", "31.03.2019", "31/03/2019 00:00",
                                 "31 Mars 2019 "])
def test_dates_typed_as_french_text(raw):
    values, failed = V.parse_date(pd.Series([raw]))
    assert values[0] == pd.Timestamp("2019-03-31") and not failed[0]


@pytest.mark.parametrize("raw, expected", [("1er avril 2019", "2019-04-01"), ("3 févr. 2019", "2019-02-03"),
                                           ("15 août 2020", "2020-08-15"), ("2 décembre 2018", "2018-12-02")])
def test_french_month_names_and_their_abbreviations(raw, expected):
    values, failed = V.parse_date(pd.Series([raw]))
    assert values[0] == pd.Timestamp(expected) and not failed[0]


@pytest.mark.parametrize("raw", ["29 février 2019", "31 avril 2019", "2 machin 2019", "mars 2019", "31/03/19"])
def test_a_french_text_date_that_is_no_day_fails(raw):
    values, failed = V.parse_date(pd.Series([raw]))
    assert failed[0] and pd.isna(values[0])


@pytest.mark.parametrize("raw, expected", [("0,5 ETP", 0.5), ("1,5etp", 1.5), ("12,5 %", 12.5)])
def test_full_time_equivalents_written_with_their_unit(raw, expected):
    values, failed = V.parse_number(pd.Series([raw]))
    assert values[0] == expected and not failed[0]


@pytest.mark.parametrize("raw, expected, qualified", [
    ("oui.", True, False), ("Non.", False, False), ("non !", False, False), ("x.", True, False),
    ("Oui (partiellement)", True, True), ("oui, en partie", True, True), ("Non - fermé l'été", False, True),
])
def test_answers_with_closing_punctuation_or_a_remark(raw, expected, qualified):
    values, failed, remark = V.parse_answer(pd.Series([raw]))
    assert values[0] == expected and not failed[0]
    assert remark[0] == qualified


@pytest.mark.parametrize("raw", ["Nonobstant", "ouioui", "oui (", "non concerné"])
def test_a_word_that_only_starts_like_an_answer_stays_unreadable(raw):
    values, failed, remark = V.parse_answer(pd.Series([raw]))
    assert failed[0] and pd.isna(values[0]) and not remark[0]


def _spellings(column):
    from ingest.config import Config
    return Config().columns["senacs"][column].spellings


@pytest.mark.parametrize("raw, expected, remark", [
    ("Centre social (CS)", "CS", False), ("CS - Centre social", "CS", False), ("E.V.S.", "EVS", False),
    ("Espace de vie sociale (EVS)", "EVS", False), ("C.S.", "CS", False),
])
def test_a_label_with_its_code_or_in_initials_is_read(raw, expected, remark):
    values, failed, remarks = V.parse_enum(pd.Series([raw]), _spellings("type_structure"))
    assert values[0] == expected and not failed[0] and remarks[0] == remark


@pytest.mark.parametrize("raw", ["CS (EVS)", "CS/EVS", "X.Y.", "Centre (EVS)"])
def test_a_label_naming_two_values_or_none_stays_unreadable(raw):
    values, failed, remarks = V.parse_enum(pd.Series([raw]), _spellings("type_structure"))
    assert failed[0] and pd.isna(values[0]) and not remarks[0]


def test_a_label_with_a_remark_is_read_and_marked():
    values, failed, remarks = V.parse_enum(pd.Series(["Associatif (loi 1901)", "Non (en QPV ?)"]),
                                           _spellings("mode_gestion") | _spellings("qpv"))
    assert list(values.fillna("")) == ["associatif", ""] and list(failed) == [False, True]
    assert list(remarks) == [True, False]


@pytest.mark.parametrize("raw, expected", [("2h30", 2.5), ("1 h", 1), ("2 heures", 2), ("45 min", 0.75),
                                           ("1h30min", 1.5), ("1,5 h", 1.5)])
def test_durations_in_hours_and_minutes(raw, expected):
    values, failed = V.parse_number(pd.Series([raw]))
    assert values[0] == expected and not failed[0]


@pytest.mark.parametrize("raw", ["2h75", "h", "2 h 30 h"])
def test_a_duration_that_is_no_time_stays_unreadable(raw):
    values, failed = V.parse_number(pd.Series([raw]))
    assert failed[0] and pd.isna(values[0])


def test_spaced_or_zero_padded_action_codes_are_known():
    known = {"a1_1": "A1.1", "a1_2": "A1.2"}
    values, unknown = V.parse_reference_code(pd.Series(["A 1.1", "A01.2", "a1-1", "A1.10", "A 9.9"]), known)
    assert list(values) == ["A1.1", "A1.2", "A1.1", "A1.10", "A 9.9"]
    assert list(unknown) == [False, False, False, True, True]


@pytest.mark.parametrize("raw", ["Non communiqué", "NON COMMUNIQUE", "Sans objet", "S.O.", "s/o", "ND", "n.d.",
                                 "Non disponible"])
def test_more_no_answer_spellings(raw):
    for parse in (V.parse_number, V.parse_bool, V.parse_date):
        values, failed = parse(pd.Series([raw]))
        assert pd.isna(values[0]) and not failed[0]


# Cases found by mutation testing (README, « Tests qui mordent »): each kills mutants that survived.
def test_durations_take_minutes_below_sixty_only():
    values, failed = V.parse_number(pd.Series(["2h30", "2h59", "2h60", "45min"]))
    assert values[0] == pytest.approx(2.5) and values[1] == pytest.approx(2 + 59 / 60)
    assert values[3] == pytest.approx(0.75)
    assert list(failed) == [False, False, True, False]


def test_years_outside_1900_2100_fail_and_stay_null():
    values, failed = V.parse_year(pd.Series(["1899", "1900", "2100", "2101", "deux mille", None], dtype="object"))
    assert list(failed) == [True, False, False, True, True, False]
    assert values[1] == 1900 and values[2] == 2100
    assert pd.isna(values[0]) and pd.isna(values[3]) and pd.isna(values[5])


def test_dates_at_the_edges_of_the_accepted_years():
    values, failed = V.parse_date(pd.Series(["01/01/1900", "31/12/2100", "31/12/1899", "2101-01-01"]))
    assert list(failed) == [False, False, True, True]
    assert [d.year for d in values[:2]] == [1900, 2100]


def test_a_remark_on_one_answer_leaves_the_plain_answers_read():
    values, failed, qualified = V.parse_answer(pd.Series(["Oui (partiellement)", "non", "peut-être", "oui"]))
    assert list(values[[0, 1, 3]]) == [True, False, True] and pd.isna(values[2])
    assert list(failed) == [False, False, True, False]
    assert list(qualified) == [True, False, False, False]


# ------------------------------------------------------------------ distinct values, by slices
@pytest.mark.parametrize("parser", [V.parse_int, V.parse_number, V.parse_answer, V.parse_date, V.parse_text])
def test_distinct_values_parsed_by_slices_read_as_in_one_pass(monkeypatch, parser):
    """A large extract's distinct values are parsed a slice at a time: each cell of each column
    gets the same value, failure and remark as when the parser sees the whole column, empty
    cells and the dtype (a slice without any date has no unit of its own) included."""
    first = pd.Series(["1", "2 000", None, "x", "oui", "12/03/2021", "2021-03-12", "", "Non.", "3,5", "1"] * 3,
                      dtype=object)
    second = pd.Series([None, "oui (en partie)", "7", "nsp", "2022-01-01", "8", "abc", None, "9", "10", "11"] * 3,
                       dtype=object)
    monkeypatch.setattr(V, "PARSE_SLICE", 3)
    sliced = V.on_distinct(parser, [first, second])
    for column, got in zip([first, second], sliced):
        expected = parser(column)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            if isinstance(e, pd.Series):
                assert g.dtype == e.dtype
                pd.testing.assert_series_equal(g.reset_index(drop=True), e.reset_index(drop=True), check_names=False)
            else:
                assert (g == e).all()


def test_siret_spaced_wrapped_or_turned_into_a_number_is_read():
    """A SIRET is 14 digits: the spaces a spreadsheet shows (180 752 233 90371), its text wrappers
    and a number's '.0' are formatting; a short or lettered code fails, "no answer" is empty."""
    values, failed = V.parse_siret(pd.Series(["180 752 233 90371", '="18075223390371"', "'18075223390371",
                                              "18075223390371.0", "1807522339037", "18075223390371A", "NC", None],
                                             dtype="object"))
    assert values.tolist()[:4] == ["18075223390371"] * 4
    assert values[4:].isna().all()
    assert failed.tolist() == [False, False, False, False, True, True, False, False]


def test_a_column_of_spaced_or_zero_padded_codes_only_is_known():
    """The second spelling pass runs whenever a code is not found as written, even when none of
    the column is; a column without any cell gives empty results of the right types."""
    known = {V.fold(c): c for c in ("A1.1", "B3.10")}
    values, unknown = V.parse_reference_code(pd.Series(["A 1.1", "A01.1", "b 3.10"]), known)
    assert values.tolist() == ["A1.1", "A1.1", "B3.10"] and not unknown.any()
    values, unknown = V.parse_reference_code(pd.Series([], dtype="object"), known)
    assert len(values) == 0 and values.dtype == "string" and unknown.dtype == bool


def test_parsers_keep_the_rows_they_are_given():
    """A column of a table keeps its row labels (lines of the file) through its parser."""
    index = pd.Index([7, 3, 12])
    dates, _ = V.parse_date(pd.Series(["31/03/2019", "NC", "2019"], index=index))
    assert dates.index.equals(index) and dates[7] == pd.Timestamp("2019-03-31") and pd.isna(dates[12])
    known = {V.fold("A1.1"): "A1.1"}
    codes, unknown = V.parse_reference_code(pd.Series(["a1.1", None, "Z9"], index=index), known)
    assert codes.index.equals(index) and codes.dtype == "string"
    assert codes[7] == "A1.1" and pd.isna(codes[3]) and codes[12] == "Z9"
    assert unknown.tolist() == [False, False, True]
    types, failed, remark = V.parse_enum(pd.Series(["Centre social (CS)", None, "cs"], index=index),
                                         {"cs": "CS", "centre_social": "CS"})
    assert types.index.equals(index) and types.dtype == "string"
    assert types[7] == "CS" and pd.isna(types[3]) and types[12] == "CS"
    assert failed.tolist() == [False, False, False] and remark.tolist() == [False, False, False]
    types, failed, remark = V.parse_enum(pd.Series([], dtype="object"), {"cs": "CS"})
    assert len(types) == 0 and types.dtype == "string" and remark.dtype == bool


def test_distinct_values_parsed_with_the_parser_s_own_arguments():
    """Parsers that take a reference (the known communes, the federal project's codes) get it
    when they run over distinct values."""
    communes = pd.Series(["2050", "92050", "9205"], dtype=object)
    actions = pd.Series(["a1-1", "Z9", None], dtype=object)
    known_communes, known_actions = frozenset({"02050", "92050"}), {V.fold("A1.1"): "A1.1"}
    (codes, failed, repaired), = V.on_distinct(V.parse_code_commune, [communes], known_communes)
    assert codes.tolist()[:2] == ["02050", "92050"] and pd.isna(codes[2])
    assert failed.tolist() == [False, False, True] and repaired.tolist() == [True, False, False]
    (values, unknown), = V.on_distinct(V.parse_reference_code, [actions], known_actions)
    assert values.tolist()[:2] == ["A1.1", "Z9"] and unknown.tolist() == [False, True, False]


@pytest.mark.parametrize("slice_size", [1, 200_000])
def test_distinct_values_keep_the_column_s_rows_and_the_parser_s_arguments(monkeypatch, slice_size):
    """Over distinct values, one slice or many: a Series column keeps its row labels, and a
    parser taking a reference gets it in every slice."""
    monkeypatch.setattr(V, "PARSE_SLICE", slice_size)
    index = pd.Index([7, 3, 12])
    column = pd.Series(["2050", "92050", "9205"], index=index, dtype=object)
    (codes, failed, repaired), = V.on_distinct(V.parse_code_commune, [column], frozenset({"02050", "92050"}))
    assert codes.index.equals(index)
    assert codes[7] == "02050" and codes[3] == "92050" and pd.isna(codes[12])
    assert failed.tolist() == [False, False, True] and repaired.tolist() == [True, False, False]


def test_counts_and_years_come_back_as_integers():
    """A count or a year is an integer column (nullable), never floats that would print 12.0."""
    for parse in (V.parse_int, V.parse_year):
        values, failed = parse(pd.Series(["12", "2019", None, "douze"], dtype="object"))
        assert values.dtype == "Int64" and values[1] == 2019 and pd.isna(values[2]) and pd.isna(values[3])
        assert failed.tolist() == [parse is V.parse_year, False, False, True]
