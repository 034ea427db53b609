"""The open data: the files (reports/opendata.py) and the page that describes them."""
from __future__ import annotations

from dataclasses import dataclass

from ..formatting import nombre
from ..opendata import DICTIONARY_TABLE, TABLES, XLSX_NAME, write_open_data
from .lookups import Lookups
from .writer import Page, Writer


@dataclass(kw_only=True)
class OpenData(Page):
    n_lignes: str
    tables: list[dict]
    classeur: str
    types: dict[str, str]


def render(look: Lookups, w: Writer) -> None:
    n = write_open_data(look.d, w.root / "donnees", look.con)
    w.copy_to_mirrors("donnees")
    w.render("donnees/index.html", "donnees.html", OpenData(
        titre="Données ouvertes", page_id="donnees", date_page=look.date_site, n_lignes=nombre(n),
        tables=[*TABLES, DICTIONARY_TABLE], classeur=XLSX_NAME,
        types={"string": "texte", "integer": "entier", "number": "nombre"}))

