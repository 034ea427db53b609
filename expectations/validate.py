"""Run the rules with Great Expectations and turn every failing row into a finding."""
from __future__ import annotations

import itertools
import logging
import math
import os
import re
import string
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa

from common.errors import then
from common.french import fr_number
from common.names import name_text
from ingest import warehouse as W
from ingest.config import SELECTION_FILE, score_thresholds
from ingest.corrections import CONFIRMATIONS_FILE, record_confirmations

from .frames import frame_slices
from .rules import BY_ID, RULES

SUITE_TITLES = {"reponses": "controles_reponses", "repondantes": "controles_repondantes",
                "mesures": "controles_mesures", "parts": "controles_indicateurs_parts",
                "sommes": "controles_indicateurs_sommes", "presence": "controles_indicateurs_presence"}
SEVERITY_RANK = {"bloquant": 0, "avertissement": 1, "info": 2}


@dataclass
class ValidationResult:
    n_findings: int             # the findings themselves are in the warehouse (constats_qualite)
    rules_run: int = 0
    rules_failed: list[str] = field(default_factory=list)
    data_docs: Path | None = None


IDENTIFIERS = ("annee", "code", "ligne", "indicateur", "niveau")


def _identifier(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _needed(rules, expectations, frame: pd.DataFrame) -> list[str]:
    """The columns of `frame` the rules read (GX copies the frame per row condition: a narrow
    frame is many times faster), in the frame's order."""
    names = _read(rules, expectations)
    return [c for c in frame.columns if c in names]


def _read(rules, expectations) -> set[str]:
    """The columns that rules and their expectations read: to validate, and to word a finding."""
    names = set(IDENTIFIERS_COLUMNS)
    for rule, exp in zip(rules, expectations):
        for template in (rule.message, rule.attendu, rule.colonne, rule.centre):
            names |= {f.removesuffix("__s") for _, f, _, _ in string.Formatter().parse(template) if f}
        for attr in ("column", "column_A", "column_B", "column_list"):
            value = getattr(exp, attr, None)
            names |= set(value) if isinstance(value, list) else {value} if value else set()
        condition = getattr(exp, "row_condition", None)
        condition = re.sub(r"'[^']*'", "", getattr(condition, "pass_through_filter", None) or str(condition or ""))
        names |= set(re.findall(r"[A-Za-z_]\w*", condition))
    return names


IDENTIFIERS_COLUMNS = ("annee_enquete", "annee_donnees", "code_structure", "ligne_source", "colonne")


class _Row(dict):
    """A failing row's values as its message shows them; `{name__s}` is « s » when the number
    `name` is 2 or more (« 1 valeur », « 3 valeurs »)."""

    def __init__(self, shown: dict, record: dict):
        super().__init__(shown)
        self.record = record

    def __missing__(self, key):
        if key.endswith("__s"):
            n = self.record.get(key[:-3])
            try:
                return "s" if n is not None and abs(float(n)) >= 2 else ""
            except (TypeError, ValueError):
                return ""
        return "?"


def _gx():
    """Great Expectations and its expectations, imported on first use (GX costs seconds to import)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


class _Checker:
    """One GX context for a whole validation: one suite per frame, each slice of a frame validated
    by its own validation definition (which keeps its result for the Data Docs). The suites run
    with GX's BASIC result format (counts, for the Data Docs); only a failing expectation is run
    again with the COMPLETE format, which lists every failing row and costs much more. The Data
    Docs are built once, from every suite and result, by `close`."""

    def __init__(self, docs_dir: Path | None, expectations: dict | None = None):
        gx, gxe = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx, self.docs_dir = gx, docs_dir
        self.expectations = expectations or {rule.regle: rule.build(gxe) for rule in RULES}
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        if docs_dir is not None:
            self.context.add_data_docs_site(site_name="observatoire", site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": _gx_literal(str(docs_dir))},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
        self.source = self.context.data_sources.add_pandas("entrepot")
        self.batches: dict[str, object] = {}

    def run(self, frame_name: str, frame: pd.DataFrame, start: int = 0, end: int | None = None) -> dict[str, list]:
        """{regle: failing index list} of the frame's rules on `frame` (a slice: rows `start` to
        `end` of the whole frame, named so in the Data Docs when it is not the whole)."""
        rules = [r for r in RULES if r.frame == frame_name]
        if not rules:
            return {}
        built = [self.expectations[rule.regle] for rule in rules]
        title = SUITE_TITLES[frame_name]
        if frame_name not in self.batches:
            # the suite is stored whole (adding its expectations one by one would store it again each time)
            self.context.suites.add(self.gx.ExpectationSuite(name=title, expectations=built))
            self.batches[frame_name] = self.source.add_dataframe_asset(name=frame_name) \
                .add_batch_definition_whole_dataframe("tout")
        suite = self.context.suites.get(title)
        batch = self.batches[frame_name]
        frame = frame[_needed(rules, built, frame)]
        name = title if start == 0 and end is None else f"{title} (lignes {start + 1} à {end})"
        definition = self.context.validation_definitions.add(self.gx.ValidationDefinition(name=name, data=batch,
                                                                                          suite=suite))
        result = definition.run(batch_parameters={"dataframe": frame}, result_format="BASIC")
        failing: dict[str, list] = {}
        failed = _failed(result.results)
        if failed:
            data = batch.get_batch(batch_parameters={"dataframe": frame})
            for regle in failed:
                complete = data.validate(self.expectations[regle], result_format="COMPLETE")
                _failed([complete])
                failing[regle] = list(complete.result.get("unexpected_index_list") or [])
        return failing

    def close(self) -> None:
        if self.docs_dir is not None:
            self.context.build_data_docs(site_names=["observatoire"])


def _run_gx(frames: dict[str, pd.DataFrame], docs_dir: Path | None, expectations: dict | None = None):
    """One GX suite per frame, each frame validated whole; returns {regle: failing index list}
    (see `_Checker`). `expectations`: the expectation of each rule, when they are built already."""
    checker = _Checker(docs_dir, expectations)
    failing: dict[str, list] = {}
    for frame_name, frame in frames.items():
        failing.update(checker.run(frame_name, frame))
    checker.close()
    return failing


def _gx_literal(text: str) -> str:
    """A path as GX's configuration takes it literally: GX replaces $NAME and ${NAME} by variables
    of the environment (a folder « $HOME » would be written elsewhere, « $y » fails), unless escaped."""
    return text.replace("$", "\\$")


def _exception(info) -> str | None:
    """GX's exception info: flat, or one entry per metric that could not be computed."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    return next((m for m in map(_exception, info.values()) if m), None)


