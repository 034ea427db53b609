"""Reference data shipped under data/reference/, loaded into the warehouse as ref_* tables."""
from __future__ import annotations

import base64
import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .config import PROJECT_DIR, REFERENCE_DIR
from common.errors import ObservatoireError
from common.observatory import read_yaml
from .values import fold, restored_commune


@lru_cache(maxsize=4)
def known_communes(reference_dir: Path = REFERENCE_DIR) -> frozenset[str]:
    with (reference_dir / "communes.csv").open(encoding="utf-8") as f:
        return frozenset(row["code_insee"] for row in csv.DictReader(f))


NO_PROJECT = {"titre": None, "premiere_annee": None, "derniere_annee": None, "annee_reference": None,
              "annee_cible": None}


def read_project(path: Path | None) -> dict:
    """A federal project file, checked: `projet` (title and years), `axes` (each with a code, a
    label and its actions), optional `groupes_travail`. None: no federal project."""
    if path is None:
        return {"projet": NO_PROJECT, "axes": [], "groupes_travail": []}
    project = read_yaml(path)
    unknown = sorted(set(project) - {"projet", "axes", "groupes_travail", "federation"})
    if unknown:
        raise ObservatoireError(f"{path} : section inconnue « {unknown[0]} » (sections possibles : projet, axes, "
                                "groupes_travail).")
    section = project.get("projet")
    if not isinstance(section, dict) or not section:
        raise ObservatoireError(f"{path} : la section « projet » est absente ou vide ; elle doit donner titre, "
                                "premiere_annee, derniere_annee, annee_reference et annee_cible.")
    for key in ("premiere_annee", "derniere_annee", "annee_reference", "annee_cible"):
        value = section.get(key)
        if value is not None and (isinstance(value, bool) or not str(value).strip().isdigit()
                                  or not 1900 <= int(str(value).strip()) <= 2100):
            raise ObservatoireError(f"{path}, section « projet », clé « {key} » : une année (ex. 2022) attendue, "
                                    f"reçu « {value} ».")
    axes = project.get("axes")
    if not isinstance(axes, list) or not axes:
        raise ObservatoireError(f"{path} : la section « axes » est absente ou vide ; chaque axe donne "
                                "« code », « libelle » et ses « actions » (sans projet fédéral, retirez ce fichier).")
    for i, axis in enumerate(axes, start=1):
        if not isinstance(axis, dict) or not axis.get("code") or not axis.get("libelle"):
            raise ObservatoireError(f"{path}, section « axes », axe n° {i} : « code » et « libelle » attendus, "
                                    f"reçu {axis!r}.")
        for j, action in enumerate(axis.get("actions") or [], start=1):
            if not isinstance(action, dict) or not action.get("code") or not action.get("libelle"):
                raise ObservatoireError(f"{path}, axe {axis['code']}, action n° {j} : « code » et « libelle » "
                                        f"attendus, reçu {action!r}.")
    for i, group in enumerate(project.get("groupes_travail") or [], start=1):
        if not isinstance(group, dict) or not group.get("code") or not group.get("libelle"):
            raise ObservatoireError(f"{path}, section « groupes_travail », groupe n° {i} : « code » et « libelle » "
                                    f"attendus, reçu {group!r}.")
    return project


def _identity(project: dict, path: Path | None, reference_dir: Path, observatory) -> dict:
    if observatory is not None and observatory.identity is not None:
        i = observatory.identity
        return {"nom": i.nom, "departement": i.departements[0] if i.departements else "",
                "departements": ",".join(i.departements), "licence": i.licence, "licence_url": i.licence_url,
                "contact": i.contact, "site": i.site,
                "adresse_observatoire": i.adresse_observatoire, "logo": _logo_data(i.logo) if i.logo else ""}
    return federation_identity(project["federation"], reference_dir)


def federal_project_tables(reference_dir: Path = REFERENCE_DIR, observatory=None) -> dict[str, pd.DataFrame]:
    """The federal project (axes, orientations, actions, working groups) as flat tables; with an
    observatory, its own project file (or none) and the identity of its settings."""
    path = observatory.project_file if observatory is not None else reference_dir / "projet_federal.yaml"
    project = read_project(path)
    axes, orientations, actions, links = [], [], [], []
    for order, axis in enumerate(project["axes"], start=1):
        axes.append({"code_axe": axis["code"], "libelle_axe": axis["libelle"], "ordre": order})
        for o in axis.get("orientations", []):
            orientations.append({"code_orientation": o["code"], "code_axe": axis["code"],
                                 "libelle_orientation": o["libelle"]})
        for a in axis.get("actions", []):
            actions.append({"code_action": a["code"], "code_axe": axis["code"], "libelle_action": a["libelle"]})
            links.extend({"code_action": a["code"], "code_groupe": g} for g in a.get("groupes_travail", []))
    groups = [{"code_groupe": g["code"], "libelle_groupe": g["libelle"]} for g in project.get("groupes_travail") or []]
    meta = {**{k: project["projet"].get(k) for k in NO_PROJECT},
            **{f"federation_{k}": v for k, v in _identity(project, path, reference_dir, observatory).items()}}
    return {
        # explicit columns: a project without orientations or working groups still has their tables
        "ref_axes": pd.DataFrame(axes, columns=["code_axe", "libelle_axe", "ordre"]),
        "ref_orientations": pd.DataFrame(orientations, columns=["code_orientation", "code_axe",
                                                                "libelle_orientation"], dtype=str),
        "ref_actions": pd.DataFrame(actions, columns=["code_action", "code_axe", "libelle_action"], dtype=str),
        "ref_groupes_travail": pd.DataFrame(groups, columns=["code_groupe", "libelle_groupe"], dtype=str),
        "ref_actions_groupes": pd.DataFrame(links, columns=["code_action", "code_groupe"], dtype=str),
        "ref_projet": pd.DataFrame([{k: None if v is None else str(v) for k, v in meta.items()}], dtype="string"),
    }


