"""The page spec (data/config/pages.yaml): what each page holds, resolved against the registry.

A selector picks indicators of the published registry, by id or by its columns; nothing here
knows an indicator, an axis or a theme by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from common import yamls
from ingest.config import PROJECT_DIR
from common.errors import ObservatoireError

PAGES_FILE = PROJECT_DIR / "data" / "config" / "pages.yaml"
CRITERIA = ("rubrique", "axe", "action", "source", "maillon", "unite", "sens")
CHART_KINDS = ("barres", "evolution", "unites")


@dataclass
class PageSpec:
    raw: dict
    unknown: set[str] = field(default_factory=set)     # ids named in the spec but not in the registry

    def section(self, page: str) -> dict:
        return self.raw.get(page) or {}


def load_spec(path: Path | None = None) -> PageSpec:
    path = path or PAGES_FILE
    try:
        raw = yamls.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ObservatoireError(f"La description des pages {path} est illisible : {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise ObservatoireError(f"La description des pages {path} n'est pas un YAML valide : {exc}") from exc
    if not isinstance(raw, dict):
        raise ObservatoireError(f"La description des pages {path} doit être un dictionnaire de pages.")
    for page, content in raw.items():
        if content is not None and not isinstance(content, dict):
            raise ObservatoireError(f"{path}, page « {page} » : une suite de clés est attendue (ou rien), "
                                    f"reçu {content!r}.")
    sections = (raw.get("rapport") or {}).get("sections") or []
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        raise ObservatoireError(f"{path}, page « rapport », clé « sections » : une liste de rubriques est attendue, "
                                "chacune avec au moins « titre » (ex. - {id: themes, titre: Thèmes d'action}).")
    for section in sections:
        charts = section.get("graphiques") or []
        if not isinstance(charts, list) or not all(isinstance(c, dict) for c in charts):
            raise ObservatoireError(f"{path}, rubrique « {section.get('titre', section.get('id'))} », clé "
                                    "« graphiques » : une liste de graphiques est attendue, chacun avec son « type ».")
        for chart in charts:
            if chart.get("type") not in CHART_KINDS:
                raise ObservatoireError(
                    f"Rubrique « {section.get('titre', section.get('id'))} » de {path.name} : type de graphique "
                    f"« {chart.get('type')} » inconnu (types possibles : {', '.join(CHART_KINDS)}).")
    return PageSpec(raw)


def select(spec: PageSpec, registre: dict[str, dict], selector) -> list[dict]:
    """The registry rows a selector picks, in the selector's order or else the registry's."""
    if not selector:
        return []
    if isinstance(selector, (list, tuple)):
        selector = {"indicateurs": list(selector)}
    excluded = set(selector.get("sauf") or [])
    if selector.get("indicateurs"):
        spec.unknown.update(i for i in selector["indicateurs"] if i not in registre)
        rows = [registre[i] for i in selector["indicateurs"] if i in registre]
    else:
        rows = list(registre.values())      # already in registry order
    for key in CRITERIA:
        if key in selector:
            wanted = selector[key] if isinstance(selector[key], (list, tuple)) else [selector[key]]
            wanted = {str(w) for w in wanted}
            rows = [r for r in rows if str(r.get(key)) in wanted]
    return [r for r in rows if r["indicateur"] not in excluded]