def _failed(results) -> list[str]:
    failed = []
    for result in results:
        regle = result.expectation_config.meta["regle"]
        error = _exception(result.exception_info)
        if error:
            raise RuntimeError(f"la règle {regle} n'a pas pu s'exécuter : {error}")
        if not result.success:
            failed.append(regle)
    return failed


def _confirmed(confirmations: pd.DataFrame | None) -> dict:
    if confirmations is None or confirmations.empty:
        return {}
    return {(int(r["annee_enquete"]), r["code_structure"], r["colonne"]): r
            for r in confirmations.to_dict("records")}


def _ask(rule, record: dict) -> str:
    """What the federation asks the structure about a finding, in its words."""
    if rule.regle.endswith("_obligatoire"):
        return "Merci de nous indiquer cette information."
    if rule.demande:
        return rule.demande
    causes = record.get("causes")
    if isinstance(causes, str) and causes:
        # « Est-ce » takes any cause as worded (« S'agit-il de le chiffre… » did not read)
        return (f"Pouvez-vous vérifier ce chiffre ? Est-ce {causes} Merci de nous indiquer la valeur juste, "
                "ou de nous confirmer la valeur déclarée.")
    return "Pouvez-vous vérifier ces chiffres et nous indiquer la valeur juste, ou nous confirmer la valeur déclarée ?"


