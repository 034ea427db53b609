"""Turn one extract file into typed canonical rows, long-form extra cells and findings."""
from __future__ import annotations

import errno
import hashlib
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import values as V
from .config import Config, Column
from common.errors import ExtractError
from .readers import (PREVIEW_CHARS, XLSX_UNREADABLE, Issue, NoHeaderError, RawTable, check_content, fr_count,
                      fr_int, read_csv, read_xlsx)
from .reference import ProjectCodes, project_codes

FILE_NAME = re.compile(r"^(senacs|activites)_(\d{4})$")
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}

SEVERITIES = ("bloquant", "avertissement", "info")
FINDING_COLUMNS = ["ligne", "annee_enquete", "code_structure", "colonne", "valeur_brute",
                   "valeur_attendue", "regle", "severite", "message"]

EXPECTED = {
    "int": "un nombre entier (ex. 1 234)",
    "decimal": "un nombre (ex. 1 234,5)",
    "bool": "oui ou non",
    "date": "une date (AAAA-MM-JJ, JJ/MM/AAAA, 31 mars 2019 ou date Excel)",
    "annee": "une année sur 4 chiffres",
    "code_structure": "un code de 4 à 20 caractères (A-Z, 0-9, -)",
    "siret": "un SIRET de 14 chiffres",
    "code_commune": "un code commune INSEE de 5 caractères",
    "action_code": "un code d'action du projet fédéral",
    "groupe_travail": "un code de groupe de travail du projet fédéral",
    "text": "un texte, pas une erreur de formule du tableur (#REF!, #N/A…)",
}
# Counts of the activity log, and the sub-counts of the participants (nb_centres is not one: a
# centre can be represented without anyone counted among the participants).
ACTIVITY_COUNTS = ("nb_participants", "nb_centres", "nb_habitants", "nb_benevoles", "nb_salaries",
                   "duree_heures")
ACTIVITY_SUBCOUNTS = ("nb_habitants", "nb_benevoles", "nb_salaries")
MAX_FILE_BYTES = 200 * 1024 * 1024
# dtype of a canonical column absent from the file, as its parser would have typed it
EMPTY_DTYPES = {"int": "Int64", "annee": "Int64", "decimal": "Float64", "bool": "boolean",
                "date": "datetime64[s]"}


def classify(path: Path) -> tuple[str, int] | None:
    """('senacs', 2021) for senacs_2021.csv; None when the name is not an extract's."""
    m = FILE_NAME.match(V.fold(path.stem))
    return (m[1], int(m[2])) if m else None


