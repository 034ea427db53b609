"""What the sites show, read once from the publication snapshot into plain Python objects.

Both sites read the frozen public marts (schema `publie`) and `publications`: dbt has already
computed every figure and withheld what may not be shown. The internal site adds what only the
federation sees, from the current build (structures, their medians, the quality findings).
"""
from __future__ import annotations

import re
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from common.errors import ObservatoireError

PUBLIC_LEVELS = ("commune", "territoire", "departement", "national")

# One published cell with the reading inputs of its trend (pub_indicateurs + pub_tendances).
CELL_COLUMNS = ("annee", "niveau", "code", "indicateur", "valeur", "n_structures", "n_total", "unite_evolution",
                "verdict_un_an", "evolution_un_an", "evolution_ensemble_un_an", "n_panel_un_an",
                "n_structures_precedente", "annee_reference", "verdict_reference", "evolution_reference",
                "evolution_ensemble_reference", "n_panel_reference", "n_structures_reference", "valeur_reference",
                "cible", "annee_cible", "valeur_attendue", "statut_cible", "motif_sans_verdict_un_an",
                "motif_sans_verdict_reference", "valeur_pour_10000", "annee_comparee_un_an")
Cell = namedtuple("Cell", CELL_COLUMNS)
UNIT_COLUMNS = ("annee", "niveau", "code", "libelle", "niveau_parent", "code_parent", "libelle_parent",
                "nb_structures", "nb_cs", "nb_evs", "nb_publies", "nb_secrets", "confondu", "principal",
                "a_une_fiche", "niveau_comparaison", "code_comparaison", "nb_structures_enfants")
Unit = namedtuple("Unit", UNIT_COLUMNS)
# a structure of the internal site (dim_structures)
StructureRow = namedtuple("StructureRow", ("code_structure", "nom_structure", "type_structure", "code_commune",
                                           "nom_commune"))


@dataclass
class SiteData:
    audience: str
    annees: list[int]                               # published data years
    publications: dict[int, dict]                   # annee -> statut, publie_le, nb_avertissements
    federation: dict
    registre: dict[str, dict]                       # indicateur -> pub_registre row, in registry order
    libelles: dict[str, dict[str, str]]             # domaine -> code -> French label
    axes: list[dict]                                # the federal project: axes and their actions
    unites: dict[int, dict[tuple, Unit]]            # annee -> (niveau, code) -> unit
    cells: dict[tuple, dict[str, Cell]]             # (annee, niveau, code) -> indicateur -> published cell
    completude: dict[int, list[dict]]               # annee -> blocks of the main unit
    nationale: dict[int, list[dict]]                # annee -> national comparison of the main unit
    tableau: list[dict]                             # pub_tableau_de_bord, main unit, every year
    secrets: set[tuple] = field(default_factory=set)  # (annee, niveau, code, indicateur) withheld, upper levels
    messages: dict[tuple, list[dict]] = field(default_factory=dict)  # (annee, niveau, code) -> key messages
    evenements: dict[int, list[str]] = field(default_factory=dict)   # data year -> declared events
    centres: dict[tuple, list[dict]] = field(default_factory=dict)   # (annee, niveau, code) -> its centres
    structures: list[StructureRow] = field(default_factory=list)
    indicateurs_structure: list[str] = field(default_factory=list)  # those a structure's page compares
    parametres: dict = field(default_factory=dict)  # pub_parametres: the disclosure minimum, its words...
    enquetes: dict[int, str] = field(default_factory=dict)  # data year -> the survey(s) describing it (pub_unites)
    inconnus: list[str] = field(default_factory=list)  # what the snapshot holds that no registry or label names

    def principal(self, annee: int) -> Unit | None:
        return next((u for u in self.unites.get(annee, {}).values() if u.principal), None)

    def unit(self, annee: int, niveau: str, code: str) -> Unit | None:
        return self.unites.get(annee, {}).get((niveau, code))


def _dicts(con, sql: str, params=None) -> list[dict]:
    names, rows = _rows(con, sql, params)
    return [dict(zip(names, row)) for row in rows]


