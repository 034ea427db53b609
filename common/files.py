"""Output folders replaced whole, and file faults in French.

An output folder (a site, the quality outputs) is built in a temporary folder beside it, then
swapped in with two renames: readers see the old folder or the new one, never half of one. A run
killed on the way leaves only folders named after their target and the warehouse (`.public-3f9a1c-k3x9q2ab`
for the new one, `.public-3f9a1c-ancien` for the old one); the next run on that warehouse removes
them before it starts, and puts the old folder back if the kill fell between the two renames. The
warehouse's tag keeps two warehouses of one folder, run at once, out of each other's folders.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from common.errors import ObservatoireError

OLD = "ancien"
REASONS = {errno.EACCES: "droits insuffisants", errno.EPERM: "droits insuffisants",
           errno.EROFS: "système de fichiers en lecture seule", errno.ENOSPC: "disque plein",
           errno.EDQUOT: "quota de disque dépassé", errno.EFBIG: "fichier trop gros pour les limites du système",
           errno.EIO: "erreur de lecture ou d'écriture du disque"}
ADVICE = {errno.ENOSPC: "libérez de la place", errno.EDQUOT: "libérez de la place",
          errno.EFBIG: "levez la limite de taille des fichiers (ulimit -f)", errno.EIO: "vérifiez le disque"}
DUCKDB_FILE = re.compile(r'(?:open|read from|write(?: to)?) file "([^"]+)"', re.I)


def owner_tag(db_path: Path) -> str:
    """A short tag naming a warehouse, put in the names of the temporary folders its commands
    make: two warehouses of one folder share their output folders' parent, and each must find
    and clean only its own leftovers, never the folders of the other's run under way."""
    return hashlib.sha256(str(Path(db_path).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:6]


def _prefix(target: Path, owner: str) -> str:
    return f".{target.name}-{owner}-" if owner else f".{target.name}-"


def _old(target: Path, owner: str = "") -> Path:
    return target.parent / f"{_prefix(target, owner)}{OLD}"


def stale(target: Path, owner: str = "") -> list[Path]:
    """Folders a killed run of this warehouse (`owner`) left beside `target`: ours by name only
    (tempfile's 8 characters, or -ancien). A run under way on another warehouse has another tag:
    its folders are not touched (the warehouse's lock makes sure no run of this one is under way)."""
    # with the names an earlier version gave, without a tag: only that version's leftovers
    pattern = re.compile(rf"(?:{re.escape(_prefix(target, owner))}|{re.escape(_prefix(target, ''))})"
                         rf"(?:[a-z0-9_]{{8}}|{OLD})")
    if not target.parent.is_dir():
        return []
    return sorted(p for p in target.parent.iterdir()
                  if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink())


def clean(target: Path, owner: str = "") -> None:
    """Remove what a killed run left; if it was killed between the two renames, restore the old folder."""
    for old in dict.fromkeys((_old(target, owner), _old(target))):
        if not target.exists() and old.is_dir() and not old.is_symlink():
            os.replace(old, target)
    for path in stale(target, owner):
        remove(path)


def check_replaceable(target: Path) -> None:
    """The French error `staging` would give for `target`, raised before any work: the folder is
    read-only, or the folder it is to be made in cannot be written. `run` checks its outputs so,
    before publishing anything: the warehouse never records a year as published that the site,
    which could not be written, does not show."""
    if target.is_dir() and not target.is_symlink() and not os.access(target, os.W_OK):
        raise _read_only(target)
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ObservatoireError(
            f"Impossible d'écrire {target} : le dossier {parent} n'est pas accessible en écriture pour l'utilisateur "
            "qui lance la commande. Donnez-lui ce droit, ou choisissez un autre dossier avec --sortie.")


def _read_only(target: Path) -> ObservatoireError:
    return ObservatoireError(
        f"Le dossier {target} est en lecture seule pour l'utilisateur qui lance la commande : il n'est pas "
        "remplacé, rien n'est modifié. Rendez-le modifiable (chmod u+w), ou choisissez un autre dossier avec "
        "--sortie, puis relancez.")


def staging(target: Path, owner: str = "") -> Path:
    """A new empty folder beside `target`, to build its replacement in (named after `owner`,
    the warehouse's tag). A `target` made read-only is a wish not to have it replaced: refused
    in French, before anything is touched."""
    if target.is_dir() and not target.is_symlink() and not os.access(target, os.W_OK):
        raise _read_only(target)
    clean(target, owner)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=_prefix(target, owner), dir=target.parent))
    except PermissionError as exc:
        raise ObservatoireError(
            f"Impossible d'écrire {target} : le dossier {Path(exc.filename).parent} n'est pas accessible en "
            "écriture pour l'utilisateur qui lance la commande. Donnez-lui ce droit, ou choisissez un autre "
            "dossier avec --sortie.") from None


def swap(new: Path, target: Path, owner: str = "") -> None:
    """Put the complete `new` folder in place of `target` with two renames, then drop the old one."""
    os.chmod(new, 0o755)
    old = _old(target, owner)
    remove(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    remove(old)


def remove(path: Path) -> None:
    """Delete a folder of ours, even one left read-only; a French error if it really cannot be."""
    if path.is_symlink():
        path.unlink()
        return
    if not path.exists():
        return
    try:
        shutil.rmtree(path)
        return
    except OSError:
        pass
    try:      # read-only folders: give ourselves the right back, then retry
        os.chmod(path, 0o700)
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                if not os.path.islink(os.path.join(root, name)):
                    os.chmod(os.path.join(root, name), 0o700)
        shutil.rmtree(path)
    except OSError as exc:
        raise ObservatoireError(
            f"Le dossier {path}, laissé par un traitement précédent, ne peut pas être supprimé "
            f"({REASONS.get(exc.errno, exc.strerror)}) : il appartient sans doute à un autre utilisateur. "
            "Supprimez-le (ou faites-le supprimer par son propriétaire), puis relancez.") from None


def describe(exc: BaseException) -> str | None:
    """A French message for a file fault: an OSError, or DuckDB failing to read or write one of its
    files (its journal at COMMIT, say)."""
    if isinstance(exc, OSError):
        code, path = exc.errno, exc.filename
    elif isinstance(exc, duckdb.Error) and (found := DUCKDB_FILE.search(str(exc))):
        code = next((c for c in REASONS if os.strerror(c) in str(exc)), None)
        path = found.group(1)
    else:
        return None
    reason = REASONS.get(code, getattr(exc, "strerror", None) or str(exc))
    advice = ADVICE.get(code, "donnez les droits nécessaires à l'utilisateur qui lance la commande, ou "
                              "choisissez un autre dossier (--entrepot, --sortie)")
    where = f"le fichier ou dossier {path}" if path else "un fichier"
    return f"Impossible de lire ou d'écrire {where} ({reason}) : {advice}, puis relancez."