# A rule's failing rows are worded this many at a time: what is held while findings are built is
# one slice's columns, never a record per finding (a large extract has hundreds of thousands).
SLICE = 50_000
# The findings as they are built (one Arrow table per slice), before only the gravest of one rule
# group on one value is kept.
_BUILT = pa.schema([("ligne", pa.int64()), ("annee_enquete", pa.int64()), ("annee_donnees", pa.int64()),
                    ("code_structure", pa.string()), ("colonne", pa.string()), ("valeur_brute", pa.string()),
                    ("valeur_attendue", pa.string()), ("regle", pa.string()), ("severite", pa.string()),
                    ("message", pa.string()), ("nature", pa.string()), ("score", pa.float64()),
                    ("figure", pa.string()), ("constat_centre", pa.string()), ("demande_centre", pa.string())])
_SQL_TYPES = {pa.int64(): "BIGINT", pa.string(): "VARCHAR", pa.float64(): "DOUBLE"}
_FORMATTER = string.Formatter()


# how many times a value is its previous one or its peers' median: « 3 438 fois », « 2,5 fois »
FACTORS = ("facteur_pairs", "facteur_evolution", "facteur_unite")
# the measures' values a message quotes, amounts in euros where the measure is one (« 292,77 € »)
AMOUNTS = ("valeur", "valeur_reference", "mediane_pairs")


def _factor(value) -> str:
    """A ratio as a person says it: whole from 10 on, one decimal below (3 438,08 read as 3 438)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fr_number(value)
    if number != number or number in (float("inf"), float("-inf")):
        return fr_number(value)
    return fr_number(round(number)) if abs(number) >= 10 else fr_number(round(number, 1))


def _amount(value) -> str:
    """An amount in euros: as declared below 1,000 € (292,77 €), in whole euros above (1 006 566 €)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fr_number(value)
    if number != number:
        return fr_number(value)
    return f"{fr_number(round(number) if abs(number) >= 1000 else value)}\u00a0€"


def _plural(n) -> str:
    """`{name__s}`: « s » when the number `name` is 2 or more."""
    try:
        return "s" if n is not None and abs(float(n)) >= 2 else ""
    except (TypeError, ValueError):
        return ""


class _Shown:
    """A slice of failing rows, column by column: each column's values as the rule's templates
    show them (identifiers as they are, numbers in French), computed once per slice."""

    def __init__(self, rows: pd.DataFrame):
        self.rows, self.n, self._cache = rows, len(rows), {}

    def values(self, name: str) -> list:
        """The column's values as Python objects (as a record of the row would hold them)."""
        if name not in self._cache:
            self._cache[name] = self.rows[name].tolist() if name in self.rows.columns else [None] * self.n
        return self._cache[name]

    def shown(self, name: str) -> list[str] | str:
        key = ("shown", name)
        if key not in self._cache:
            if name in FACTORS and name in self.rows.columns:
                self._cache[key] = [_factor(v) for v in self.values(name)]
            elif name in AMOUNTS and name in self.rows.columns and "nature" in self.rows.columns:
                # a value, its previous one or its peers' median, in euros where the column is an amount
                self._cache[key] = [_amount(v) if nature == "euros" else fr_number(v)
                                    for v, nature in zip(self.values(name), self.values("nature"))]
            elif name in self.rows.columns:
                fmt = _identifier if name.startswith(IDENTIFIERS) else fr_number
                self._cache[key] = [fmt(v) for v in self.values(name)]
            elif name.endswith("__s"):
                self._cache[key] = [_plural(v) for v in self.values(name[:-3])] \
                    if name[:-3] in self.rows.columns else ""
            else:
                self._cache[key] = "?"
        return self._cache[key]

    def format(self, template: str) -> list[str] | str:
        """The template filled in for every row (a single text when it names no column)."""
        pieces: list = []
        for literal, name, spec, conversion in _FORMATTER.parse(template):
            if literal:
                pieces.append(literal)
            if name is not None:
                column = self.shown(name)
                if spec or conversion:
                    one = lambda v: _FORMATTER.format_field(_FORMATTER.convert_field(v, conversion), spec)
                    column = one(column) if isinstance(column, str) else [one(v) for v in column]
                pieces.append(column)
        if all(isinstance(p, str) for p in pieces):
            return "".join(pieces)
        columns = [p if isinstance(p, list) else itertools.repeat(p, self.n) for p in pieces]
        return ["".join(parts) for parts in zip(*columns)]