# DuckDB types read through Arrow as DuckDB's own fetchall() reads them (HUGEINT once cast back to int)
_ARROW_SAFE = re.compile(r"VARCHAR|BOOLEAN|(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DOUBLE|DATE|TIMESTAMP|DECIMAL\(\d+,\d+\)")


def _rows(con, sql: str, params=None) -> tuple[list[str], list[tuple]]:
    """The column names and rows of a query, as fetchall() gives them. Read column-wise through
    Arrow, each text column through its distinct values (one Python string per value, not per
    cell): several times faster on the hundreds of thousands of published cells."""
    relation = con.sql(sql, params=params)
    types = [str(t) for t in relation.types]
    if not all(_ARROW_SAFE.fullmatch(t) for t in types):
        return relation.columns, relation.fetchall()
    columns = []
    for column, kind in zip(relation.to_arrow_table().columns, types):
        if kind == "VARCHAR":
            encoded = pc.dictionary_encode(column).combine_chunks()
            values = encoded.dictionary.to_pylist() + [None]
            columns.append([values[i] for i in encoded.indices.fill_null(len(values) - 1).to_pylist()])
        elif kind == "HUGEINT":
            columns.append(column.cast(pa.int64()).to_pylist())
        else:
            columns.append(column.to_pylist())
    return relation.columns, list(zip(*columns))


def _columns(con, table: str) -> set[str]:
    schema, name = table.split(".")
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()}


