"""Hostile extracts: every line is loaded as declared or named in a finding, a file that cannot
be read is rejected in French, and a good extract in the same batch always loads.

Every variant below gets its own file year; all of them go, with one good survey and one good
activity log, into a single real `observatoire ingest` run (one warehouse for the module), and
each test then reads what that run loaded and found for its file.
"""
from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import BASE_HEADER, ROOT, frame, query, survey_rows
from expectations.rules import OTHER_LABELS
from ingest.load import ingest_paths
from observatoire.cli import cli

GOOD_YEAR = 1949          # the good extracts of the batch
FIRST_YEAR = 1950         # variant i is the file of year FIRST_YEAR + i
MEGA = "x" * 1_048_576    # a 1 MB cell
ACTIVITY_HEADER = ["date", "action_code", "groupe_travail", "type_activite", "intitule", "nb_participants",
                   "nb_centres", "nb_habitants", "nb_benevoles", "nb_salaries", "duree_heures",
                   "codes_structures"]


# ------------------------------------------------------------------ building files
def lines_of(year: int, overrides=None, header=BASE_HEADER, extra_rows=()) -> list[list[str]]:
    """Header, then the three structures of conftest.survey_rows (lines 2, 3, 4), then extra rows."""
    rows = survey_rows(year, overrides) + list(extra_rows)
    return [list(header)] + [[str(r.get(k, "")) for k in header] for r in rows]


def csv_bytes(year, overrides=None, *, header=BASE_HEADER, sep=";", eol="\n", encoding="utf-8",
              extra_rows=(), before="", raw_lines: dict[int, str] | None = None) -> bytes:
    """A survey CSV; raw_lines replaces whole lines (1-based) by text written as is."""
    lines = [sep.join(cells) for cells in lines_of(year, overrides, header, extra_rows)]
    for number, text in (raw_lines or {}).items():
        lines[number - 1] = text
    return (before + eol.join(lines) + eol).encode(encoding)