def sha256_of(path: Path) -> tuple[str, bytes]:
    """The file's bytes and their sha256; an unreadable file is an ExtractError in French."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ExtractError("ce n'est pas un fichier ordinaire (dossier, tube ou périphérique)")
        if info.st_size > MAX_FILE_BYTES:
            raise ExtractError(f"fichier de {fr_int(info.st_size // 2**20)} Mio, bien plus qu'un extrait : "
                               "vérifiez qu'il s'agit du bon fichier")
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractError(f"lecture impossible : {os_error_fr(exc)}") from exc
    return hashlib.sha256(data).hexdigest(), data


def os_error_fr(exc: OSError) -> str:
    """An operating-system error in French words."""
    reasons = {errno.EACCES: "droits de lecture insuffisants (donnez-les au compte qui lance l'observatoire)",
               errno.EPERM: "opération non permise par le système",
               errno.ENOENT: "fichier introuvable (déplacé, supprimé, ou lien cassé)",
               errno.EISDIR: "c'est un dossier",
               errno.EIO: "erreur d'entrée-sortie du disque (support abîmé ?)",
               errno.ELOOP: "lien symbolique en boucle"}
    return reasons.get(exc.errno, f"erreur du système n° {exc.errno}" if exc.errno else "erreur du système")


@dataclass
class ParsedExtract:
    path: Path
    kind: str
    year: int
    sha256: str
    data: bytes                       # the file's bytes, until they are archived
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)      # canonical typed columns + _ligne
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)     # long: _ligne, question, reponse, est_bloc
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    encoding: str = ""
    separator: str = ""
    blank_lines: int = 0
    duplicates: int = 0
    size: int = 0                     # the file's bytes
    revision: str = ""                # replacing a survey: what changed since the version it replaces

    def count(self, severity: str) -> int:
        return 0 if self.findings.empty else int((self.findings["severite"] == severity).sum())


def _findings(lines, annee, code, column, raw, expected, rule, severity, message) -> pd.DataFrame:
    n = len(lines)
    def col(v):
        return v if isinstance(v, (pd.Series, np.ndarray, list)) else [v] * n
    return pd.DataFrame({
        "ligne": col(lines), "annee_enquete": col(annee), "code_structure": col(code),
        "colonne": col(column), "valeur_brute": col(raw), "valeur_attendue": col(expected),
        "regle": col(rule), "severite": col(severity), "message": col(message)})


_PARSERS = {"int": V.parse_int, "annee": V.parse_year, "decimal": V.parse_number, "bool": V.parse_answer,
            "date": V.parse_date, "code_structure": V.parse_code_structure, "siret": V.parse_siret}


def _expected(column: Column) -> str:
    if column.type == "enum":
        return "une des valeurs : " + ", ".join(column.values)
    return EXPECTED.get(column.type, "un texte")


def _parse_columns(present: list[tuple[Column, pd.Series]], known_communes: frozenset[str],
                   codes: ProjectCodes) -> dict[str, tuple]:
    """name -> (parsed, failed, repaired-or-None, expected): see `_parsed_columns`."""
    return dict(_parsed_columns(present, known_communes, codes))


def _parsed_columns(present: list[tuple[Column, object]], known_communes: frozenset[str], codes: ProjectCodes):
    """(name, (parsed, failed, repaired-or-None, expected)) of each column, as soon as it is parsed.
    The columns of one type are parsed together, over their distinct values (an enum's spellings
    are its own). A raw column is a Series of text or None, an Arrow text array (see
    `V.iter_distinct`), or a function giving one, called only when the column is parsed."""
    groups: dict[tuple, list[tuple[Column, pd.Series]]] = {}
    for column, raw in present:
        key = (column.type, column.name) if column.type == "enum" else (column.type,)
        groups.setdefault(key, []).append((column, raw))
    for (t, *_), members in groups.items():
        if t == "enum":
            parser, args = V.parse_enum, (members[0][0].spellings,)
        elif t == "code_commune":
            parser, args = V.parse_code_commune, (known_communes,)
        elif t in ("action_code", "groupe_travail"):    # unknown codes are kept, and flagged later
            parser, args = V.parse_reference_code, (codes.actions if t == "action_code" else codes.groups,)
        else:
            parser, args = _PARSERS.get(t, V.parse_text), ()
        raws = (raw() if callable(raw) else raw for _, raw in members)
        for (column, _), result in zip(members, V.iter_distinct(parser, raws, *args)):
            parsed, failed, repaired = (*result, None) if len(result) == 2 else result
            if t in ("action_code", "groupe_travail"):
                failed = np.zeros(len(parsed), dtype=bool)
            yield column.name, (parsed, failed, repaired, _expected(column))


def _parse_column(column: Column, raw: pd.Series, known_communes: frozenset[str],
                  codes: ProjectCodes | None = None) -> tuple:
    """(parsed, failed, repaired-or-None, expected) of one column."""
    return _parse_columns([(column, raw)], known_communes, codes or project_codes())[column.name]


def read_table(path: Path, data: bytes, is_header) -> RawTable:
    """The file's table, read by what its bytes are (an .xlsx that is a CSV, or the reverse, is
    read all the same, with an `info` finding)."""
    suffix = path.suffix.lower()
    if suffix not in XLSX_SUFFIXES | CSV_SUFFIXES:
        raise ExtractError(f"format « {suffix or 'sans extension'} » non pris en charge : "
                           "enregistrez le fichier en .csv ou .xlsx")
    content = check_content(data)
    if content == "xlsx":
        table = read_xlsx(data, is_header)
    elif suffix in XLSX_SUFFIXES:      # a CSV saved as .xlsx, or nothing readable at all
        try:
            table = read_csv(path, data, is_header)
        except ExtractError:
            raise ExtractError(XLSX_UNREADABLE) from None
    else:
        table = read_csv(path, data, is_header)
    if (content == "xlsx") != (suffix in XLSX_SUFFIXES):
        what = "un classeur XLSX" if content == "xlsx" else "un fichier texte CSV"
        table.issues.insert(0, Issue(None, None, suffix, what, "extension_trompeuse", "info",
                                     f"le fichier porte l'extension {suffix} mais c'est {what} : lu comme tel."))
    return table


def parse_extract(path: Path, kind: str, year: int, sha256: str, data: bytes, config: Config,
                  known_communes: frozenset[str], progress=None, codes: ProjectCodes | None = None
                  ) -> ParsedExtract:
    out = ParsedExtract(path=path, kind=kind, year=year, sha256=sha256, data=data, size=len(data))
    columns = config.columns[kind]
    required = config.required(kind)
    codes = codes or project_codes()

    def header_of(kind):
        required = set(config.required(kind))

        def is_header(record) -> bool:
            names = {config.canonical_name(kind, str(c), year) for c in record if c}
            return len(names & required) >= min(2, len(required))
        is_header.expected = ", ".join(config.required(kind)[:3])     # named when no header is found
        is_header.knows = lambda cell: config.canonical_name(kind, cell, year) is not None
        return is_header

    try:
        table = read_table(path, data, header_of(kind))
    except NoHeaderError as exc:         # the other kind of extract, under this kind's name?
        other = "activites" if kind == "senacs" else "senacs"
        try:
            read_table(path, data, header_of(other))
        except ExtractError:
            raise exc from None
        what = "un journal d'activités" if other == "activites" else "une enquête SENACS"
        raise ExtractError(f"{exc} : ce fichier ressemble à {what} : s'il en est un, renommez-le "
                           f"{other}_{year}{path.suffix.lower()}") from None
    out.encoding, out.separator, out.blank_lines = table.encoding, table.separator, table.blank_lines
    raw = table.cells                 # the rows, column by column (readers.Columns)
    if not table.counted_fields:      # a spreadsheet's cells keep their column: beyond the header,
        widest = raw.width            # a column without a header
        table.header += [""] * (widest - len(table.header))

    mapping, extra_headers, unknown, unnamed = _map_header(table, kind, year, config)
    missing = [c for c in required if c not in mapping.values()]
    if missing:
        hints = [_old_name_hint(header, alias, year) for header in unknown
                 if (alias := config.alias_of_other_years(kind, header, year)) and alias.column in missing]
        raise ExtractError(("colonne obligatoire absente : " if len(missing) == 1 else
                            "colonnes obligatoires absentes : ") + ", ".join(missing)
                           + f" (en-tête lu à la ligne {table.header_line})"
                           + "".join(f" ; {hint}" for hint in hints))

    width = len(table.header)
    raw.pad(width)
    findings: list[pd.DataFrame] = []
    findings.extend(_field_counts(table, width, mapping))
    lines = pd.Series(table.line_numbers, dtype="int64")
    raw, lines, totals = _without_total_rows(raw, lines, {c: i for i, c in mapping.items()}, required)
    findings.extend(totals)

    typed, said_no, results = {}, {}, {}
    pending: list[tuple[str, pd.Series, np.ndarray, np.ndarray | None, str]] = []
    index_of = {c: i for i, c in mapping.items()}
    raw_of = {name: _RawColumn(raw, index_of[name]) for name in columns if name in index_of}
    for name, (parsed, failed, repaired, expected) in _parsed_columns(
            [(column, raw_of[name].arrow) for name, column in columns.items() if name in index_of],
            known_communes, codes):
        if columns[name].type == "bool":
            said_no[name] = bool(parsed.eq(False).any())
        # what the checks below read of the raw column is kept aside, the column let go (a
        # large extract's canonical columns are never all held twice, raw and typed)
        raw_of[name].detach(parsed, repaired, checkbox=columns[name].type == "bool" and not said_no[name])
        typed[name] = parsed.to_numpy() if len(parsed) else parsed
        results[name] = (failed, repaired, expected)
        del parsed
    pa.default_memory_pool().release_unused()
    for name, column in columns.items():
        if name in index_of:
            failed, repaired, expected = results.pop(name)
            pending.append((name, raw_of[name], failed, repaired, expected))
        else:                          # a column the file does not have: nothing to read
            typed[name] = pd.Series(pd.NA, index=raw.index, dtype=EMPTY_DTYPES.get(column.type, "string"))
        if progress:
            progress()
    typed = pd.DataFrame(typed, index=raw.index, copy=False)      # the columns as they are, not copied into blocks

    # Check-box columns: an empty cell means "no" (for respondents only, in a survey). `repondant`
    # first, on every row: a survey that ticks its respondents with 'x' leaves the others empty.
    def checkbox(name, raw_col) -> bool:       # (one "no" rules a check box out: only its 'x' are answers)
        return columns[name].type == "bool" and not said_no[name] and raw_col.checkbox

    for name, raw_col, *_ in pending:
        if name == "repondant" and checkbox(name, raw_col):
            typed.loc[raw_col.empty(), name] = False
    answered = (typed["repondant"].fillna(False).to_numpy(dtype=bool) if "repondant" in typed
                else np.ones(len(typed), dtype=bool))
    for name, raw_col, *_ in pending:
        if name != "repondant" and checkbox(name, raw_col):
            typed.loc[raw_col.empty() & answered, name] = False

    if kind == "senacs":
        _check_survey_year(typed["annee_enquete"], year, path)
    key_year = typed["annee_enquete"] if "annee_enquete" in typed else pd.Series([None] * len(typed))
    key_code = typed["code_structure"] if "code_structure" in typed else pd.Series([None] * len(typed))
    if table.issues:
        findings.append(_issue_findings(table, mapping))
    for name, raw_col, failed, repaired, expected in pending:
        if failed.any():
            rule_sev = "bloquant" if columns[name].required else "avertissement"
            bad_raw = _preview(raw_col()[failed].astype(str))
            findings.append(_findings(
                lines[failed].to_numpy(), key_year[failed].to_numpy(), key_code[failed].to_numpy(),
                name, bad_raw.to_numpy(), expected, "valeur_illisible", rule_sev,
                ("Ligne " + lines[failed].astype(str) + ", colonne « " + name + " » : valeur « "
                 + bad_raw.to_numpy() + " » illisible (attendu : " + expected + ") ; cellule laissée vide.").to_numpy()))
        absent = (columns[name].required & ~failed
                  & typed[name].isna().to_numpy(dtype=bool)) if len(typed) else failed
        if absent.any():
            findings.append(_findings(
                lines[absent].to_numpy(), key_year[absent].to_numpy(), key_code[absent].to_numpy(),
                name, raw_col()[absent].astype("string").to_numpy(), expected,
                "valeur_obligatoire_manquante", "bloquant",
                ("Ligne " + lines[absent].astype(str) + ", colonne « " + name
                 + " » : valeur obligatoire manquante (" + expected + ").").to_numpy()))
        if repaired is not None and repaired.any() and columns[name].type in ("bool", "enum"):
            before = raw_col()[repaired].astype(str).str.strip()
            after = (pd.Series(np.where(typed.loc[repaired, name].to_numpy(dtype=bool), "oui", "non"),
                               index=before.index) if columns[name].type == "bool"
                     else typed.loc[repaired, name].astype(str))
            findings.append(_findings(
                lines[repaired].to_numpy(), key_year[repaired].to_numpy(), key_code[repaired].to_numpy(),
                name, _preview(before).to_numpy(), after.to_numpy(), "reponse_avec_precision", "info",
                ("Ligne " + lines[repaired].astype(str) + ", colonne « " + name + " » : « " + _preview(before)
                 + " » lu « " + after + " » ; la précision qui suit n'est pas gardée dans cette colonne, "
                 "seulement dans ce constat.").to_numpy()))
        elif repaired is not None and repaired.any():
            before = raw_col()[repaired].astype(str)
            after = typed.loc[repaired, name].astype(str)
            findings.append(_findings(
                lines[repaired].to_numpy(), key_year[repaired].to_numpy(), key_code[repaired].to_numpy(),
                name, before.to_numpy(), after.to_numpy(), "code_commune_zero_restaure", "info",
                ("Ligne " + lines[repaired].astype(str) + " : code commune « " + before.to_numpy()
                 + " » complété en « " + after.to_numpy() + " » ("
                 + np.where(after.str.match("2[AB]").to_numpy() & before.str.strip().str.startswith("20").to_numpy(),
                            "ancien code de la Corse, département 20 avant 1976", "zéro perdu") + ").").to_numpy()))

    extra = _long_extra(raw, lines, extra_headers)
    for i in unnamed:
        if (~V.is_missing(raw.column(i))).any():
            label, _ = extra_headers[i]
            findings.append(_findings(
                [table.header_line], None, None, label, None, "un en-tête", "colonne_sans_entete", "avertissement",
                f"Ligne {table.header_line} : la colonne n° {i + 1} n'a pas d'en-tête mais contient des valeurs : "
                f"elles sont conservées à part (table raw_cellules_hors_schema, question « {label} »). Donnez-lui "
                "son en-tête dans le fichier (ou un alias dans config/alias_colonnes.yaml du dossier de l'observatoire) "
                "puis rechargez-le."))
    for header in unknown:
        alias = config.alias_of_other_years(kind, header, year)
        advice = (_old_name_hint(header, alias, year) + "." if alias else
                  "Ajoutez un alias dans config/alias_colonnes.yaml (dossier de l'observatoire) si elle correspond à une "
                  "colonne canonique.")
        # the old name of a column the file lacks (a revised export going back to the old header):
        # the year's values of that column are all aside, and its published figures would go blank
        lost = alias is not None and alias.column not in mapping.values()
        if lost:
            advice += (f" Le fichier n'a pas de colonne « {alias.column} » : tant qu'il n'est pas relu avec cet alias, "
                       f"toutes ses valeurs de « {alias.column} » manquent et l'année n'est pas publiée.")
        findings.append(_findings(
            [table.header_line], None, None, header, header, "une colonne connue ou un alias",
            "colonne_inconnue", "bloquant" if lost else "avertissement",
            f"Colonne « {header} » inconnue : ses valeurs sont conservées à part (table "
            f"raw_cellules_hors_schema). {advice}"))

    typed.insert(0, "_ligne", lines.to_numpy())
    typed, extra, dup_findings = _collapse_duplicates(typed, extra, [_RawColumn(raw, i) for i in extra_headers],
                                                      kind, columns)
    table.cells = raw = None          # the raw cells are read no more: their memory goes back to the system
    pa.default_memory_pool().release_unused()
    findings.extend(dup_findings)
    if kind == "senacs":
        findings.extend(_year_mismatch(typed, year))
    else:
        findings.extend(_activity_checks(typed, year, codes))

    out.rows, out.extra = typed.reset_index(drop=True), extra
    out.duplicates = sum(len(f) for f in dup_findings)
    out.findings = (pd.concat(findings, ignore_index=True) if findings
                    else pd.DataFrame(columns=FINDING_COLUMNS))
    if kind == "senacs" and not out.findings.empty:   # name the structure of the line wherever known
        for column, keys in (("annee_enquete", key_year), ("code_structure", key_code)):
            by_line = pd.Series(keys.to_numpy(), index=lines.to_numpy())
            by_line = by_line[~by_line.index.duplicated()]
            known = out.findings[column].astype(object).where(out.findings[column].notna())
            out.findings[column] = known.fillna(out.findings["ligne"].map(by_line))
    if kind == "activites":           # the log of year N describes year N
        out.findings["annee_donnees"] = year
    return out


class _RawColumn:
    """One raw column of the table, read as Python values (text or None) each time it is asked for:
    never all the columns at once. Once parsed, a canonical column is `detach`ed: only what the
    checks read of it is kept (its empty cells, its cells left unread or repaired, whether it is a
    check box), and the table lets it go."""

    def __init__(self, cells, index: int):
        self.cells, self.index = cells, index
        self.kept: tuple | None = None       # (rows, empty cells, positions, values) once detached
        self.checkbox = False

    def arrow(self):
        return self.cells.arrow(self.index)

    def __call__(self) -> pd.Series:
        if self.kept is None:
            return self.cells.column(self.index)
        rows, _, positions, values = self.kept
        out = np.full(rows, None, dtype=object)
        out[positions] = values
        return pd.Series(out, dtype=object)

    def empty(self) -> np.ndarray:
        return self.kept[1] if self.kept is not None else self.cells.is_empty(self.index)

    def detach(self, parsed: pd.Series, repaired: np.ndarray | None, checkbox: bool) -> None:
        """Keep the cells a finding may quote (those the parser left empty: unread, missing; and
        those it repaired), the empty ones, and whether the column is a check box (`checkbox`:
        worth asking); then drop the column from the table."""
        cells = self.cells.arrow(self.index)
        empty = cells.is_null().to_numpy(zero_copy_only=False)
        quoted = ~empty & parsed.isna().to_numpy(dtype=bool)
        if repaired is not None:
            quoted |= repaired
        positions = np.flatnonzero(quoted)
        values = cells.take(pa.array(positions, type=pa.int64())).to_numpy(zero_copy_only=False)
        if checkbox:                  # a check box is told by the values it holds, not by how often
            self.checkbox = V.checkbox_column(pd.Series(cells.unique().to_numpy(zero_copy_only=False), dtype=object))
        self.kept = (len(cells), empty, positions, values)
        del cells
        self.cells.drop(self.index)
        pa.default_memory_pool().release_unused()     # back to the system, for the typed columns


def _preview(texts: pd.Series) -> pd.Series:
    """Raw values as shown in findings: a long cell is cut, with its length."""
    long = texts.str.len() > PREVIEW_CHARS
    if not long.any():
        return texts
    return texts.where(~long, texts.str.slice(0, PREVIEW_CHARS) + "… ("
                       + texts.str.len().astype(str) + " caractères)")


def _issue_findings(table: RawTable, mapping: dict[int, str]) -> pd.DataFrame:
    """What the reader repaired, as findings naming the line and the column."""
    rows = []
    for issue in table.issues:
        column = None
        if issue.column is not None:
            column = mapping.get(issue.column) or (
                table.header[issue.column] if issue.column < len(table.header) and table.header[issue.column]
                else None)
        where = ", ".join(p for p in (f"Ligne {issue.line}" if issue.line else "",
                                      f"colonne « {column} »" if column else "") if p)
        rows.append({"ligne": issue.line, "annee_enquete": None, "code_structure": None, "colonne": column,
                     "valeur_brute": issue.raw, "valeur_attendue": issue.expected, "regle": issue.rule,
                     "severite": issue.severity,
                     "message": f"{where} : {issue.message}" if where
                     else issue.message[0].upper() + issue.message[1:]})
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def _field_counts(table: RawTable, width: int, mapping: dict[int, str]) -> list[pd.DataFrame]:
    """A CSV line with more values than the header has columns, or fewer (named by the first
    column left empty)."""
    out = []
    if table.overflow:
        sep = {";": "« ; »", ",": "« , »", "\t": "tabulation"}.get(table.separator, f"« {table.separator} »")
        hint = (" (un nombre à virgule dans un fichier séparé par des virgules ?)" if table.separator == "," else
                " (un texte qui le contient sans être entre guillemets ?)")
        out.append(_findings(
            [ln for ln, _, _ in table.overflow], None, None, None, [x for _, _, x in table.overflow],
            f"{width} champs", "champs_surnumeraires", "bloquant",
            [f"Ligne {ln} : {n} valeurs pour {width} colonnes d'en-tête : une cellule contient sans doute le "
             f"séparateur {sep}{hint} et décale les valeurs qui la suivent dans les colonnes voisines. La ligne est "
             "chargée telle quelle mais ses valeurs ne sont pas sûres : corrigez-la dans le fichier puis "
             f"rechargez-le. Valeurs au-delà de la dernière colonne : {x}" for ln, n, x in table.overflow]))
    if table.counted_fields:
        shorter = table.lengths < width
        short = list(zip(table.line_numbers[shorter].tolist(), table.lengths[shorter].tolist()))
        if short:
            out.append(_findings(
                [ln for ln, _ in short], None, None, [mapping.get(n, table.header[n]) for _, n in short],
                [fr_count(n, "champ", "champs") for _, n in short],
                f"{width} champs", "champs_manquants", "avertissement",
                [f"Ligne {ln} : {fr_count(n, 'valeur', 'valeurs')} pour {width} colonnes d'en-tête ; les colonnes "
                 f"à partir de « {table.header[n]} » sont laissées vides. Un séparateur manque-t-il, ou la ligne "
                 "est-elle coupée ?" for ln, n in short]))
    return out


def _map_header(table: RawTable, kind: str, year: int, config: Config):
    mapping: dict[int, str] = {}
    extra_headers: dict[int, tuple[str, bool]] = {}
    unknown: list[str] = []
    unnamed: list[int] = []           # columns with no header: their values are kept all the same
    seen: dict[str, str] = {}
    for i, header in enumerate(table.header):
        if not header:
            extra_headers[i] = (f"colonne_sans_entete_{i + 1}", False)
            unnamed.append(i)
            continue
        canonical = config.canonical_name(kind, header, year)
        if canonical:
            if canonical in seen:
                raise ExtractError(f"les colonnes « {seen[canonical]} » et « {header} » correspondent "
                                   f"toutes deux à « {canonical} » : gardez-en une seule")
            seen[canonical] = header
            mapping[i] = canonical
        elif V.fold(header).startswith("bloc_"):
            extra_headers[i] = (V.fold(header), True)
        else:
            extra_headers[i] = (header, False)
            unknown.append(header)
    return mapping, extra_headers, unknown, unnamed


# What a spreadsheet's total row says in its first cell: « Total », « TOTAL : », « Sous-total »…
_TOTAL_WORD = re.compile(r"^(?:sous_)?(?:total|totaux)(?:_general|_generaux)?(?:_\d{4})?$|^somme$|^ensemble$")


def _without_total_rows(raw, lines: pd.Series, index_of: dict[str, int], required: list[str]):
    """A total (or sub-total) row added under the table by hand is no structure and no activity:
    its first cell says « Total » and its first required column (annee_enquete, date) is empty, or
    it is that cell. It is left out, with a warning naming the line: counted, it would double
    every sum of the year. `raw` is the table's cells (readers.Columns), its total rows dropped in place."""
    key = raw.column(index_of[required[0]])
    # candidates first (a key cell missing or spelling a total): the first cell of every row of a
    # large extract is never looked for
    words = [v for v in key.dropna().unique() if isinstance(v, str) and _TOTAL_WORD.match(V.fold(v))]
    spelled = key.isin(words).to_numpy(dtype=bool)
    candidates = V.is_missing(key) | spelled
    if not candidates.any():
        return raw, lines, []
    first = pd.Series(None, index=raw.index, dtype="object")
    # the first filled cell of each candidate row, a column at a time
    for j in range(raw.width):
        unfilled = candidates & first.isna().to_numpy()
        if not unfilled.any():
            break
        first[unfilled] = raw.column(j)[unfilled]
    folded = first.map(lambda v: V.fold(v) if isinstance(v, str) else "")
    total = (folded.str.match(_TOTAL_WORD).to_numpy(dtype=bool)
             & (V.is_missing(key) | (key == first).to_numpy(dtype=bool)))
    if not total.any():
        return raw, lines, []
    if total.all():
        raise ExtractError("le fichier ne contient que des lignes de total, aucune ligne de structure ou "
                           "d'activité : est-ce le bon export ?")
    shown = first[total].astype(str).str.strip()
    finding = _findings(
        lines[total].to_numpy(), None, None, None, shown.to_numpy(), None, "ligne_de_total", "avertissement",
        ("Ligne " + lines[total].astype(str) + " : ligne de total (« " + shown + " ») ignorée : ce n'est ni une "
         "structure ni une activité, et la compter doublerait les sommes de l'année. Si c'en est une, "
         f"renseignez sa colonne {required[0]} puis rechargez le fichier.").to_numpy())
    keep = ~total
    raw.keep(keep)
    return raw, lines[keep].reset_index(drop=True), [finding]