def _each(value, n: int) -> list:
    return value if isinstance(value, list) else [value] * n


def _rule_findings(rule, rows: pd.DataFrame, confirmed: dict) -> pa.Table:
    """The findings of `rule` on its failing `rows` (a slice), column by column."""
    n, shown = len(rows), _Shown(rows)
    column = shown.format(rule.colonne)
    if rule.colonne == "{colonne}":
        raw = shown.values("valeur")
    elif isinstance(column, str):
        raw = shown.values(column)
    else:
        raw = [shown.values(c)[i] if c in rows.columns else None for i, c in enumerate(column)]
    brute = [None if v is None or pd.isna(v) else name_text(_identifier(v)) for v in raw]
    message = _each(shown.format(rule.message), n)
    annees, codes, columns = shown.values("annee_enquete"), shown.values("code_structure"), _each(column, n)
    severite = [rule.severite] * n
    for i in range(n):
        key = (annees[i], codes[i], columns[i])
        confirmation = confirmed.get(key) if confirmed and key[0] is not None and not pd.isna(key[0]) else None
        if confirmation is not None and rule.severite != "info":
            severite[i] = "info"
            message[i] += (f" Valeur confirmée par {confirmation['auteur']} le {confirmation['date_confirmation']} : "
                           f"{confirmation['motif']}.")
        else:
            message[i] += " " + rule.conseil
    scores = [None if v is None or pd.isna(v) else float(v) for v in shown.values("score")]
    figures = [f if s is not None else None for f, s in zip(shown.values("figure_score"), scores)]
    if rule.centre:
        centre = _each(shown.format(rule.centre), n)
        if rule.regle.endswith("_obligatoire"):
            ask = [_ask(rule, {})] * n
        else:
            ask = [_ask(rule, {"causes": c}) for c in shown.values("causes")]
    else:
        centre = ask = [None] * n

    def ints(name: str) -> pa.Array:
        return pa.array(pd.array(rows[name], dtype="Int64") if name in rows.columns else [None] * n, pa.int64())

    return pa.table({
        "ligne": ints("ligne_source"), "annee_enquete": ints("annee_enquete"), "annee_donnees": ints("annee_donnees"),
        "code_structure": pa.array([None if c is None or pd.isna(c) else str(c) for c in codes], pa.string()),
        "colonne": pa.array(columns, pa.string()), "valeur_brute": pa.array(brute, pa.string()),
        "valeur_attendue": pa.array(_each(shown.format(rule.attendu), n), pa.string()),
        "regle": pa.array([rule.regle] * n, pa.string()), "severite": pa.array(severite, pa.string()),
        # a value of a file or folder name that is not UTF-8: its bytes written \xNN (as every step does)
        "message": pa.array([name_text(m) for m in message], pa.string()),
        "nature": pa.array([rule.nature if s == rule.severite else "info" for s in severite], pa.string()),
        "score": pa.array(scores, pa.float64()),
        "figure": pa.array([None if f is None or pd.isna(f) else str(f) for f in figures], pa.string()),
        "constat_centre": pa.array(centre, pa.string()), "demande_centre": pa.array(ask, pa.string()),
    }, schema=_BUILT)