def activity_bytes(year, rows: list[dict]) -> bytes:
    lines = [";".join(ACTIVITY_HEADER)] + [";".join(str(r.get(k, "")) for k in ACTIVITY_HEADER) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def activity(year, **over) -> dict:
    base = {"date": f"15/03/{year}", "action_code": "A2.3", "groupe_travail": "COMM", "type_activite": "rencontre",
            "intitule": "Rencontre du réseau", "nb_participants": "40", "nb_centres": "8", "nb_habitants": "10",
            "nb_benevoles": "12", "nb_salaries": "18", "duree_heures": "3,5", "codes_structures": ""}
    return {**base, **over}


def xlsx_bytes(rows: list[list], edit: Callable | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if edit:
        edit(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_survey(year, overrides=None, header=BASE_HEADER, edit=None) -> bytes:
    return xlsx_bytes(lines_of(year, overrides, header), edit)


def formula_cells(ws):
    ws["H2"] = "=B2*2"                 # salaries of CS92-0001
    ws["D3"] = '=CONCATENATE("Centre ", "social")'   # nom_structure of CS92-0002


def date_out_of_range(ws):
    ws["K2"] = 10_000_000_000          # date_premier_agrement, an Excel date serial far out of range
    ws["K2"].number_format = "dd/mm/yyyy"


def mixed_line_endings(year) -> bytes:
    lines = [";".join(c) for c in lines_of(year, [{}, {}, {"salaries": "trente"}])]
    return (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\r\n").encode()


def utf8_with_one_cp1252_line(year) -> bytes:
    names = [{"nom_structure": "Centre social Les Érables"}, {}, {"nom_structure": "Espace La Sablière"}]
    lines = [";".join(c) for c in lines_of(year, names)]
    return b"\n".join([lines[0].encode(), lines[1].encode(), lines[2].encode("cp1252"), lines[3].encode()]) + b"\n"


def cp1252_with_one_utf8_line(year) -> bytes:
    names = [{"nom_structure": "Centre social Les Érables"}, {}, {"nom_structure": "Espace La Sablière"}]
    lines = [";".join(c) for c in lines_of(year, names)]
    return b"\n".join([lines[0].encode("cp1252"), lines[1].encode("cp1252"), lines[2].encode(),
                       lines[3].encode("cp1252")]) + b"\n"


def forty_eight_centres(year, stray: dict[int, str]) -> bytes:
    """The issue's case: 48 centres, some names with quotes (row i is on line i + 1)."""
    rows = [{"annee_enquete": year, "annee_donnees": year - 1, "code_structure": f"CS92-{i:04d}",
             "nom_structure": stray.get(i, f"Centre {i}"), "type_structure": "CS", "code_commune": "92050",
             "repondant": "oui", "salaries": str(i), "etp_total": "", "charges_total": ""} for i in range(1, 49)]
    lines = [";".join(BASE_HEADER)] + [";".join(str(r[k]) for k in BASE_HEADER) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def xlsx_with_an_overlong_cell(year) -> bytes:
    """openpyxl cuts cells at 32,767 characters as Excel does; another program may not."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_survey(year, [{"nom_structure": "y" * 32_767}])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item).replace(b"y" * 32_767, b"y" * 40_000))
    return buffer.getvalue()


def truncated_xlsx(year) -> bytes:
    whole = xlsx_survey(year)
    return whole[: len(whole) // 2]


# ------------------------------------------------------------------ review: more hostile variants
THEMES = BASE_HEADER + ["theme_numerique"]
FOURTH = {"code_structure": "CS92-0003", "nom_structure": "Centre social Le Phare", "type_structure": "CS",
          "code_commune": "92004", "repondant": "oui", "salaries": "9", "theme_numerique": "x"}


def concatenated_exports(year, second_header=THEMES) -> bytes:
    """Two exports put end to end: the second one's header is repeated at line 3."""
    rows = lines_of(year, [{"theme_numerique": "x"}, {"theme_numerique": ""}],
                    header=THEMES, extra_rows=[{**FOURTH, "annee_enquete": year, "annee_donnees": year - 1}])
    lines = [";".join(r) for r in rows]
    lines.insert(2, ";".join(second_header))
    return ("\n".join(lines) + "\n").encode()


def checkbox_with_a_stray_spelling(year) -> bytes:
    return csv_bytes(year, [{"theme_numerique": "Oui"}, {"theme_numerique": ""}], header=THEMES,
                     extra_rows=[{**FOURTH, "annee_enquete": year, "annee_donnees": year - 1}])


def unnamed_column_with_data(year) -> bytes:
    header = BASE_HEADER[:7] + [""] + BASE_HEADER[7:]
    rows = survey_rows(year, [{"": "à rappeler"}, {}, {"": "fermé en juin"}])
    return (";".join(header) + "\n" + "\n".join(";".join(str(r.get(k, "")) for k in header) for r in rows)
            + "\n").encode()


def merged_cells(ws):
    ws.merge_cells("I2:I3")            # etp_total of CS92-0001 (17,5) spans CS92-0002's row


def merged_to_the_end_of_the_row(ws):
    ws.merge_cells("I2:XFD2")          # etp_total of CS92-0001 merged to the sheet's last column (XFD)


def xlsx_with_binary_noise(year) -> bytes:
    """Excel writes a formula's result with all 17 digits (openpyxl would round it on save):
    salaries of CS92-0001 is 22.999999999999996, shown as 23."""
    import zipfile

    rows = lines_of(year)
    rows[1][BASE_HEADER.index("salaries")] = 23
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(b'<c r="H2" t="n"><v>23</v>', b'<c r="H2" t="n"><v>22.999999999999996</v>')
                assert b"22.999999999999996" in data
            target.writestr(item, data)
    return buffer.getvalue()


def readme_sheet_first(rows):
    def edit(ws):
        readme = ws.parent.create_sheet("Lisez-moi", 0)
        readme["A1"] = "Export SENACS : les données sont dans la feuille suivante."
    return edit


def second_sheet_with_a_table(year):
    def edit(ws):
        other = ws.parent.create_sheet("EVS")
        for row in lines_of(year, header=BASE_HEADER)[:1] + [[str(year), str(year - 1), "EVS92-0009", "La Source",
                                                                "EVS", "92004", "oui", "2", "1", ""]]:
            other.append(row)
    return edit


def misnamed_survey(year) -> bytes:
    """The next survey's extract saved under this year's name: every row says year + 1."""
    return csv_bytes(year, [{"annee_enquete": year + 1, "annee_donnees": year}] * 3)


# ------------------------------------------------------------------ the variants
Finding = tuple  # (line, column, rule, severity)


@dataclass
class Case:
    name: str
    build: Callable[[int], bytes]
    suffix: str = ".csv"
    kind: str = "senacs"
    rows: int | None = 3                         # rows loaded into raw_<kind>; None: rejected
    findings: set = field(default_factory=set)   # exactly the ingest findings of that file
    values: dict = field(default_factory=dict)   # {(key, column): value} in raw_<kind>
    rejected: str | None = None                  # a fragment of the French rejection message
    encoding: str | None = None


def reject(name, build, fragment, suffix=".csv", kind="senacs") -> Case:
    return Case(name, build, suffix, kind, rows=None, rejected=fragment,
                findings={(None, None, "fichier_rejete", "bloquant")})


W = "avertissement"
CASES = [
    # ---- encodings and bytes
    Case("utf8_bom", lambda y: csv_bytes(y, encoding="utf-8-sig"), encoding="utf-8-sig",
         values={("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("double_bom", lambda y: b"\xef\xbb\xbf" + csv_bytes(y, encoding="utf-8-sig"),
         values={("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("cp1252_whole_file_is_normal", lambda y: csv_bytes(y, encoding="cp1252"), encoding="cp1252",
         values={("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("utf8_with_one_stray_cp1252_line", utf8_with_one_cp1252_line, encoding="utf-8+cp1252",
         findings={(3, "nom_structure", "encodage_mixte", W)},
         values={("CS92-0001", "nom_structure"): "Centre social Les Érables",
                 ("CS92-0002", "nom_structure"): "Centre social L'Îlot",
                 ("EVS92-0001", "nom_structure"): "Espace La Sablière"}),
    Case("cp1252_with_one_utf8_line", cp1252_with_one_utf8_line, encoding="cp1252+utf-8",
         findings={(3, "nom_structure", "encodage_mixte", W)},
         values={("CS92-0001", "nom_structure"): "Centre social Les Érables",
                 ("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("utf16_with_bom_tab_separated", lambda y: csv_bytes(y, sep="\t", encoding="utf-16"), encoding="utf-16",
         values={("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("utf16le_without_bom", lambda y: csv_bytes(y, sep="\t", encoding="utf-16-le"), encoding="utf-16-le",
         values={("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("nul_bytes_in_a_cell", lambda y: csv_bytes(y, [{}, {"nom_structure": "Centre\x00\x00 social"}]),
         findings={(3, "nom_structure", "caracteres_de_controle", W)},
         values={("CS92-0002", "nom_structure"): "Centre social"}),
    Case("vertical_tab_in_a_cell", lambda y: csv_bytes(y, [{"nom_structure": "Les\x0bAcacias"}]),
         findings={(2, "nom_structure", "caracteres_de_controle", W)},
         values={("CS92-0001", "nom_structure"): "LesAcacias"}),
    Case("zero_width_and_no_break_spaces",
         lambda y: csv_bytes(y, [{"code_structure": "CS92-0001\u200b", "salaries": "3\u00a0000",
                                  "charges_total": "\u2060633\u202f817"}]),
         values={("CS92-0001", "salaries"): 3000, ("CS92-0001", "charges_total"): 633817}),
    Case("whitespace_only_cells", lambda y: csv_bytes(y, [{"salaries": "   ", "nom_structure": "\u00a0\u00a0"}]),
         values={("CS92-0001", "salaries"): None, ("CS92-0001", "nom_structure"): None}),
    reject("binary_garbage_renamed_csv", lambda y: bytes(random.Random(y).randrange(256) for _ in range(6000)),
           "ne contient pas du texte"),
    reject("pdf_renamed_csv", lambda y: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "document PDF"),
    reject("xls_97_renamed_csv", lambda y: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "Excel 97-2003"),
    reject("empty_file", lambda y: b"", "le fichier est vide"),
    reject("blank_lines_only", lambda y: b"\r\n\n  \n", "le fichier est vide"),
    reject("header_only", lambda y: (";".join(BASE_HEADER) + "\n").encode(), "aucune ligne de données"),
    reject("no_header_at_all", lambda y: "Bonjour,\nvoici les chiffres demandés.\n".encode(), "aucune ligne d'en-tête"),
    reject("pipe_separated", lambda y: csv_bytes(y, sep="|"),
           "première ligne lue : « annee_enquete|annee_donnees|code_structure|nom_structure|"),
    reject("activity_log_saved_as_a_survey", lambda y: activity_bytes(y, [activity(y)]),
           "ce fichier ressemble à un journal d'activités : s'il en est un, renommez-le activites_"),
    reject("survey_saved_as_an_activity_log", lambda y: csv_bytes(y), "ressemble à une enquête SENACS", kind="activites"),
    reject("duplicated_header", lambda y: csv_bytes(y, header=BASE_HEADER + ["Salariés"]),
           "correspondent toutes deux à « salaries »"),
    # ---- line endings, separators, quotes
    Case("cr_only_line_endings", lambda y: csv_bytes(y, [{}, {"salaries": "trente"}], eol="\r"),
         findings={(3, "salaries", "valeur_illisible", W)}),
    Case("mixed_line_endings", mixed_line_endings, findings={(4, "salaries", "valeur_illisible", W)}),
    Case("excel_sep_line", lambda y: csv_bytes(y, [{}, {"salaries": "trente"}], before="sep=;\n"),
         findings={(4, "salaries", "valeur_illisible", W)}, values={("CS92-0001", "salaries"): 30}),
    Case("title_rows_above_the_header", lambda y: csv_bytes(y, [{}, {"salaries": "trente"}],
                                                             before="Enquête SENACS\nExport du 02/05\n\n"),
         findings={(6, "salaries", "valeur_illisible", W)}),
    Case("separator_inside_quoted_cells", lambda y: csv_bytes(y, [{"nom_structure": '"Centre; Les ""Amis"""'}]),
         values={("CS92-0001", "nom_structure"): 'Centre; Les "Amis"'}),
    Case("multi_line_quoted_cell_keeps_line_numbers",
         lambda y: csv_bytes(y, [{"nom_structure": '"Centre\nLes Amis"'}, {"salaries": "trente"}]),
         findings={(4, "salaries", "valeur_illisible", W)},
         values={("CS92-0001", "nom_structure"): "Centre\nLes Amis"}),
    Case("unclosed_quote_swallowing_eleven_centres",
         lambda y: forty_eight_centres(y, {12: '"Centre La Sablière'}), rows=48,
         findings={(13, "nom_structure", "guillemet_non_ferme", W)},
         values={("CS92-0012", "nom_structure"): "Centre La Sablière", ("CS92-0013", "nom_structure"): "Centre 13",
                 ("CS92-0024", "salaries"): 24, ("CS92-0048", "salaries"): 48}),
    Case("unclosed_quote_closed_by_a_later_quote",
         lambda y: forty_eight_centres(y, {12: '"Centre La Sablière', 30: 'Centre "Le Phare"'}), rows=48,
         findings={(13, "nom_structure", "guillemet_non_ferme", W)},
         values={("CS92-0030", "nom_structure"): 'Centre "Le Phare"', ("CS92-0031", "salaries"): 31}),
    Case("unclosed_quote_on_the_last_line", lambda y: csv_bytes(y, [{}, {}, {"nom_structure": '"La Ruche'}]),
         findings={(4, "nom_structure", "guillemet_non_ferme", W)},
         values={("EVS92-0001", "nom_structure"): "La Ruche"}),
    Case("unclosed_quote_in_a_number", lambda y: csv_bytes(y, [{"salaries": '"30'}]),
         findings={(2, "salaries", "guillemet_non_ferme", W)}, values={("CS92-0001", "salaries"): 30}),
    Case("quotes_misplaced_kept_as_written", lambda y: csv_bytes(y, [{"nom_structure": '"Le" Phare'}]),
         findings={(2, "nom_structure", "guillemets_mal_places", W)},
         values={("CS92-0001", "nom_structure"): '"Le" Phare'}),
    Case("space_after_a_closing_quote_is_harmless", lambda y: csv_bytes(y, [{"nom_structure": '"Les Acacias" '}]),
         values={("CS92-0001", "nom_structure"): "Les Acacias"}),
    Case("too_few_fields", lambda y: csv_bytes(y, raw_lines={3: "%d;%d;CS92-0002;L'Îlot;CS;92002;oui" % (y, y - 1)}),
         findings={(3, "salaries", "champs_manquants", W)},
         values={("CS92-0002", "repondant"): True, ("CS92-0002", "salaries"): None}),
    Case("too_many_fields", lambda y: csv_bytes(y, raw_lines={2: ";".join(lines_of(y)[1]) + ";12;13"}),
         findings={(2, None, "champs_surnumeraires", "bloquant")}, values={("CS92-0001", "salaries"): 30}),
    Case("comma_separator_and_unquoted_decimal_commas", lambda y: csv_bytes(y, sep=","),
         findings={(2, None, "champs_surnumeraires", "bloquant"), (3, None, "champs_surnumeraires", "bloquant")}),
    Case("very_long_line", lambda y: csv_bytes(y, raw_lines={2: ";".join(lines_of(y)[1]) + ";x" * 20000}),
         findings={(2, None, "champs_surnumeraires", "bloquant")}, values={("CS92-0001", "salaries"): 30}),
    Case("structure_listed_twice_with_different_values",
         lambda y: csv_bytes(y, extra_rows=[{**survey_rows(y)[0], "salaries": "99"}]), rows=4,
         findings={(2, "code_structure", "doublon_conflictuel", "bloquant"),
                   (5, "code_structure", "doublon_conflictuel", "bloquant")}),
    Case("structure_listed_twice_identically", lambda y: csv_bytes(y, extra_rows=[survey_rows(y)[1]]),
         findings={(5, None, "doublon_exact", "info")}),
    # ---- numbers, years, dates
    Case("french_and_english_thousands",
         lambda y: csv_bytes(y, [{"charges_total": "1.234,5"}, {"charges_total": "1 234,5"},
                                 {"charges_total": "1,234.5"}]),
         values={("CS92-0001", "charges_total"): 1234.5, ("CS92-0002", "charges_total"): 1234.5,
                 ("EVS92-0001", "charges_total"): 1234.5}),
    Case("unicode_minus_percent_and_euro",
         lambda y: csv_bytes(y, [{"salaries": "\u22123", "etp_total": "12 %", "charges_total": "1 234 €"}]),
         values={("CS92-0001", "salaries"): -3, ("CS92-0001", "etp_total"): 12,
                 ("CS92-0001", "charges_total"): 1234}),
    Case("number_1e400_and_other_non_finite",
         lambda y: csv_bytes(y, [{"salaries": "1e400", "charges_total": "nan"},
                                 {"etp_total": "inf", "charges_total": "-Infinity"}]),
         findings={(2, "salaries", "valeur_illisible", W), (2, "charges_total", "valeur_illisible", W),
                   (3, "etp_total", "valeur_illisible", W), (3, "charges_total", "valeur_illisible", W)},
         values={("CS92-0001", "salaries"): None, ("CS92-0002", "etp_total"): None}),
    Case("integer_too_large_for_any_count",
         lambda y: csv_bytes(y, [{"salaries": "99999999999999999999"}, {"charges_total": "1" + "0" * 30}]),
         findings={(2, "salaries", "valeur_illisible", W), (3, "charges_total", "valeur_illisible", W)}),
    Case("year_99999", lambda y: csv_bytes(y, [{"annee_donnees": "99999"}]),
         findings={(2, "annee_donnees", "valeur_illisible", "bloquant")}),
    Case("dates_far_in_the_past_and_future",
         lambda y: csv_bytes(y, [{"date_premier_agrement": "14/10/1066"}, {"date_premier_agrement": "2999-12-31"},
                                 {"date_premier_agrement": "31/12/2004"}],
                             header=BASE_HEADER + ["date_premier_agrement"]),
         findings={(2, "date_premier_agrement", "valeur_illisible", W),
                   (3, "date_premier_agrement", "valeur_illisible", W)},
         values={("EVS92-0001", "date_premier_agrement"): date(2004, 12, 31)}),
    Case("spreadsheet_error_values", lambda y: csv_bytes(y, [{"nom_structure": "#REF!"}, {"salaries": "#DIV/0!"}]),
         findings={(2, "nom_structure", "valeur_illisible", W), (3, "salaries", "valeur_illisible", W)}),
    # ---- cell size
    Case("one_megabyte_text_cell", lambda y: csv_bytes(y, [{}, {"nom_structure": MEGA}]),
         findings={(3, "nom_structure", "cellule_trop_longue", W)},
         values={("CS92-0002", "nom_structure"): None, ("CS92-0002", "salaries"): 12}),
    Case("one_megabyte_cell_in_a_quoted_number", lambda y: csv_bytes(y, [{"salaries": f'"{MEGA}"'}]),
         findings={(2, "salaries", "cellule_trop_longue", W)}, values={("CS92-0001", "salaries"): None}),
    # ---- XLSX
    Case("xlsx_formula_without_cached_value", lambda y: xlsx_survey(y, edit=formula_cells), suffix=".xlsx",
         findings={(2, "salaries", "formule_sans_valeur", W), (3, "nom_structure", "formule_sans_valeur", W)},
         values={("CS92-0001", "salaries"): None, ("CS92-0002", "salaries"): 12}),
    Case("xlsx_date_serial_out_of_range",
         lambda y: xlsx_survey(y, header=BASE_HEADER + ["date_premier_agrement"], edit=date_out_of_range),
         suffix=".xlsx", findings={(2, "date_premier_agrement", "valeur_illisible", W)}),
    Case("xlsx_cell_longer_than_a_spreadsheet_allows", xlsx_with_an_overlong_cell,
         suffix=".xlsx", findings={(2, "nom_structure", "cellule_trop_longue", W)}),
    Case("xlsx_text_numbers_out_of_range", lambda y: xlsx_survey(y, [{"salaries": "1e400", "annee_donnees": 99999}]),
         suffix=".xlsx", findings={(2, "salaries", "valeur_illisible", W),
                                   (2, "annee_donnees", "valeur_illisible", "bloquant")}),
    Case("xlsx_that_is_really_a_csv", lambda y: csv_bytes(y), suffix=".xlsx",
         findings={(None, None, "extension_trompeuse", "info")}),
    Case("csv_that_is_really_an_xlsx", lambda y: xlsx_survey(y), encoding="xlsx",
         findings={(None, None, "extension_trompeuse", "info")}),
    reject("truncated_xlsx", truncated_xlsx, "classeur XLSX illisible", suffix=".xlsx"),
    reject("xlsx_holding_nothing_readable", lambda y: b"ceci n'est pas un classeur", "classeur XLSX illisible",
           suffix=".xlsx"),
    # ---- activity log
    Case("activities_row_level_checks", kind="activites", rows=7, build=lambda y: activity_bytes(y, [
        activity(y, action_code="A9.9"),                              # line 2: unknown action
        activity(y, action_code="a2-3", groupe_travail="comm"),      # line 3: spellings of known codes
        activity(y, nb_participants="-5", nb_habitants="", nb_benevoles="", nb_salaries="", nb_centres=""),
        activity(y, nb_habitants="55"),                               # line 5: more than the 40 present
        activity(y, date=f"02/01/{y - 3}"),                           # line 6: another year
        activity(y, groupe_travail="ATELIERS"),                       # line 7: unknown working group
        activity(y, duree_heures="1e400"),                            # line 8
    ]), findings={(2, "action_code", "action_inconnue", W), (4, "nb_participants", "valeur_negative", "bloquant"),
                  (5, "nb_habitants", "superieur_aux_participants", W),
                  (6, "date", "date_hors_annee_du_fichier", W), (7, "groupe_travail", "groupe_travail_inconnu", W),
                  (8, "duree_heures", "valeur_illisible", W)},
        values={(2, "action_code"): "A9.9", (3, "action_code"): "A2.3", (3, "groupe_travail"): "COMM",
                (4, "nb_participants"): -5, (5, "nb_habitants"): 55, (7, "groupe_travail"): "ATELIERS"}),
    Case("activities_unclosed_quote_and_mixed_encoding", kind="activites", rows=3, build=lambda y: (
        ";".join(ACTIVITY_HEADER) + "\n"
        + ";".join(activity(y, intitule="Forum « Vivre ensemble »").values()) + "\n").encode()
        + ";".join(activity(y, intitule="Fête de quartier").values()).encode("cp1252") + b"\n"
        + ";".join(activity(y, intitule='"Assemblée générale').values()).encode() + b"\n",
        findings={(3, "intitule", "encodage_mixte", W), (4, "intitule", "guillemet_non_ferme", W)},
        values={(3, "intitule"): "Fête de quartier", (4, "intitule"): "Assemblée générale"}),
    # ---- review: repeated headers, check boxes, unnamed columns, dates, codes, sheets
    Case("header_repeated_inside_the_file", concatenated_exports, rows=4,
         findings={(3, None, "entete_repete", "info")},
         values={("CS92-0001", "theme_numerique"): True, ("CS92-0002", "theme_numerique"): False,
                 ("CS92-0003", "theme_numerique"): True}),
    reject("another_header_inside_the_file",
           lambda y: concatenated_exports(y, second_header=THEMES[:7] + ["theme_numerique"] + THEMES[7:-1]),
           "deux en-têtes différents"),
    Case("checkbox_column_with_one_stray_spelling", checkbox_with_a_stray_spelling, rows=4,
         values={("CS92-0001", "theme_numerique"): True, ("CS92-0002", "theme_numerique"): False,
                 ("EVS92-0001", "theme_numerique"): None}),
    Case("column_without_a_header_holding_data", unnamed_column_with_data,
         findings={(1, "colonne_sans_entete_8", "colonne_sans_entete", W)}),
    Case("date_written_as_a_year_alone",
         lambda y: csv_bytes(y, [{"date_premier_agrement": "2019"}, {"date_premier_agrement": "12345"},
                                 {"date_premier_agrement": "43555"}], header=BASE_HEADER + ["date_premier_agrement"]),
         findings={(2, "date_premier_agrement", "valeur_illisible", W)},
         values={("CS92-0001", "date_premier_agrement"): None, ("EVS92-0001", "date_premier_agrement"): date(2019, 3, 31)}),
    Case("codes_kept_as_text_by_a_spreadsheet",
         lambda y: csv_bytes(y, [{"code_commune": '="92050"'}, {"code_commune": "'92002"},
                                 {"code_structure": "EVS92 0001"}]), rows=3,
         findings={(4, "code_structure", "valeur_illisible", "bloquant")},
         values={("CS92-0001", "code_commune"): "92050", ("CS92-0002", "code_commune"): "92002"}),
    Case("no_answer_written_with_a_dash_or_in_words",
         lambda y: csv_bytes(y, [{"salaries": "\u2013"}, {"salaries": "\u2014", "etp_total": "Non renseigné"}])),
    Case("utf16_big_endian_without_bom", lambda y: csv_bytes(y, sep="\t", encoding="utf-16-be"), encoding="utf-16-be",
         values={("CS92-0002", "nom_structure"): "Centre social L'Îlot"}),
    Case("xlsx_merged_cells_read_as_shown", lambda y: xlsx_survey(y, edit=merged_cells), suffix=".xlsx",
         findings={(3, "etp_total", "cellule_fusionnee", W)},
         values={("CS92-0001", "etp_total"): 17.5, ("CS92-0002", "etp_total"): 17.5}),
    # the sheet then declares 16 384 columns: read within the header's, as the spreadsheet shows them
    Case("xlsx_merged_to_the_last_column", lambda y: xlsx_survey(y, edit=merged_to_the_end_of_the_row),
         suffix=".xlsx", findings={(2, "charges_total", "cellule_fusionnee", W)},
         values={("CS92-0001", "etp_total"): 17.5, ("CS92-0001", "charges_total"): 17.5}),
    Case("xlsx_binary_noise_of_a_formula", xlsx_with_binary_noise, suffix=".xlsx",
         values={("CS92-0001", "salaries"): 23}),
    Case("xlsx_table_on_the_second_sheet", lambda y: xlsx_survey(y, edit=readme_sheet_first(y)), suffix=".xlsx",
         findings={(None, None, "feuille_lue", "info")}, values={("CS92-0001", "salaries"): 30}),
    reject("xlsx_two_sheets_holding_a_table", lambda y: xlsx_survey(y, edit=second_sheet_with_a_table(y)),
           "plusieurs feuilles", suffix=".xlsx"),
    reject("survey_saved_under_another_year", misnamed_survey, "renommez"),
    reject("activities_header_only", lambda y: (";".join(ACTIVITY_HEADER) + "\n").encode(),
           "aucune ligne de données", kind="activites"),
    # ---- review 3: French spellings, DOS end of file, old headers
    Case("windows_1252_ending_with_ctrl_z", lambda y: csv_bytes(
        y, [{"nom_structure": "Centre social Le Cœur d’Antony", "charges_total": "633 817 €"}],
        eol="\r\n", encoding="cp1252") + b"\x1a", encoding="cp1252",
         values={("CS92-0001", "nom_structure"): "Centre social Le Cœur d’Antony",
                 ("CS92-0001", "charges_total"): 633817, ("EVS92-0001", "repondant"): False}),
    Case("french_spellings_of_dates_units_and_answers", lambda y: csv_bytes(
        y, [{"date_premier_agrement": "31 mars 2019", "etp_total": "0,5 ETP", "theme_numerique": "oui."},
            {"date_premier_agrement": "1er avril 2018", "theme_numerique": "Oui (partiellement)",
             "repondant": "Oui, en partie"},
            {"date_premier_agrement": "3 févr. 2017", "theme_numerique": "Non."}],
        header=BASE_HEADER + ["date_premier_agrement", "theme_numerique"]),
         findings={(3, "theme_numerique", "reponse_avec_precision", "info"),
                   (3, "repondant", "reponse_avec_precision", "info")},
         values={("CS92-0001", "date_premier_agrement"): date(2019, 3, 31), ("CS92-0001", "etp_total"): 0.5,
                 ("CS92-0001", "theme_numerique"): True, ("CS92-0002", "date_premier_agrement"): date(2018, 4, 1),
                 ("CS92-0002", "theme_numerique"): True, ("CS92-0002", "repondant"): True,
                 ("EVS92-0001", "date_premier_agrement"): date(2017, 2, 3),
                 ("EVS92-0001", "theme_numerique"): False}),
    Case("platform_labels_of_enumerations", lambda y: csv_bytes(
        y, [{"type_structure": "Centre social (CS)", "mode_gestion": "Associatif (loi 1901)"},
            {"type_structure": "CS - Centre social", "mode_gestion": "Gestion CAF"},
            {"type_structure": "E.V.S.", "mode_gestion": "CS (EVS)"}],
        header=BASE_HEADER + ["mode_gestion"]),
         findings={(2, "mode_gestion", "reponse_avec_precision", "info"),
                   (4, "mode_gestion", "valeur_illisible", W)},
         values={("CS92-0001", "type_structure"): "CS", ("CS92-0001", "mode_gestion"): "associatif",
                 ("CS92-0002", "type_structure"): "CS", ("CS92-0002", "mode_gestion"): "caf",
                 ("EVS92-0001", "type_structure"): "EVS", ("EVS92-0001", "mode_gestion"): None}),
    Case("activities_spaced_codes_and_durations_in_hours_and_minutes", kind="activites", rows=4,
         build=lambda y: activity_bytes(y, [
             activity(y, action_code="a1.1", duree_heures="2h30"),
             activity(y, action_code="A 1.1", groupe_travail="Comm ", duree_heures="45 min"),
             activity(y, action_code="A01.2", duree_heures="1 h"),
             activity(y, action_code="A 9.9", duree_heures="2h75")]),
         findings={(5, "action_code", "action_inconnue", W), (5, "duree_heures", "valeur_illisible", W)},
         values={(2, "action_code"): "A1.1", (2, "duree_heures"): 2.5, (3, "action_code"): "A1.1",
                 (3, "groupe_travail"): "COMM", (3, "duree_heures"): 0.75, (4, "action_code"): "A1.2",
                 (4, "duree_heures"): 1, (5, "action_code"): "A 9.9", (5, "duree_heures"): None}),
    Case("total_row_under_the_table_and_no_answer_in_words", lambda y: csv_bytes(
        y, [{"charges_total": "Non communiqué"}, {"salaries": "Sans objet", "etp_total": "S.O."}],
        extra_rows=[{"code_structure": "TOTAL", "salaries": "42", "etp_total": "25,5", "charges_total": "943 817"}, {}],
        raw_lines={6: "Sous-total : ;;;;;;;42;25,5;943 817"}) + b"Total g\xc3\xa9n\xc3\xa9ral;;;;;;;84;51;1 887 634\n",
         findings={(5, None, "ligne_de_total", W), (6, None, "ligne_de_total", W), (7, None, "ligne_de_total", W)},
         values={("CS92-0001", "charges_total"): None, ("CS92-0002", "salaries"): None,
                 ("CS92-0002", "etp_total"): None, ("CS92-0002", "charges_total"): 310000.5}),
    Case("activities_total_row", kind="activites", rows=2, build=lambda y: activity_bytes(y, [
        activity(y), activity(y, nb_participants="45"),
        {"date": "", "action_code": "", "intitule": "TOTAL", "nb_participants": "52"}]),
         findings={(4, None, "ligne_de_total", W)}, values={(3, "nb_participants"): 45}),
    reject("old_header_outside_its_survey_years",
           lambda y: csv_bytes(y, header=[h.replace("code_commune", "code_insee") for h in BASE_HEADER]),
           "« code_insee » est l'ancien nom de « code_commune », admis dans alias_colonnes.yaml "
           "pour les enquêtes 2018 seulement"),
]
BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES)
YEAR = {c.name: FIRST_YEAR + i for i, c in enumerate(CASES)}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every variant and the two good extracts, through one real `observatoire ingest`."""
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "extraits"
    folder.mkdir()
    for case in CASES:
        (folder / f"{case.kind}_{YEAR[case.name]}{case.suffix}").write_bytes(case.build(YEAR[case.name]))
    (folder / f"senacs_{GOOD_YEAR}.csv").write_bytes(csv_bytes(GOOD_YEAR))
    (folder / f"activites_{GOOD_YEAR}.csv").write_bytes(activity_bytes(GOOD_YEAR, [activity(GOOD_YEAR)] * 1))
    db = base / "entrepot" / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)])
    return db, result


def loaded_rows(db, kind, year):
    table = "raw_senacs" if kind == "senacs" else "raw_activites"
    return frame(db, f"SELECT * FROM {table} WHERE _annee_fichier = ?", [year])


def test_the_batch_ends_in_french_never_a_traceback(batch):
    db, result = batch
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1                      # some files were rejected
    assert "Traceback" not in result.output and not re.search(r"\w\(s\)", result.output)
    said = " ".join(result.output.split())          # the console wraps long lines
    for case in CASES:
        if case.rejected:
            assert f"{case.kind}_{YEAR[case.name]}{case.suffix} : " in said
            assert case.rejected in said


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_variant(batch, case):
    db, _ = batch
    year = YEAR[case.name]
    # the good extracts of the same batch are loaded, whatever this file did
    assert len(loaded_rows(db, "senacs", GOOD_YEAR)) == 3
    assert len(loaded_rows(db, "activites", GOOD_YEAR)) == 1
    found = frame(db, "SELECT * FROM constats_qualite WHERE etape = 'ingest' AND type_extrait = ? "
                      "AND annee_fichier = ?", [case.kind, year])
    got = {(None if f.isna(f.ligne) else int(f.ligne), None if f.isna(f.colonne) else f.colonne, f.regle, f.severite)
           for f in [_Row(r) for r in found.to_dict("records")]}
    assert got == case.findings, found[["ligne", "colonne", "regle", "message"]].to_string()
    assert set(found["regle"]) <= set(OTHER_LABELS), "a finding the quality pages would show by its raw id"
    name = f"{case.kind}_{year}{case.suffix}"
    assert set(found["fichier"]) <= {name}
    for message in found["message"]:        # French, shows no Python repr
        assert "Traceback" not in message and "<NA>" not in message and "None" not in message
        assert not re.search(r"\w\(s\)", message), message      # real plurals, not « valeur(s) »
        assert " attendu ;" not in message, message     # « (attendu : une date…) », never « une date… attendu »
    rows = loaded_rows(db, case.kind, year)
    if case.rejected:
        assert rows.empty
        assert case.rejected in found["message"].iloc[0]
        return
    assert len(rows) == case.rows
    for line in found.loc[found["ligne"].notna() & (~found["regle"].isin(["doublon_exact", "entete_repete", "colonne_sans_entete", "ligne_de_total"])), "ligne"]:
        assert int(line) in set(rows["_ligne"])      # each finding points at a loaded line
    if case.encoding:
        assert query(db, "SELECT encodage FROM fichiers_sources WHERE nom_fichier = ?", [name]) == [(case.encoding,)]
    key = "code_structure" if case.kind == "senacs" else "_ligne"
    for (which, column), expected in case.values.items():
        value = rows.loc[rows[key] == which, column].tolist()
        assert len(value) == 1, (which, column, value)
        value = value[0]
        if expected is None:
            assert pd.isna(value), (which, column, value)
        elif isinstance(expected, date):
            assert value.date() == expected
        else:
            assert value == expected, (which, column, value)
    if case.kind == "activites":      # the log of year N describes year N
        assert set(found["annee_donnees"]) <= {year}
    else:                             # a finding on a line names its structure when the line has one
        for f in found.to_dict("records"):
            if not pd.isna(f["ligne"]):
                codes = set(rows.loc[rows["_ligne"] == f["ligne"], "code_structure"].dropna())
                assert f["code_structure"] in codes or not codes, f


class _Row:
    def __init__(self, record):
        self.__dict__.update(record)

    @staticmethod
    def isna(value):
        return value is None or value != value


# ------------------------------------------------------------------ one bad file never stops the batch
@pytest.mark.parametrize("parallel", [False, True], ids=["one_by_one", "forked_workers"])
def test_an_unforeseen_failure_rejects_that_file_only(tmp_path, warehouse, monkeypatch, parallel):
    from ingest import load

    monkeypatch.setattr(load, "PARALLEL_FROM", 0 if parallel else 10**12)

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "senacs_2020.csv").write_bytes(csv_bytes(2020))
    (tmp_path / "in" / "senacs_2021.csv").write_bytes(csv_bytes(2021))
    real = load.parse_extract

    def fails_on_2021(path, *args, **kwargs):
        if "2021" in path.name:
            raise RecursionError("a defect nobody foresaw")
        return real(path, *args, **kwargs)
    monkeypatch.setattr(load, "parse_extract", fails_on_2021)
    result = ingest_paths([tmp_path / "in"], warehouse)
    assert [f.status for f in result.files] == ["chargé", "rejeté"]
    assert "erreur inattendue" in result.files[1].message and "RecursionError" in result.files[1].message
    assert query(warehouse, "SELECT count(*) FROM reponses WHERE annee_enquete = 2020")[0][0] == 3
    assert query(warehouse, "SELECT annee_fichier, regle, severite FROM constats_qualite") == [
        (2021, "fichier_rejete", "bloquant")]


def test_a_megabyte_cell_beside_a_good_extract_through_the_cli(tmp_path, cli_run, warehouse):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "senacs_2020.csv").write_bytes(csv_bytes(2020))
    (tmp_path / "in" / "senacs_2021.csv").write_bytes(csv_bytes(2021, [{"nom_structure": MEGA, "salaries": "1e400"}]))
    result = cli_run("ingest", tmp_path / "in")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "cellule de 1\u202f048\u202f576 caractères" in result.output
    assert "valeur « 1e400 » illisible" in result.output
    assert query(warehouse, "SELECT annee_enquete, count(*) FROM reponses GROUP BY 1 ORDER BY 1") == [(2020, 3), (2021, 3)]


# ------------------------------------------------------------------ unreadable files and folders
UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []

SCENARIO = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from click.testing import CliRunner
    from observatoire.cli import cli
    import duckdb

    base = Path(sys.argv[1])
    db = base / "entrepot" / "o.duckdb"
    extracts = base / "extraits"

    def ingest(*paths):
        result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", *map(str, paths)])
        con = duckdb.connect(str(db), read_only=True)
        try:
            found = con.execute("SELECT type_extrait, annee_fichier, regle, severite, fichier, message "
                                "FROM constats_qualite ORDER BY all").fetchall()
            years = con.execute("SELECT DISTINCT annee_enquete FROM reponses ORDER BY 1").fetchall()
        finally:
            con.close()
        return {"exit": result.exit_code, "output": result.output, "findings": found,
                "years": [y for (y,) in years]}

    steps = {}
    steps["all_readable"] = ingest(extracts)
    os.chmod(extracts / "senacs_2021.csv", 0)
    os.chmod(extracts / "plus", 0)
    steps["unreadable"] = ingest(extracts)
    os.chmod(extracts / "senacs_2021.csv", 0o644)
    os.chmod(extracts / "plus", 0o755)
    steps["readable_again"] = ingest(extracts)
    steps["unknown_name"] = ingest(extracts, extracts / "notes_diverses.csv")
    steps["next_run"] = ingest(extracts)
    print(json.dumps(steps, default=str))
""")


@pytest.fixture
def shared_dir():
    """A folder the unprivileged user can reach (pytest's own temporary folders are private)."""
    base = Path(tempfile.mkdtemp(prefix="observatoire-droits-"))
    os.chmod(base, 0o777)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="setpriv is needed to drop root")
@pytest.mark.lent
def test_unreadable_file_and_folder_then_readable_again(shared_dir):
    base = shared_dir
    script = base / "scenario.py"
    script.write_text(SCENARIO)
    # the files are created by the unprivileged user itself, who can then take its own rights away
    setup = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})
        from pathlib import Path
        from test_ingest_hostile import csv_bytes
        e = Path({str(base / 'extraits')!r}); (e / "plus").mkdir(parents=True)
        (e / "senacs_2020.csv").write_bytes(csv_bytes(2020))
        (e / "senacs_2021.csv").write_bytes(csv_bytes(2021))
        (e / "plus" / "senacs_2019.csv").write_bytes(csv_bytes(2019))
        (e / "notes_diverses.csv").write_text("pas un extrait")
    """)
    env = {**os.environ, "HOME": str(base), "PYTHONPATH": str(ROOT)}
    subprocess.run(UNPRIVILEGED + [sys.executable, "-c", setup], check=True, env=env, cwd=base)
    run = subprocess.run(UNPRIVILEGED + [sys.executable, str(script), str(base)], capture_output=True, text=True,
                         env=env, cwd=base, timeout=120)
    assert run.returncode == 0, run.stderr
    steps = json.loads(run.stdout.strip().splitlines()[-1])

    first = steps["all_readable"]
    assert first["exit"] == 0 and first["years"] == [2019, 2020, 2021] and first["findings"] == []

    cut = steps["unreadable"]
    assert cut["exit"] == 1 and "Traceback" not in cut["output"]
    assert "droits de lecture insuffisants" in cut["output"]
    assert "Dossier illisible" in cut["output"] and "plus" in cut["output"]
    rules = {(k, y, r, s) for k, y, r, s, *_ in cut["findings"]}
    # tied to its kind and year from its name alone: it holds back 2021 only
    assert rules == {("senacs", 2021, "fichier_rejete", "bloquant"), (None, None, "dossier_illisible", "avertissement")}
    assert cut["years"] == [2019, 2020, 2021]          # what was loaded stays loaded

    again = steps["readable_again"]
    assert again["exit"] == 0, again["output"]
    assert again["findings"] == []                      # unchanged, and the stale rejection is gone
    assert "le rejet précédent de cette année est levé" in again["output"]

    unknown = steps["unknown_name"]
    assert unknown["exit"] == 1
    assert [(k, y, r, s) for k, y, r, s, *_ in unknown["findings"]] == [
        (None, None, "fichier_rejete", "avertissement")]   # no year: it holds no year back
    assert steps["next_run"]["findings"] == [] and steps["next_run"]["exit"] == 0


def test_a_rejection_holds_its_year_only_until_that_year_loads_or_is_found_unchanged(tmp_path, cli_run, warehouse):
    good = tmp_path / "v1" / "senacs_2021.csv"
    good.parent.mkdir()
    good.write_bytes(csv_bytes(2021))
    (tmp_path / "v1" / "activites_2021.csv").write_bytes(activity_bytes(2021, [activity(2021)]))
    assert cli_run("ingest", tmp_path / "v1").exit_code == 0
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "senacs_2021.csv").write_bytes((";".join(BASE_HEADER) + "\n").encode())
    (tmp_path / "v2" / "activites_2021.csv").write_bytes(b"")
    result = cli_run("ingest", tmp_path / "v2")
    assert result.exit_code == 1
    rejections = "SELECT type_extrait, annee_fichier, annee_donnees, severite FROM constats_qualite ORDER BY 1"
    assert query(warehouse, rejections) == [("activites", 2021, 2021, "bloquant"), ("senacs", 2021, None, "bloquant")]
    assert query(warehouse, "SELECT count(*) FROM reponses")[0][0] == 3     # the loaded version stays
    (tmp_path / "v2" / "senacs_2021.csv").write_bytes(b"\x00" * 10)         # another bad version…
    assert cli_run("ingest", tmp_path / "v2" / "senacs_2021.csv").exit_code == 1
    assert query(warehouse, "SELECT count(*), min(message) FROM constats_qualite WHERE type_extrait = 'senacs'") == [
        (1, "Fichier senacs_2021.csv rejeté : le fichier ne contient pas du texte (fichier binaire renommé en .csv ?) : "
            "demandez l'export CSV ou XLSX de l'extrait")]                  # …replaces the first rejection
    again = cli_run("ingest", tmp_path / "v1")
    assert again.exit_code == 0
    assert "inchangé" in again.output and "le rejet précédent de cette année est levé" in again.output
    assert query(warehouse, "SELECT count(*) FROM constats_qualite")[0][0] == 0