def load(con, audience: str, structure_indicators: list[str] | None = None) -> SiteData:
    # a published year is described as it was when it was published (publie.publications)
    publications = {r["annee"]: r for r in _dicts(con, """
        SELECT p.annee, p.statut, coalesce(f.publie_le, p.publie_le) AS publie_le,
               coalesce(f.nb_avertissements, p.nb_avertissements) AS nb_avertissements
        FROM publications AS p LEFT JOIN publie.publications AS f USING (annee) ORDER BY p.annee""")}
    annees = [r[0] for r in con.execute("SELECT DISTINCT annee FROM publie.pub_indicateurs ORDER BY annee").fetchall()]
    registre_columns = _columns(con, "publie.pub_registre")
    order = "ordre, indicateur" if "ordre" in registre_columns else "indicateur"
    registre = {r["indicateur"]: r for r in _dicts(con, f"SELECT * FROM publie.pub_registre ORDER BY {order}")}
    libelles: dict[str, dict[str, str]] = defaultdict(dict)
    for domaine, code, libelle in con.execute("SELECT domaine, code, libelle FROM publie.pub_libelles "
                                              "ORDER BY domaine, ordre").fetchall():
        libelles[domaine][code] = libelle
    axes: dict[str, dict] = {}
    for r in _dicts(con, "SELECT * FROM publie.pub_projet ORDER BY ordre_axe, code_action"):
        axe = axes.setdefault(r["code_axe"], {"code": r["code_axe"], "libelle": r["libelle_axe"], "actions": []})
        if r["code_action"]:
            axe["actions"].append({"code": r["code_action"], "libelle": r["libelle_action"]})
    federation = _dicts(con, "SELECT * FROM publie.pub_federation")[0] \
        if _columns(con, "publie.pub_federation") else {}
    cols = _columns(con, "publie.pub_unites")   # a snapshot frozen before a column existed lacks it
    secrets = "nb_indicateurs_secrets" if "nb_indicateurs_secrets" in cols else "0"
    confondu = "confondu_avec_parent" if "confondu_avec_parent" in cols else "false"
    # whether a unit has a sheet, and what it is compared with: dbt decides (pub_unites); the rows of a
    # year frozen before it published them (a year held back since) are read by the rule dbt had then
    fiche = "a_une_fiche" if "a_une_fiche" in cols else "NULL"
    versus = "niveau_comparaison, code_comparaison" if "code_comparaison" in cols else "NULL, NULL"
    below = "nb_structures_enfants" if "nb_structures_enfants" in cols else "NULL"
    unites: dict[int, dict[tuple, Unit]] = defaultdict(dict)
    for row in _rows(con, f"""
            SELECT annee, niveau, code, libelle, niveau_parent, code_parent, libelle_parent, nb_structures, nb_cs,
                   nb_evs, coalesce(nb_indicateurs_publies, 0), coalesce({secrets}, 0), coalesce({confondu}, false),
                   est_principal,
                   coalesce({fiche}, NOT est_principal AND NOT coalesce({confondu}, false)
                                     AND (niveau <> 'commune' OR coalesce(nb_indicateurs_publies, 0) > 0)),
                   {versus}, {below}
            FROM publie.pub_unites ORDER BY annee, niveau, libelle, code""")[1]:
        unit = Unit._make(row)
        unites[unit.annee][(unit.niveau, unit.code)] = unit
    cells: dict[tuple, dict[str, Cell]] = defaultdict(dict)
    # a snapshot frozen before a column existed lacks it: read as empty
    present = {"i": _columns(con, "publie.pub_indicateurs"), "t": _columns(con, "publie.pub_tendances")}
    own = ('annee', 'niveau', 'code', 'indicateur', 'valeur', 'n_structures', 'n_total', 'valeur_pour_10000')
    for cell in map(Cell._make, _rows(con, f"""
            SELECT {', '.join((a + '.' + c if c in present[a] else 'NULL') for c in CELL_COLUMNS
                              for a in ['i' if c in own else 't'])}
            FROM publie.pub_indicateurs AS i
            LEFT JOIN publie.pub_tendances AS t USING (indicateur, annee, niveau, code)
            WHERE i.statut = 'publie'""")[1]):
        cells[(cell.annee, cell.niveau, cell.code)][cell.indicateur] = cell
    principal = {a: next(((u.niveau, u.code) for u in us.values() if u.principal), None) for a, us in unites.items()}
    completude: dict[int, list[dict]] = defaultdict(list)
    for r in _dicts(con, "SELECT * FROM publie.pub_completude ORDER BY annee, bloc"):
        if principal.get(r["annee"]) == (r["niveau"], r["code"]):
            completude[r["annee"]].append(r)
    nationale: dict[int, list[dict]] = defaultdict(list)
    for r in _dicts(con, "SELECT * FROM publie.pub_comparaison_nationale ORDER BY annee, indicateur"):
        if principal.get(r["annee"]) == (r["niveau"], r["code"]) and r["indicateur"] in registre:
            nationale[r["annee"]].append(r)
    tableau = [r for r in _dicts(con, "SELECT * FROM publie.pub_tableau_de_bord ORDER BY ordre_axe, indicateur, annee")
               if principal.get(r["annee"]) == (r["niveau"], r["code"])]
    secrets = set(_rows(con, """SELECT annee, niveau, code, indicateur FROM publie.pub_indicateurs
                                WHERE statut = 'secret' AND niveau IN ('departement', 'national')""")[1])
    data = SiteData(audience, annees, publications, federation, registre, dict(libelles), list(axes.values()),
                    dict(unites), dict(cells), dict(completude), dict(nationale), tableau, secrets,
                    parametres=_parametres(con))
    # the survey(s) whose answers each data year's figures come from (dbt's pub_unites.enquetes; none
    # for a year the activity log alone describes, nor in a snapshot frozen before the column existed)
    if "enquetes" in cols:
        data.enquetes = dict(con.execute("SELECT DISTINCT annee, enquetes FROM publie.pub_unites "
                                         "WHERE enquetes IS NOT NULL").fetchall())
    # a snapshot frozen before the key messages existed has none: its pages open without them
    if _columns(con, "publie.pub_messages"):
        messages: dict[tuple, list[dict]] = defaultdict(list)
        for r in _dicts(con, "SELECT * FROM publie.pub_messages ORDER BY annee, niveau, code, ordre"):
            messages[(r["annee"], r["niveau"], r["code"])].append(r)
        data.messages = dict(messages)
    data.inconnus = unknown_codes(con)
    if _columns(con, "publie.pub_evenements"):
        evenements: dict[int, list[str]] = defaultdict(list)
        for annee, libelle in con.execute("SELECT annee, libelle FROM publie.pub_evenements "
                                          "ORDER BY annee, ordre").fetchall():
            evenements[annee].append(libelle)
        data.evenements = dict(evenements)
    if _columns(con, "publie.pub_centres"):
        centres: dict[tuple, list[dict]] = defaultdict(list)
        for r in _dicts(con, """SELECT annee, niveau, code, nom_structure, type_structure, libelle_type, commune
                                FROM publie.pub_centres ORDER BY annee, niveau, code, commune, nom_structure"""):
            centres[(r["annee"], r["niveau"], r["code"])].append(r)
        data.centres = dict(centres)
    if audience == "interne":
        _load_internal(con, data, structure_indicators or [])
    return data