OPEN_LICENCE = ("Licence Ouverte 2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp"}


def federation_identity(federation: dict, reference_dir: Path) -> dict:
    """The federation's identity as the sites show it: name, département(s), licence of the open
    data, contact and logo (read from its file, so that the warehouse is self-contained)."""
    departements = federation.get("departements") or [federation.get("departement")]
    departements = [str(d) for d in departements if d not in (None, "")]
    logo = ""
    if federation.get("logo"):
        path = reference_dir / str(federation["logo"])
        kind = LOGO_TYPES.get(path.suffix.lower())
        if kind is None or not path.is_file():
            raise ObservatoireError(f"Le logo de la fédération ({path}) est introuvable ou n'est pas une image "
                                    f"SVG, PNG, JPEG ou WebP : corrigez la clé « logo » de projet_federal.yaml.")
        logo = _logo_data(path)
    return {
        "nom": federation["nom"],
        "departement": departements[0] if departements else "",
        "departements": ",".join(departements),
        "licence": federation.get("licence") or OPEN_LICENCE[0],
        "licence_url": federation.get("licence_url") or (OPEN_LICENCE[1] if not federation.get("licence") else ""),
        "contact": federation.get("contact") or "",
        "site": federation.get("site") or "",
        "adresse_observatoire": str(federation.get("adresse_observatoire") or "").strip().rstrip("/"),
        "logo": logo,
    }


def _logo_data(path: Path) -> str:
    return f"data:{LOGO_TYPES[path.suffix.lower()]};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def schema_columns(config) -> pd.DataFrame:
    """The canonical columns (type, questionnaire block, required) of both extracts."""
    return pd.DataFrame([{"type_extrait": kind, "colonne": c.name, "type_colonne": c.type,
                          "bloc": c.block, "requis": c.required, "ordre": i}
                         for kind, columns in config.columns.items()
                         for i, c in enumerate(columns.values(), start=1)])


def load_reference(con, reference_dir: Path = REFERENCE_DIR, config=None, observatory=None) -> None:
    """(Re)create the ref_* tables inside the caller's transaction."""
    csv_tables = {
        "ref_communes": ("communes.csv", {"code_insee": "VARCHAR", "nom_commune": "VARCHAR",
                                          "code_departement": "VARCHAR", "code_region": "VARCHAR",
                                          "code_ept": "VARCHAR", "nom_ept": "VARCHAR",
                                          "population": "BIGINT", "type_commune": "VARCHAR",
                                          "code_commune_parent": "VARCHAR"}),
        "ref_departements": ("departements.csv", {"code_departement": "VARCHAR", "nom_departement": "VARCHAR",
                                                  "code_region": "VARCHAR"}),
        "ref_ept": ("ept.csv", {"code_ept": "VARCHAR", "nom_ept": "VARCHAR", "population": "BIGINT"}),
    }
    for table, (name, types) in csv_tables.items():
        path = str(reference_dir / name)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header=true, "
                    f"columns={types!r}, delim=',', quote='\"')", [path])
    tables = federal_project_tables(reference_dir, observatory)
    tables["ref_territoires"] = declared_territories(observatory.territories_file if observatory else None,
                                                    reference_dir)
    tables["ref_evenements"] = declared_events(observatory.events_file if observatory is not None
                                               else EVENTS_FILE)
    if config is not None:
        tables["ref_schema_colonnes"] = schema_columns(config)
    for table, frame in tables.items():
        con.register("_ref_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _ref_frame")
        con.unregister("_ref_frame")


EVENTS_FILE = PROJECT_DIR / "data" / "config" / "evenements.yaml"
EVENT_COLUMNS = ["annee", "libelle", "ordre"]