def _old_name_hint(header: str, alias, year: int) -> str:
    """Advice for a header that data/config/alias_colonnes.yaml maps in other surveys only."""
    years = (str(alias.first_year) if alias.last_year in (None, alias.first_year)
             else f"{alias.first_year} à {alias.last_year}")
    return (f"« {header} » est l'ancien nom de « {alias.column} », admis dans alias_colonnes.yaml "
            f"pour les enquêtes {years} seulement : si l'export {year} l'emploie encore, étendez les années "
            "de cet alias, puis rechargez le fichier")


def _long_extra(raw, lines: pd.Series, extra_headers) -> pd.DataFrame:
    parts = []
    for index, (question, is_bloc) in extra_headers.items():
        values = raw.column(index)
        keep = ~V.is_missing(values)
        if keep.any():
            parts.append(pd.DataFrame({"_ligne": lines[keep].to_numpy(), "question": question,
                                       "reponse": values[keep].astype(str).str.strip().to_numpy(),
                                       "est_bloc": is_bloc}))
    if not parts:
        return pd.DataFrame({"_ligne": pd.Series(dtype="int64"), "question": pd.Series(dtype="string"),
                             "reponse": pd.Series(dtype="string"), "est_bloc": pd.Series(dtype="bool")})
    return pd.concat(parts, ignore_index=True)