# (published table, column, what it names, where its codes are named: the registry or a label domain)
_NAMED = [("pub_indicateurs", "indicateur", "indicateur", None),
          ("pub_tendances", "indicateur", "indicateur", None),
          ("pub_comparaison_nationale", "indicateur", "indicateur", None),
          ("pub_tableau_de_bord", "indicateur", "indicateur", None),
          ("pub_messages", "indicateur", "indicateur", None),
          ("pub_tendances", "verdict_un_an", "verdict", "verdict"),
          ("pub_tendances", "verdict_reference", "verdict", "verdict"),
          ("pub_tendances", "motif_sans_verdict_un_an", "motif d'absence de verdict", "motif_sans_verdict"),
          ("pub_tendances", "motif_sans_verdict_reference", "motif d'absence de verdict", "motif_sans_verdict"),
          ("pub_tableau_de_bord", "verdict", "verdict du tableau de bord", "verdict_cible")]


def unknown_codes(con) -> list[str]:
    """What the published snapshot holds that the published registry or labels do not name (a year
    frozen before an indicator left the registry, a verdict without its label): the pages cannot
    show it, and say so, in French, rather than drop it without a word."""
    found = []
    for table, column, what, domain in _NAMED:
        if column not in _columns(con, f"publie.{table}"):
            continue
        names = ("SELECT indicateur AS code FROM publie.pub_registre" if domain is None else
                 "SELECT code FROM publie.pub_libelles WHERE domaine = ?")
        codes = [r[0] for r in con.execute(
            f"""SELECT DISTINCT t.{column} FROM publie.{table} AS t
                WHERE t.{column} IS NOT NULL AND t.{column} NOT IN ({names}) ORDER BY 1""",
            [] if domain is None else [domain]).fetchall()]
        if codes:
            found.append(f"{table} : {what} {', '.join(f'« {c} »' for c in codes)} "
                         + ("absent du registre publié" if domain is None else "sans libellé"))
    return found


def _parametres(con) -> dict:
    """The parameters the pages state (pub_parametres): frozen with the last publication, or, in a
    snapshot frozen before dbt published them, those of the current build (dbt's either way)."""
    for table in ("publie.pub_parametres", "main.pub_parametres"):
        if _columns(con, table):
            rows = _dicts(con, f"SELECT * FROM {table}")
            if rows:
                return rows[0]
    raise ObservatoireError("Les paramètres de publication (modèle dbt pub_parametres) sont introuvables dans "
                            "l'entrepôt : relancez « observatoire run » pour reconstruire les modèles.")


def _load_internal(con, data: SiteData, indicators: list[str]) -> None:
    """What only the federation sees: the list of every structure (its values against the median of
    its type and its quality findings are read batch by batch as its pages are written:
    site.internal.render_structures)."""
    # one small tuple each: with a large extract, hundreds of thousands of structures (a dict each held 1.5 kB)
    data.structures = [StructureRow(*r) for r in con.execute("""
        SELECT code_structure, nom_structure, type_structure, code_commune, nom_commune
        FROM dim_structures ORDER BY code_structure""").fetchall()]
    data.indicateurs_structure = [i for i in indicators if i]