def declared_events(path: Path | None) -> pd.DataFrame:
    """The events drawn on the yearly charts (data/config/evenements.yaml, or the folder's
    config/evenements.yaml): one row per data year an event concerns, checked entry by entry."""
    if path is None or not Path(path).is_file():
        return pd.DataFrame({"annee": pd.Series(dtype="int32"), "libelle": pd.Series(dtype="string"),
                             "ordre": pd.Series(dtype="int32")})
    raw = read_yaml(Path(path)).get("evenements")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ObservatoireError(f"{path} : « evenements » doit être une liste (- {{annee: 2020, libelle: crise "
                                "sanitaire}}), ou [] pour aucun.")
    out = []
    for n, entry in enumerate(raw, start=1):
        where = f"{path}, événement n° {n}"
        if not isinstance(entry, dict):
            raise ObservatoireError(f"{where} : attendu {{annee: 2020, libelle: ...}}, pas « {entry} ».")
        libelle = str(entry.get("libelle") or "").strip()
        if not libelle:
            raise ObservatoireError(f"{where} : « libelle » manque (le texte dessiné sur les graphiques).")
        span = entry.get("annees", entry.get("annee"))
        text = str(span if span is not None else "").strip()
        parts = [p.strip() for p in text.replace("–", "-").split("-")] if text else []
        if not parts or len(parts) > 2 or not all(p.isdigit() and 1900 <= int(p) <= 2100 for p in parts):
            raise ObservatoireError(f"{where} : « annee » (2020) ou « annees » (2020-2021) attendu, lu « {text} ».")
        first, last = int(parts[0]), int(parts[-1])
        if last < first:
            raise ObservatoireError(f"{where} : la période « {text} » finit avant de commencer.")
        out.extend({"annee": year, "libelle": libelle, "ordre": n} for year in range(first, last + 1))
    frame = pd.DataFrame(out, columns=EVENT_COLUMNS)
    return frame.astype({"annee": "int32", "libelle": "string", "ordre": "int32"})


TERRITORY_COLUMNS = ["code_commune", "code_territoire", "nom_territoire"]


def declared_territories(path: Path | None, reference_dir: Path = REFERENCE_DIR) -> pd.DataFrame:
    """The folder's territories (config/territoires.csv: commune -> territory, e.g. its EPCI),
    checked line by line; empty without a declaration (the EPT in the Métropole du Grand Paris,
    elsewhere no territory level)."""
    if path is None:
        return pd.DataFrame(columns=TERRITORY_COLUMNS, dtype="string")
    from .readers import decode, sniff_separator

    try:
        text, _ = decode(path.read_bytes())
    except OSError as exc:
        raise ObservatoireError(f"{path} est illisible : {exc.strerror or exc}.") from None
    rows = list(csv.reader(text.splitlines(), delimiter=sniff_separator(text)))
    header = [fold(h) for h in (rows[0] if rows else [])]
    missing = [c for c in TERRITORY_COLUMNS if c not in header]
    if missing:
        raise ObservatoireError(f"{path} : {'colonne absente' if len(missing) == 1 else 'colonnes absentes'} : "
                                f"{', '.join(missing)} (attendu : {';'.join(TERRITORY_COLUMNS)}, une ligne par commune).")
    index = [header.index(c) for c in TERRITORY_COLUMNS]
    communes = known_communes(reference_dir)
    out, seen = [], {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [row[i].strip() if i < len(row) else "" for i in index]
        commune, code, name = cells
        commune = commune.zfill(5) if commune.isdigit() else commune.upper()
        commune = restored_commune(commune, communes) or commune      # 2B33, 20033: as in the extracts
        if commune not in communes:
            raise ObservatoireError(f"{path}, ligne {n} : « {cells[0]} » n'est pas un code commune INSEE connu "
                                    "(5 caractères, ex. 06088).")
        if not code:
            raise ObservatoireError(f"{path}, ligne {n} : code_territoire vide pour la commune {commune}.")
        if commune in seen:
            raise ObservatoireError(f"{path}, ligne {n} : la commune {commune} est déjà rattachée à un territoire "
                                    f"(ligne {seen[commune]}) ; une commune n'a qu'un territoire.")
        seen[commune] = n
        out.append({"code_commune": commune, "code_territoire": code, "nom_territoire": name or code})
    return pd.DataFrame(out, columns=TERRITORY_COLUMNS, dtype="string")


@dataclass(frozen=True)
class ProjectCodes:
    """The codes of the federal project, each spelling folded (a2-3, A2.3, « a2 3 ») to its code."""
    actions: dict[str, str]
    groups: dict[str, str]


def project_codes(reference_dir: Path = REFERENCE_DIR, observatory=None) -> ProjectCodes:
    path = observatory.project_file if observatory is not None else reference_dir / "projet_federal.yaml"
    return _project_codes(path, reference_dir, observatory)


@lru_cache(maxsize=4)
def _project_codes(path, reference_dir: Path, observatory) -> ProjectCodes:
    tables = federal_project_tables(reference_dir, observatory)
    return ProjectCodes(actions={fold(c): c for c in tables["ref_actions"]["code_action"]},
                        groups={fold(c): c for c in tables["ref_groupes_travail"]["code_groupe"]})