def _collapse_duplicates(typed: pd.DataFrame, extra: pd.DataFrame, raw_extra: list,
                         kind: str, columns):
    """Rows equal on every value (canonical and extra cells: `raw_extra`, the raw columns out of
    the schema, each read when asked for) collapse into the first one."""
    # A hash of each row, column by column (the rows are never copied into one frame): only the rows
    # whose hash another row shares can be copies, and only those are compared value by value.
    row_hash = np.zeros(len(typed), dtype=np.uint64)
    for part in [typed[c] for c in columns] + raw_extra:
        part = part() if callable(part) else part
        with np.errstate(over="ignore"):
            row_hash = row_hash * np.uint64(1_000_003) ^ pd.util.hash_pandas_object(part, index=False).to_numpy()
    candidates = pd.Series(row_hash).duplicated(keep=False).to_numpy()
    dup = np.zeros(len(typed), dtype=bool)
    if not candidates.any():
        return typed, extra, []
    compared = pd.concat([typed.loc[candidates, list(columns)],
                          pd.DataFrame({f"_x{i}": column().to_numpy()[candidates] for i, column in enumerate(raw_extra)},
                                       index=typed.index[candidates])], axis=1)
    dup[candidates] = compared.duplicated(keep="first").to_numpy()
    if not dup.any():
        return typed, extra, []
    group = pd.util.hash_pandas_object(compared.astype("string"), index=False)
    first_line = pd.Series(typed["_ligne"].to_numpy()[candidates]).groupby(group.to_numpy()).transform("first")
    first_line = pd.Series(first_line.to_numpy()[dup[candidates]], index=typed.index[dup])
    dropped = typed[dup]
    finding = _findings(
        dropped["_ligne"].to_numpy(),
        dropped["annee_enquete"].to_numpy() if kind == "senacs" else None,
        dropped["code_structure"].to_numpy() if kind == "senacs" else None,
        None, None, None, "doublon_exact", "info",
        ("Ligne " + dropped["_ligne"].astype(str) + " : copie exacte de la ligne "
         + first_line.astype(str) + ", fusionnée avec elle.").to_numpy())
    kept_lines = set(typed.loc[~dup, "_ligne"])
    return typed[~dup], extra[extra["_ligne"].isin(kept_lines)], [finding]