def _slices(failing: dict[str, list], frames: dict[str, pd.DataFrame], confirmed: dict) -> Iterator[pa.Table]:
    for regle, indices in failing.items():
        rule = BY_ID[regle]
        frame = frames[rule.frame]
        for start in range(0, len(indices), SLICE):
            rows = frame.loc[list(indices[start:start + SLICE])]
            yield _rule_findings(rule, rows, confirmed)


@contextmanager
def _rule_groups(con):
    """The rule group of each rule, registered as `_groupes_regles` for `_outweighed`."""
    con.register("_groupes_regles", pd.DataFrame({"regle": [r.regle for r in RULES],
                                                  "groupe": [r.groupe or r.regle for r in RULES]}))
    with then(lambda: con.unregister("_groupes_regles")):
        yield


def _outweighed(source: str, key: str, mine: str = "") -> str:
    """The `key` of each finding of `source` that a graver finding of its rule group on the same
    value outweighs (the first by `key` kept among equals: the order they were stored in); a
    finding of no structure is never outweighed. Reads `_groupes_regles` (`_rule_groups`)."""
    rank = "CASE f.severite " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SEVERITY_RANK.items()) + " END"
    return f"""SELECT f.{key} FROM {source} AS f JOIN _groupes_regles AS g USING (regle)
        WHERE {mine} f.code_structure IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY f.annee_enquete, f.code_structure, f.colonne, g.groupe
                                   ORDER BY {rank}, f.{key}) > 1"""


def append_findings(con, failing: dict[str, list], frames: dict[str, pd.DataFrame], confirmed: dict,
                    table: str = "constats_qualite") -> None:
    """The findings of `failing` (rows of `frames`), appended to `table` a slice at a time."""
    extra = ", 'validation' AS etape, 'senacs' AS type_extrait, now()::TIMESTAMP AS cree_le" \
        if table == "constats_qualite" else ""
    for part in _slices(failing, frames, confirmed):
        con.register("_tranche", part)
        with then(lambda: con.unregister("_tranche")):
            con.execute(f"INSERT INTO {table} BY NAME SELECT *{extra} FROM _tranche")
        del part


def drop_outweighed(con, table: str = "constats_qualite") -> None:
    """Of one rule group on one value only the gravest finding is kept (the first stored among
    equals)."""
    mine = "f.etape = 'validation' AND" if table == "constats_qualite" else ""
    with _rule_groups(con):
        con.execute(f"DELETE FROM {table} WHERE rowid IN ({_outweighed(table, 'rowid', mine)})")


def store_findings(con, failing: dict[str, list], frames: dict[str, pd.DataFrame],
                   confirmations: pd.DataFrame | None = None, table: str = "constats_qualite") -> int:
    """One finding per failing row (of one rule group on one value only the gravest is kept; a
    value its structure confirmed, with an active confirmation, turns its finding into `info`),
    built a slice of rows at a time and appended to `table` of `con` (the warehouse's findings,
    as the validation's, whose earlier ones the caller removed: in the caller's transaction).
    Nothing holds every finding, neither Python nor a temporary table: each slice goes to the
    table (which DuckDB writes out beyond its memory limit), then the findings a graver one of
    their group outweighs are deleted. Returns how many are kept."""
    before = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    append_findings(con, failing, frames, _confirmed(confirmations), table)
    drop_outweighed(con, table)
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] - before


def findings_for(failing: dict[str, list], frames: dict[str, pd.DataFrame],
                 confirmations: pd.DataFrame | None = None) -> pd.DataFrame:
    """The findings of `failing` as a DataFrame (built as `store_findings` builds them, in an
    in-memory DuckDB): for a few findings (tests, notebooks); a validation stores them instead."""
    import duckdb

    with duckdb.connect() as con:
        columns = ", ".join(f'"{f.name}" {_SQL_TYPES[f.type]}' for f in _BUILT)
        con.execute(f"CREATE TABLE constats ({columns})")
        store_findings(con, failing, frames, confirmations, table="constats")
        return con.execute("SELECT * FROM constats ORDER BY rowid").df()


