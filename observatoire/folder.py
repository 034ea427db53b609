"""`observatoire init`: a federation's observatory folder, created whole or not at all."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from common.errors import ObservatoireError
from common.observatory import (CONFIRMATION_COLUMNS, CORRECTION_COLUMNS as COLUMNS, SETTINGS_NAME, Identity,
                                 departement_code, settings_text)

CONFIG_README = """Ce dossier est facultatif. Chaque fichier qu'on y dépose remplace celui du même nom
fourni avec l'observatoire ; sans lui, l'observatoire prend le sien.

projet_federal.yaml       le projet fédéral (projet, axes, actions, groupes_travail). Sans ce
                          fichier, pas de projet fédéral : les chiffres clés SENACS seulement, sans
                          tableau de bord, cible ni année de référence.
pages.yaml                ce que contient chaque page des sites
alias_colonnes.yaml       les anciens noms de colonnes des extraits
registre_indicateurs.csv  le registre des indicateurs
evenements.yaml           les événements dessinés sur les graphiques par année
                          (evenements: - {annee: 2020, libelle: crise sanitaire})
territoires.csv           les territoires entre commune et département (par exemple les EPCI) :
                          code_commune;code_territoire;nom_territoire, une ligne par commune.
                          Sans ce fichier : l'EPT dans la Métropole du Grand Paris, ailleurs aucun.
"""
GITIGNORE = "# produit par « observatoire run » : se refait à partir des extraits\nsortie/\n"


def create(folder: Path, nom: str, departements: tuple[str, ...], national: bool) -> Path:
    folder = Path(folder).absolute()
    if not nom.strip():
        raise ObservatoireError("--federation : le nom de la fédération est vide.")
    codes = tuple(dict.fromkeys(departement_code(d, "--departement") for d in departements))
    if not codes and not national:
        raise ObservatoireError("Indiquez au moins un département couvert (--departement 06), ou --national.")
    if (folder / SETTINGS_NAME).exists():
        raise ObservatoireError(f"{folder} est déjà un dossier d'observatoire ({SETTINGS_NAME} existe) : rien n'a été "
                                "modifié. Modifiez ses réglages dans ce fichier.")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ObservatoireError(f"{folder} existe et n'est pas un dossier vide : choisissez un nouveau dossier "
                                "(rien n'a été modifié).")
    identity = Identity(nom=nom.strip(), departements=codes, national=national)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    except OSError as exc:
        raise ObservatoireError(f"Impossible de créer {folder} : {exc.strerror or exc}.") from None
    try:
        (tmp / SETTINGS_NAME).write_text(settings_text(identity), encoding="utf-8")
        (tmp / "extraits").mkdir()
        (tmp / "config").mkdir()
        (tmp / "config" / "LISEZMOI.txt").write_text(CONFIG_README, encoding="utf-8")
        (tmp / "corrections.csv").write_text(";".join(COLUMNS) + "\n", encoding="utf-8")
        (tmp / "confirmations.csv").write_text(";".join(CONFIRMATION_COLUMNS) + "\n", encoding="utf-8")
        (tmp / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())
        if folder.exists():
            folder.rmdir()          # empty, checked above
        os.replace(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ObservatoireError(f"Impossible de créer {folder} : {exc.strerror or exc}.") from None
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
