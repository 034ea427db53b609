"""The extract schema (ingest/schema.yaml) and the analyst's header aliases
(data/config/alias_colonnes.yaml), loaded once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from common import yamls
from common.errors import ObservatoireError
from .values import fold

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SCHEMA_FILE = PACKAGE_DIR / "schema.yaml"
ALIAS_FILE = PROJECT_DIR / "data" / "config" / "alias_colonnes.yaml"
REFERENCE_DIR = PROJECT_DIR / "data" / "reference"
KINDS = ("senacs", "activites")

SQL_TYPES = {"int": "BIGINT", "decimal": "DOUBLE", "bool": "BOOLEAN", "date": "DATE",
             "annee": "INTEGER"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    block: str | None = None
    values: dict[str, list[str]] = field(default_factory=dict)

    @property
    def sql_type(self) -> str:
        return SQL_TYPES.get(self.type, "VARCHAR")

    @cached_property
    def spellings(self) -> dict[str, str]:
        """folded spelling -> canonical enum value"""
        out = {}
        for canonical, spelled in self.values.items():
            out[fold(canonical)] = canonical
            for s in spelled:
                out[fold(s)] = canonical
        return out


@dataclass(frozen=True)
class Alias:
    header: str
    column: str
    first_year: int | None
    last_year: int | None

    def applies(self, year: int | None) -> bool:
        if year is None or self.first_year is None:
            return True
        return self.first_year <= year <= (self.last_year or self.first_year)


def _years(spec) -> tuple[int | None, int | None]:
    if spec is None:
        return None, None
    text = str(spec).strip()
    if m := re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", text):
        return int(m[1]), int(m[2])
    if re.fullmatch(r"\d{4}", text):
        return int(text), int(text)
    raise ValueError(text)


# How a header is matched to its column, beyond the schema and the aliases: part of the reading
# fingerprint (ingest.load.reading_fingerprint), so that files loaded under an older rule are read
# again. Change it with the rule.
HEADER_MATCHING = "2: sans articles ni prépositions, nombre = nb"

# French articles and prepositions left out of a folded header when it names nothing as written.
_SMALL_WORDS = frozenset({"de", "du", "des", "d", "la", "le", "les", "l"})


def _without_small_words(folded: str) -> str:
    """nombre_de_participants -> nb_participants, groupe_de_travail -> groupe_travail."""
    return "_".join("nb" if w == "nombre" else w for w in folded.split("_") if w not in _SMALL_WORDS)


class Config:
    def __init__(self, schema_file: Path = SCHEMA_FILE, alias_file: Path = ALIAS_FILE):
        schema = yamls.safe_load(schema_file.read_text(encoding="utf-8"))
        self.columns: dict[str, dict[str, Column]] = {
            kind: {name: Column(name=name, type=spec["type"], required=bool(spec.get("requis")),
                                block=spec.get("bloc"), values=spec.get("valeurs") or {})
                   for name, spec in schema[kind].items()}
            for kind in KINDS}
        self.alias_file = alias_file
        self.aliases = self._load_aliases(alias_file)

    def _load_aliases(self, path: Path) -> dict[str, list[Alias]]:
        try:
            raw = yamls.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            return {kind: [] for kind in KINDS}
        except yaml.YAMLError as exc:
            raise ObservatoireError(f"Fichier d'alias {path} illisible : {exc}") from exc
        out: dict[str, list[Alias]] = {}
        for kind in KINDS:
            out[kind] = []
            for i, entry in enumerate(raw.get(kind) or [], start=1):
                try:
                    first, last = _years(entry.get("annees"))
                    header, column = fold(entry["entete"]), entry["colonne"]
                except (KeyError, ValueError, AttributeError):
                    raise ObservatoireError(
                        f"{path}, section « {kind} », entrée n° {i} : il faut « entete », « colonne » "
                        f"et éventuellement « annees » (ex. 2018 ou 2018-2020), reçu {entry!r}") from None
                if column not in self.columns[kind]:
                    raise ObservatoireError(
                        f"{path}, section « {kind} », entrée n° {i} : « {column} » n'est pas une colonne "
                        "canonique (voir ingest/schema.yaml)")
                out[kind].append(Alias(header, column, first, last))
        return out

    def canonical_name(self, kind: str, header: str, year: int | None) -> str | None:
        """The canonical column a raw header stands for in that year, or None. A header written as
        a French phrase (« Groupe de travail », « Code de la commune », « Nombre de participants ») is
        also tried without its articles and prepositions and with « nombre » as « nb », when it names
        nothing as written."""
        folded = fold(header)
        for name in dict.fromkeys((folded, _without_small_words(folded))):
            if name in self.columns[kind]:
                return name
            for alias in self.aliases[kind]:
                if alias.header == name and alias.applies(year):
                    return alias.column
        return None

    def alias_of_other_years(self, kind: str, header: str, year: int | None) -> Alias | None:
        """The alias a header that stands for nothing this year is in other surveys (an old name
        still used by this year's export), or None."""
        folded = fold(header)
        return next((a for a in self.aliases[kind] if a.header == folded and not a.applies(year)), None)

    def required(self, kind: str) -> list[str]:
        return [c.name for c in self.columns[kind].values() if c.required]


SELECTION_FILE = PROJECT_DIR / "data" / "config" / "selection.yaml"
SCORE_LEVELS = ("national", "departement", "territoire", "commune")


def score_thresholds(path: Path = SELECTION_FILE) -> dict[str, float]:
    """The selective-editing thresholds (data/config/selection.yaml): per level of published
    figure, the score from which a suspicious value must be resolved before publishing. A level
    the file leaves out keeps the product's default; anything unreadable is a French error that
    names the file, the key and what is expected."""
    defaults = yamls.safe_load(SELECTION_FILE.read_text(encoding="utf-8"))["seuils_score"]
    if path == SELECTION_FILE or not path.exists():
        return {k: float(v) for k, v in defaults.items()}
    try:
        data = yamls.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ObservatoireError(f"{path} : fichier YAML illisible ({exc.__class__.__name__}).") from None
    given = data.get("seuils_score") if isinstance(data, dict) else None
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ObservatoireError(f"{path} : « seuils_score » doit associer un niveau ({', '.join(SCORE_LEVELS)}) "
                                "à un seuil entre 0 et 1.")
    out = {k: float(v) for k, v in defaults.items()}
    for level, value in given.items():
        if level not in SCORE_LEVELS:
            raise ObservatoireError(f"{path} : seuils_score.{level} : niveau inconnu (attendu : "
                                    f"{', '.join(SCORE_LEVELS)}).")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise ObservatoireError(f"{path} : seuils_score.{level} : « {value} » n'est pas un seuil valide "
                                    "(attendu : un nombre entre 0 et 1, par exemple 0.05 pour 5 %).")
        out[level] = float(value)
    return out