class _Spool:
    """The validation's findings as they are built, a slice at a time, in a Parquet file of
    DuckDB's temporary folder (beside the warehouse), then stored in constats_qualite by one
    statement, without those a graver finding of their group on the same value outweighs (the
    first written kept among equals). Rows appended by many statements to a table in an open
    transaction stay in memory until it commits (2.7 million findings of a 195 MiB survey file
    took 2 GB); one statement reading a file writes them out as it goes."""

    def __init__(self, con):
        self.con, self.rows, self.writer = con, 0, None

    def __enter__(self):
        import tempfile

        import pyarrow.parquet as pq

        folder = Path(self.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] or ".")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="constats-", dir=folder))
        self.path = self.folder / "constats.parquet"
        self.writer = pq.ParquetWriter(self.path, _BUILT.append(pa.field("_ordre", pa.int64())))
        return self

    def write(self, findings: pa.Table) -> None:
        n = findings.num_rows
        self.writer.write_table(findings.append_column("_ordre", pa.array(range(self.rows, self.rows + n), pa.int64())))
        self.rows += n

    def store(self) -> int:
        """Stores the findings written (in the caller's transaction); returns how many are kept."""
        self.writer.close()
        if not self.rows:
            return 0
        source = "read_parquet('" + str(self.path).replace("'", "''") + "')"
        before = self.con.execute("SELECT count(*) FROM constats_qualite").fetchall()[0][0]
        with _rule_groups(self.con):
            self.con.execute(f"""
                INSERT INTO constats_qualite BY NAME
                SELECT f.* EXCLUDE (_ordre), 'validation' AS etape, 'senacs' AS type_extrait, now()::TIMESTAMP AS cree_le
                FROM {source} AS f
                WHERE f._ordre NOT IN ({_outweighed(source, '_ordre')})""")
        return self.con.execute("SELECT count(*) FROM constats_qualite").fetchall()[0][0] - before

    def __exit__(self, *exc):
        import shutil

        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:   # already closed
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
        return False


def validate(con, docs_dir: Path | None = None, confirmations: Path = CONFIRMATIONS_FILE,
             selection: Path = SELECTION_FILE) -> ValidationResult:
    """Run every rule over the warehouse; replace the validation findings. Runs in the
    caller's transaction. `selection`: the selective-editing settings (thresholds).
    Bounded memory: as ingest and dbt, DuckDB holds at most W.MEMORY_LIMIT (beyond, it writes to
    its temporary files beside the warehouse); the frames reach GX a slice at a time (dbt computed
    the scores, int_controles__scores) and each slice's findings are written to a file beside the
    warehouse, stored at the end in one statement (`_Spool`)."""
    con.execute(f"SET memory_limit = '{W.MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")     # every frame is read in an order of its own
    W.add_selection_columns(con)
    active = record_confirmations(con, confirmations)
    _, gxe = _gx()
    expectations = {rule.regle: rule.build(gxe) for rule in RULES}
    columns: dict[str, set[str]] = {"mesures": {"score", "figure_score", "causes"}}
    for rule in RULES:      # per frame, the columns the rules read and the findings name
        columns.setdefault(rule.frame, {"valeur"}).update(
            _read([rule], [expectations[rule.regle]]) | {rule.colonne})
    con.execute("DELETE FROM constats_qualite WHERE etape = 'validation'")
    checker, confirmed, failed = _Checker(docs_dir, expectations), _confirmed(active), set()
    with _Spool(con) as spool:
        for name, start, end, part in frame_slices(con, columns, score_thresholds(selection)):
            failing = checker.run(name, part, start, end)
            failed |= set(failing)
            for findings in _slices(failing, {name: part}, confirmed):
                spool.write(findings)
            del part, failing
        checker.close()
        found = spool.store()
    return ValidationResult(n_findings=found, rules_run=len(RULES), rules_failed=sorted(failed),
                            data_docs=docs_dir)
