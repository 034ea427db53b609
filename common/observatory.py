"""The observatory folder: what a federation owns (its settings, extracts, corrections,
confirmations and optional config), resolved once into paths every step reads.

A folder holds `observatoire.yaml` at its root. Commands find it by walking up from the working
directory (or from `--dossier` / OBSERVATOIRE_DOSSIER). The product's own files (data/reference,
data/config…) are the defaults the folder's `config/` overrides file by file; a federal project
is never inherited: a folder has one only if its `config/projet_federal.yaml` declares it.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from . import yamls
from .errors import ObservatoireError

PRODUCT_DIR = Path(__file__).resolve().parent.parent
SETTINGS_NAME = "observatoire.yaml"
ENV_FOLDER = "OBSERVATOIRE_DOSSIER"
REFERENCE_DIR = PRODUCT_DIR / "data" / "reference"
DEFAULT_CONFIG_DIR = PRODUCT_DIR / "data" / "config"
DEMO_PROJECT = REFERENCE_DIR / "projet_federal.yaml"       # the Hauts-de-Seine's, the demo's only
OPEN_LICENCE = ("Licence Ouverte 2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
IDENTITY_KEYS = ("nom", "departements", "national", "licence", "licence_url", "contact", "site", "adresse_observatoire",
                 "logo")
# the folder's corrections and confirmations files (ingest.corrections reads them)
CORRECTION_COLUMNS = ["annee_enquete", "code_structure", "colonne", "nouvelle_valeur", "motif", "auteur", "date"]
CONFIRMATION_COLUMNS = ["annee_enquete", "code_structure", "colonne", "valeur_confirmee", "motif", "auteur", "date"]
DEPARTEMENT = re.compile(r"(0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6])")


@dataclass(frozen=True)
class Identity:
    """Who publishes: the federation's name, the départements it covers (codes as text), whether
    it is the national level (every département), its open-data licence, contact, site, logo."""
    nom: str
    departements: tuple[str, ...]
    national: bool = False
    licence: str = OPEN_LICENCE[0]
    licence_url: str = OPEN_LICENCE[1]
    contact: str = ""
    site: str = ""
    adresse_observatoire: str = ""       # where the observatory's site is published (printed addresses)
    logo: Path | None = None

    def covers(self, departement: str | None) -> bool:
        return self.national or departement in self.departements


@dataclass(frozen=True)
class Observatory:
    """Resolved paths and settings of one observatory; every step reads its files from here."""
    root: Path | None                   # the folder; None: the product's own (the demo, the tests)
    identity: Identity | None           # None: the `federation` block of the project file (the demo)
    outputs: Path                       # warehouse, quality outputs, sites, log
    extraits: Path | None
    corrections: Path
    confirmations: Path
    project_file: Path | None           # None: no federal project, SENACS key figures only
    pages_file: Path
    alias_file: Path
    reference_dir: Path = REFERENCE_DIR
    territories_file: Path | None = None
    # the selective-editing thresholds (the product's default file unless the folder has its own)
    selection_file: Path = DEFAULT_CONFIG_DIR / "selection.yaml"
    # the events drawn on the yearly charts (the product's default list unless the folder has its own)
    events_file: Path = DEFAULT_CONFIG_DIR / "evenements.yaml"
    demo: bool = False
    warehouse_override: Path | None = field(default=None, compare=False)

    @property
    def warehouse(self) -> Path:
        return self.warehouse_override or self.outputs / "entrepot" / "observatoire.duckdb"

    @property
    def log_file(self) -> Path:
        return self.warehouse.resolve().parent / "journal.log"

    def with_warehouse(self, path: Path | None) -> "Observatory":
        return self if path is None else replace(self, warehouse_override=Path(path))


def product_observatory(outputs: Path | None = None, demo: bool = False) -> Observatory:
    """The product's own settings: the Hauts-de-Seine's project and identity (the demo's data)."""
    corrections = PRODUCT_DIR / "data" / "corrections"
    return Observatory(root=None, identity=None, outputs=outputs or Path("sortie"), extraits=None,
                       corrections=corrections / "corrections.csv",
                       confirmations=corrections / "confirmations.csv", project_file=DEMO_PROJECT,
                       pages_file=DEFAULT_CONFIG_DIR / "pages.yaml",
                       alias_file=DEFAULT_CONFIG_DIR / "alias_colonnes.yaml", demo=demo)


def demo_observatory(cwd: Path | None = None) -> Observatory:
    """The demo's folder of its own: sortie/demo under the working directory, or a temporary
    folder when the working directory lies inside a federation's folder (the demo never writes
    there). Its corrections and confirmations are empty: none of a federation's apply."""
    cwd = Path(cwd or os.getcwd())
    inside = find_root(cwd)
    base = (Path(tempfile.gettempdir()) / f"observatoire-demo-{os.getuid()}") if inside else cwd / "sortie" / "demo"
    return replace(product_observatory(base, demo=True), corrections=base / "corrections.csv",
                   confirmations=base / "confirmations.csv")


def find_root(start: Path) -> Path | None:
    """The nearest folder holding observatoire.yaml, from `start` up."""
    start = start.absolute()
    for folder in (start, *start.parents):
        try:
            if (folder / SETTINGS_NAME).is_file():
                return folder
        except OSError:
            return None
    return None


def locate(folder: Path | None = None, cwd: Path | None = None) -> Observatory | None:
    """The observatory named by `--dossier` (or OBSERVATOIRE_DOSSIER), else the one the working
    directory lies in; None when there is none."""
    named = folder or (Path(os.environ[ENV_FOLDER]) if os.environ.get(ENV_FOLDER) else None)
    if named is not None:
        named = Path(named)
        if not (named / SETTINGS_NAME).is_file():
            raise ObservatoireError(f"{named} n'est pas un dossier d'observatoire (pas de {SETTINGS_NAME}) : "
                                    f"créez-le avec « observatoire init {named} --federation NOM --departement CODE ».")
        return load(named)
    root = find_root(Path(cwd or os.getcwd()))
    return load(root) if root else None


def load(root: Path) -> Observatory:
    root = Path(root).absolute()
    settings_file = root / SETTINGS_NAME
    settings = read_settings(settings_file)
    config = root / "config"

    def own(name: str) -> Path | None:
        path = config / name
        return path if path.is_file() else None

    return Observatory(
        root=root, identity=settings, outputs=root / "sortie", extraits=root / "extraits",
        corrections=root / "corrections.csv", confirmations=root / "confirmations.csv",
        project_file=own("projet_federal.yaml"),
        pages_file=own("pages.yaml") or DEFAULT_CONFIG_DIR / "pages.yaml",
        alias_file=own("alias_colonnes.yaml") or DEFAULT_CONFIG_DIR / "alias_colonnes.yaml",
        territories_file=own("territoires.csv"),
        selection_file=own("selection.yaml") or DEFAULT_CONFIG_DIR / "selection.yaml",
        events_file=own("evenements.yaml") or DEFAULT_CONFIG_DIR / "evenements.yaml")


# ---------------------------------------------------------------------------------------- settings
def read_yaml(path: Path) -> dict:
    """A settings file as a mapping; a French message for what is unreadable or not a mapping."""
    try:
        raw = yamls.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ObservatoireError(f"{path} est illisible : {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ObservatoireError(f"{path} n'est pas un texte UTF-8 : enregistrez-le en UTF-8.") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (ligne {where.line + 1})" if where is not None else ""
        raise ObservatoireError(f"{path} n'est pas un YAML valide{line} : vérifiez l'indentation et les "
                                "deux-points.") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ObservatoireError(f"{path} doit être une suite de clés (« federation: », …), pas "
                                f"{type(raw).__name__}.")
    return raw


def departement_code(value, where: str) -> str:
    """A département code as text: 6 (written without quotes) is "06"; "2a" is "2A"; anything
    that is not a French département is refused, naming where it was read."""
    if isinstance(value, bool) or value is None:
        raise ObservatoireError(f"{where} : « {value} » n'est pas un code de département (attendu : du texte "
                                "comme \"06\", \"2A\" ou \"974\").")
    text = str(value).strip().upper()
    if re.fullmatch(r"[1-9]", text):        # 6 written without quotes (or its zero lost): "06"
        text = f"0{text}"
    if not DEPARTEMENT.fullmatch(text):
        corsica = (" ; la Corse (20) forme deux départements depuis 1976 : \"2A\" (Corse-du-Sud) et \"2B\" "
                   "(Haute-Corse)") if text == "20" else ""
        raise ObservatoireError(f"{where} : « {value} » n'est pas un code de département (attendu : \"01\" à "
                                f"\"95\", \"2A\", \"2B\" ou \"971\" à \"976\", entre guillemets{corsica}).")
    return text


def _text(section: dict, key: str, where: str, required: bool = False) -> str:
    value = section.get(key)
    if value is None or value == "":
        if required:
            raise ObservatoireError(f"{where} : la clé « {key} » est obligatoire (du texte).")
        return ""
    if isinstance(value, (dict, list, bool)):
        raise ObservatoireError(f"{where} : la clé « {key} » doit être du texte, pas {value!r}.")
    return str(value).strip()


def web_address(section: dict, key: str, where: str) -> str:
    """A web address of the settings: empty, or http(s)://… without its trailing slash (it is
    printed in the plaquette, where a reader types it)."""
    value = _text(section, key, where)
    if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ObservatoireError(f"{where}, clé « {key} » : une adresse web commençant par https:// ou http:// "
                                f"est attendue (ex. https://observatoire.exemple.fr), reçu « {value} ».")
    return value.rstrip("/")


def identity_from(section, path: Path, block: str = "federation") -> Identity:
    """The `federation` block of a settings (or project) file, every key checked."""
    where = f"{path}, section « {block} »"
    if section is None or section == {}:
        raise ObservatoireError(f"{path} : la section « {block} » est absente ou vide ; elle doit donner au "
                                "moins « nom » et « departements » (ex. departements: [\"06\"]).")
    if not isinstance(section, dict):
        raise ObservatoireError(f"{where} : doit être une suite de clés (nom, departements…), pas {section!r}.")
    unknown = sorted(set(section) - set(IDENTITY_KEYS) - {"departement"})
    if unknown:
        raise ObservatoireError(f"{where} : clé inconnue « {unknown[0]} » (clés possibles : "
                                f"{', '.join(IDENTITY_KEYS)}).")
    national = section.get("national", False)
    if not isinstance(national, bool):
        raise ObservatoireError(f"{where}, clé « national » : true ou false attendu, reçu « {national} ».")
    raw = section.get("departements", section.get("departement"))
    if raw is None or raw == [] or raw == "":
        if not national:
            raise ObservatoireError(f"{where} : la clé « departements » est absente ou vide ; donnez la liste des "
                                    "départements couverts, ex. departements: [\"06\"] (ou national: true).")
        raw = []
    if not isinstance(raw, list):
        raw = [raw]
    codes = tuple(dict.fromkeys(departement_code(v, f"{where}, clé « departements »") for v in raw))
    licence = _text(section, "licence", where)
    logo_name = _text(section, "logo", where)
    logo = None
    if logo_name:
        logo = (path.parent / logo_name)
        if logo.suffix.lower() not in (".svg", ".png", ".jpg", ".jpeg", ".webp") or not logo.is_file():
            raise ObservatoireError(f"{where}, clé « logo » : {logo} est introuvable ou n'est pas une image SVG, "
                                    "PNG, JPEG ou WebP (le chemin se lit depuis le dossier de ce fichier).")
    return Identity(nom=_text(section, "nom", where, required=True), departements=codes, national=national,
                    licence=licence or OPEN_LICENCE[0],
                    licence_url=_text(section, "licence_url", where) or ("" if licence else OPEN_LICENCE[1]),
                    contact=_text(section, "contact", where), site=_text(section, "site", where),
                    adresse_observatoire=web_address(section, "adresse_observatoire", where), logo=logo)


def read_settings(path: Path) -> Identity:
    raw = read_yaml(path)
    unknown = sorted(set(raw) - {"federation"})
    if unknown:
        raise ObservatoireError(f"{path} : section inconnue « {unknown[0]} » (section attendue : federation).")
    return identity_from(raw.get("federation"), path)


def settings_text(identity: Identity) -> str:
    """The settings file `init` writes: every key, commented in French, codes quoted."""
    codes = ", ".join(f'"{c}"' for c in identity.departements)
    return f"""# Réglages de l'observatoire (lus à chaque commande lancée dans ce dossier ou en dessous).
# Les codes de département s'écrivent entre guillemets : "06", "2A", "974".
federation:
  nom: {yaml.safe_dump(identity.nom, allow_unicode=True, default_style='"').strip()}
  departements: [{codes}]    # les structures d'un autre département sont refusées au chargement
  national: {str(identity.national).lower()}            # true : l'observatoire couvre tous les départements
  licence: {identity.licence}
  licence_url: {identity.licence_url}
  contact: ""        # adresse électronique ou page de contact, affichée en pied de page
  site: ""           # site de la fédération, en lien dans le pied de page
  adresse_observatoire: ""   # adresse où le site de l'observatoire est publié (https://…) : les fiches y sont imprimées dans la plaquette
  logo: ""           # image SVG, PNG ou JPEG rangée dans ce dossier, par exemple logo.svg
"""