def _check_survey_year(annee: pd.Series, year: int, path: Path) -> None:
    """The file of another survey, saved under this year's name, would replace this year's answers
    (and clash with its own survey's): rejected when most of its rows say another year."""
    declared = annee.dropna()
    if declared.empty:
        return
    other, count = declared.value_counts().index[0], int(declared.value_counts().iloc[0])
    if other != year and count > len(annee) / 2:
        raise ExtractError(
            f"{fr_count(count, 'ligne', 'lignes')} sur {fr_int(len(annee))} {'est' if count < 2 else 'sont'} "
            f"de l'enquête {other}, alors que le nom du fichier "
            f"dit {year} : le charger remplacerait les réponses de l'enquête {year}. S'il s'agit de l'enquête {other}, "
            f"renommez-le senacs_{other}{path.suffix.lower()} ; sinon corrigez la colonne annee_enquete.")


def _year_mismatch(typed: pd.DataFrame, year: int) -> list[pd.DataFrame]:
    """A row of another survey in this survey's file: kept out of `reponses` (it would clash with
    the other survey's own row) and held against the file's year, whose answer it should be."""
    bad = (typed["annee_enquete"].notna() & (typed["annee_enquete"] != year)).fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return []
    rows = typed[bad]
    return [_findings(
        rows["_ligne"].to_numpy(), year, rows["code_structure"].to_numpy(),
        "annee_enquete", rows["annee_enquete"].astype(str).to_numpy(), str(year),
        "annee_enquete_differente_du_fichier", "bloquant",
        ("Ligne " + rows["_ligne"].astype(str) + " : annee_enquete " + rows["annee_enquete"].astype(str)
         + f" dans le fichier de l'enquête {year} : la ligne est tenue hors des réponses. Corrigez l'année "
           "dans le fichier puis rechargez-le.").to_numpy())]


def _activity_checks(typed: pd.DataFrame, year: int, codes: ProjectCodes) -> list[pd.DataFrame]:
    """Row-level checks of the activity log: what an indicator would otherwise count wrongly."""
    out = []
    ligne = typed["_ligne"]

    def flag(mask, column, raw: pd.Series, expected, rule, severity, message: pd.Series):
        mask = pd.Series(mask, index=typed.index).fillna(False).to_numpy(dtype=bool)
        if mask.any():
            out.append(_findings(ligne[mask].to_numpy(), None, None, column, raw[mask].astype(str).to_numpy(),
                                 expected, rule, severity,
                                 ("Ligne " + ligne[mask].astype(str) + ", colonne « " + column + " » : "
                                  + message[mask]).to_numpy()))

    # the federation's project is config/projet_federal.yaml in its folder (the product's own file is
    # the demo's): name that one, and say so when none is declared rather than list no action
    project_file = "config/projet_federal.yaml du dossier de l'observatoire"
    known_actions = sorted(set(codes.actions.values()))
    action = typed["action_code"].astype("string")
    if known_actions:
        expected, why = ("une des actions : " + ", ".join(known_actions),
                         " absente du projet fédéral : l'activité est gardée mais n'est comptée dans aucune action. "
                         f"Corrigez le code dans le journal, ou ajoutez l'action au projet fédéral ({project_file}).")
    else:
        expected, why = ("un projet fédéral déclaré",
                         " : l'activité est gardée mais n'est comptée dans aucune action, faute de projet "
                         "fédéral déclaré (voir le constat du journal).")
    # without a declared project no code can be known: the log is said once (a warning of the
    # file), each line kept as an information, not as a point of attention of its own
    unknown = action.notna() & ~action.isin(known_actions)
    flag(unknown, "action_code", action, expected, "action_inconnue",
         "avertissement" if known_actions else "info", "action « " + action + " »" + why)
    if not known_actions and unknown.any():
        n = int(unknown.sum())
        out.append(_findings([None], None, None, "action_code", None, "un projet fédéral déclaré",
                             "projet_federal_absent", "avertissement",
                             [f"Journal d'activités {year} : aucun projet fédéral n'est déclaré ({project_file}) : "
                              + (f"ses {n} activités sont gardées mais ne sont comptées" if n > 1 else
                                 "son activité est gardée mais n'est comptée")
                              + " dans aucune action. Déclarez le projet pour compter ses actions."]))
    known_groups = sorted(set(codes.groups.values()))
    group = typed["groupe_travail"].astype("string")
    flag(group.notna() & ~group.isin(known_groups), "groupe_travail", group,
         "un des groupes : " + ", ".join(known_groups) if known_groups else "un projet fédéral déclaré",
         "groupe_travail_inconnu", "avertissement" if known_groups else "info",
         "groupe de travail « " + group + " » absent du projet fédéral : corrigez le code dans le journal, "
         f"ou ajoutez le groupe au projet fédéral ({project_file}).")
    for column in ACTIVITY_COUNTS:
        value = typed[column]
        flag(value < 0, column, _shown(value), "une valeur positive ou nulle", "valeur_negative", "bloquant",
             "valeur négative « " + _shown(value) + " » : un nombre ou une durée ne peut pas être "
             "négatif. Corrigez le journal d'activités puis rechargez-le.")
    participants = typed["nb_participants"]
    for column in ACTIVITY_SUBCOUNTS:
        value = typed[column]
        flag(value > participants, column, _shown(value), "au plus nb_participants",
             "superieur_aux_participants", "avertissement",
             _shown(value) + " pour " + _shown(participants)
             + pd.Series(np.where(participants.ge(2).fillna(False).astype(bool), " participants", " participant"),
                         index=participants.index,
                         dtype="string") + " en tout : "
             "ce sous-total ne peut pas dépasser le nombre de participants. Vérifiez les deux chiffres.")
    day = pd.to_datetime(typed["date"])
    text = day.dt.strftime("%d/%m/%Y").astype("string")
    flag(day.notna() & (day.dt.year != year), "date", text, f"une date de {year}", "date_hors_annee_du_fichier",
         "avertissement",
         "activité du " + text + f" dans le journal {year} : elle est comptée dans l'année du journal ({year}). "
         "Vérifiez la date (année mal saisie ?) ou rangez l'activité dans le journal de son année.")
    return out


def _shown(values: pd.Series) -> pd.Series:
    """Numbers as written in a message: 12, 3,5 (a count read into floats shows no « .0 »)."""
    return values.map(lambda v: "" if pd.isna(v) else str(int(v)) if float(v).is_integer()
                      else str(v).replace(".", ",")).astype("string")
