"""The `observatoire` command: one group, small commands, French messages."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ingest.config import PROJECT_DIR
from common.errors import LockedError, ObservatoireError

from . import click_fr
from .console import ProgressReporter, err, fr_count, fr_int, ingest_summary, out

click_fr.install()

DEFAULT_WAREHOUSE = Path("sortie") / "entrepot" / "observatoire.duckdb"
DEMO_DIR = PROJECT_DIR / "data" / "demo" / "92"
EXIT_REJECTED, EXIT_LOCKED, EXIT_BLOCKED = 1, 3, 4

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Every command that writes to or reads from the warehouse can wait for another run's lock.
attendre_option = click.option("--attendre", type=float, default=0, metavar="SECONDES",
                               help="Si un autre traitement ou programme (un notebook…) tient l'entrepôt, "
                                    "l'attendre jusqu'à ce délai.")


def exit_code_of(exc: BaseException) -> int:
    """An expected failure said in French on the console; its exit code. Re-raises the others."""
    if isinstance(exc, LockedError):
        err.print(f"[bold red]Entrepôt occupé[/] : {exc}")
        return EXIT_LOCKED
    if isinstance(exc, ObservatoireError):
        err.print(f"[bold red]Erreur[/] : {exc}")
        return 1
    if isinstance(exc, KeyboardInterrupt):
        err.print("Interrompu : l'entrepôt est resté dans son état précédent.")
        return 130
    if isinstance(exc, Exception):      # a folder turned read-only, a full disk… : a file fault, said in French
        from common.files import describe

        message = describe(exc)
        if message is not None:
            err.print(f"[bold red]Erreur[/] : {message}")
            return 1
    raise exc


class Group(click.Group):
    """Turns expected failures into a French message and an exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ObservatoireError, KeyboardInterrupt, Exception) as exc:
            if isinstance(exc, click.exceptions.ClickException | click.exceptions.Exit | click.exceptions.Abort):
                raise
            sys.exit(exit_code_of(exc))


@click.group(cls=Group, context_settings=CONTEXT, subcommand_metavar="COMMANDE [ARGUMENTS]...")
@click.option("--entrepot", type=click.Path(dir_okay=False, path_type=Path), envvar="OBSERVATOIRE_ENTREPOT",
              default=DEFAULT_WAREHOUSE, show_default=True,
              help="Fichier DuckDB de l'entrepôt (variable OBSERVATOIRE_ENTREPOT).")
@click.version_option(package_name="observatoire", message="observatoire %(version)s")
@click.pass_context
def cli(ctx, entrepot: Path):
    """Observatoire de l'impact social des centres sociaux et des EVS.

    Chaîne annuelle : extraits SENACS et journal d'activités -> entrepôt DuckDB ->
    indicateurs -> contrôles qualité -> rapports HTML.
    """
    ctx.obj = {"entrepot": entrepot}


@cli.command()
@click.argument("chemins", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@attendre_option
@click.pass_context
def ingest(ctx, chemins, attendre):
    """Charge les extraits (fichiers ou dossiers) dans l'entrepôt.

    Fichiers reconnus : senacs_AAAA.csv|.xlsx et activites_AAAA.csv|.xlsx, à
    n'importe quelle profondeur. Un fichier déjà chargé à l'identique est ignoré ;
    une nouvelle version d'une année remplace l'ancienne en entier.
    """
    if not _ingest(ctx.obj["entrepot"], chemins, attendre):
        sys.exit(EXIT_REJECTED)


def _ingest(entrepot: Path, chemins, attendre: float) -> bool:
    from ingest.load import ingest_paths

    result = ingest_paths([Path(c) for c in chemins], entrepot, wait=attendre, reporter=ProgressReporter())
    for folder, reason in result.unreadable:
        err.print(f"[bold yellow]Dossier illisible[/] {folder} : {reason} ; les extraits qu'il contient "
                  "éventuellement n'ont pas été chargés.")
    for f in result.files:
        if f.status == "rejeté":
            err.print(f"[bold red]Rejeté[/] {f.path} : {f.message}")
        elif f.lifted:
            err.print(f"{f.path.name} : {f.message}.")
        elif f.counts.get("bloquant") or f.counts.get("avertissement"):
            err.print(f"[yellow]Constats[/] {f.path.name} :")
            for line in f.details[:10]:
                err.print(f"  - {line}")
            more = f.counts.get("bloquant", 0) + f.counts.get("avertissement", 0) + f.counts.get("info", 0) - 10
            if more > 0:
                err.print(f"  … et {fr_count(more, 'autre', 'autres')} : voir la table constats_qualite.")
    if result.conflicts:
        err.print(f"[yellow]{fr_count(result.conflicts, 'ligne', 'lignes')} en doublon conflictuel[/] "
                  "(même structure, même enquête, valeurs différentes) exclues de « reponses ».")
    if result.ignored:
        err.print(fr_count(len(result.ignored), "fichier sans nom d'extrait ignoré.", "fichiers sans nom d'extrait ignorés."))
    out.print(ingest_summary(result))
    out.print(f"Entrepôt : {entrepot.resolve()}")
    return not result.rejected and not result.unreadable


@cli.command()
@click.option("--sans-docs", is_flag=True, help="Ne pas régénérer la documentation dbt (plus rapide).")
@attendre_option
@click.pass_context
def build(ctx, sans_docs, attendre):
    """Calcule les indicateurs (modèles dbt) à partir des extraits chargés.

    Exécute seeds, modèles et tests dbt dans l'entrepôt, puis génère la
    documentation dbt. Produit notamment la table « indicateurs ».
    """
    _build(ctx.obj["entrepot"], not sans_docs, attendre)


def _build(entrepot: Path, docs: bool, attendre: float) -> None:
    from .build import build as run_build

    err.print("Calcul des indicateurs (dbt)…")
    result = run_build(entrepot, docs=docs, wait=attendre, on_event=lambda m: err.print(f"  {m}"))
    applied, refused = result.corrections
    if applied or refused:
        err.print(f"Corrections : {fr_count(applied, 'appliquée', 'appliquées')}, "
                  f"{fr_count(refused, 'refusée', 'refusées')} (voir constats_qualite).")
    for warning in result.warnings:
        err.print(f"[yellow]{warning}[/]")
    out.print(f"Indicateurs calculés : {result.models} modèles, {result.tests} tests dbt réussis. "
              f"Table « indicateurs » dans {entrepot.resolve()}")


@cli.command()
@click.option("--sortie", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dossier des sorties qualité (défaut : le dossier qualite à côté de l'entrepôt).")
@attendre_option
@click.pass_context
def validate(ctx, sortie, attendre):
    """Contrôle les données et les indicateurs, puis publie les années sans constat bloquant.

    Exécute les suites Great Expectations, enregistre chaque constat dans
    « constats_qualite », écrit une page qualité par année, une fiche de retour par
    structure et les Data Docs. Une année avec un constat bloquant n'est pas publiée.
    """
    if not _validate(ctx.obj["entrepot"], sortie, attendre):
        sys.exit(EXIT_BLOCKED)


def _print_contacts(contacts: dict) -> None:
    """The analyst's workload: the structures to contact, in order, each with what to ask (the
    latest data year in full, the others counted)."""
    if not contacts:
        return
    latest = max(contacts)
    todo = contacts[latest]
    out.print(f"{fr_count(len(todo), 'structure à contacter', 'structures à contacter')} cette année "
              f"(données {latest}){' :' if todo else '.'}")
    for code, nom, asks in todo[:20]:
        out.print(f"  - {nom} ({code}) : " + " ; ".join(asks))
    if len(todo) > 20:
        out.print(f"  … et {fr_count(len(todo) - 20, 'autre', 'autres')} : voir la page qualité de l'année.")
    for year in sorted(contacts, reverse=True):
        if year != latest and contacts[year]:
            out.print(f"  {year} : {fr_count(len(contacts[year]), 'structure à contacter', 'structures à contacter')}.")


def _validate(entrepot: Path, sortie, attendre: float, docs: bool = True) -> bool:
    from .validation import run_validation

    err.print("Contrôle qualité (Great Expectations)…")
    outcome = run_validation(entrepot, sortie, attendre, docs=docs)
    counts = outcome.counts
    _print_contacts(outcome.contacts or {})
    out.print(f"Constats : {fr_count(counts.get('bloquant', 0), 'bloquant', 'bloquants')}, "
              f"{fr_count(counts.get('avertissement', 0), 'avertissement', 'avertissements')}, "
              f"{fr_count(counts.get('info', 0), 'information', 'informations')}.")
    for gate in outcome.gates:
        if gate.publie:
            out.print(f"  {gate.annee} : publiée" + (f" ({fr_count(gate.avertissements, 'avertissement signalé', 'avertissements signalés')} dans "
                                                     "la méthodologie)" if gate.avertissements else ""))
        else:
            kept = " ; la publication précédente reste en place" if gate.deja_publie else ""
            err.print(f"  [bold red]{gate.annee} : non publiée[/], {fr_count(len(gate.bloquants), 'constat bloquant', 'constats bloquants')}{kept} :")
            for message in gate.bloquants["message"].head(15):
                err.print(f"    - {message}")
            if len(gate.bloquants) > 15:
                err.print(f"    … et {fr_count(len(gate.bloquants) - 15, 'autre', 'autres')} : voir la page qualité de l'année.")
    if outcome.pages:
        out.print(f"Pages qualité : {outcome.pages[0].parent}")
    if outcome.data_docs is not None:
        out.print(f"Data Docs Great Expectations : {outcome.data_docs}")
    else:
        out.print("Data Docs Great Expectations : non produites avec --public-seulement "
                  "(« observatoire validate » les produit).")
    return all(g.publie for g in outcome.gates)


@cli.command()
@click.option("--sortie", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dossier du site (défaut : sortie/site, à côté du dossier de l'entrepôt).")
@click.option("--public-seulement", is_flag=True, help="Ne produire que le site public.")
@attendre_option
@click.pass_context
def report(ctx, sortie, public_seulement, attendre):
    """Produit le site HTML de l'observatoire à partir des années publiées.

    Deux sites : « public » (partenaires ; règle du secret appliquée, aucune page
    par structure) et « interne » (la fédération ; pages par structure, qualité,
    documentation dbt et Data Docs).
    """
    _report(ctx.obj["entrepot"], sortie, public_seulement, attendre)


def _report(entrepot: Path, sortie, public_seulement: bool, attendre: float) -> None:
    from .report import run_report

    err.print("Production du site…")
    audiences = ("public",) if public_seulement else ("public", "interne")
    results = run_report(entrepot, sortie, audiences, attendre, on_progress=lambda m: err.print(f"  {m}"))
    for r in results:
        out.print(f"Site {r.audience} : {fr_int(r.pages)} pages dans {r.path / 'index.html'}")


@cli.command()
@click.option("--echelle", type=click.Choice(["92", "national"]), default="92", show_default=True,
              help="92 : une soixantaine de structures ; national : environ 4 100 structures sur 10 ans.")
@click.option("--sortie", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Dossier où écrire les extraits.")
@click.option("--graine", type=int, default=92, show_default=True, help="Graine du tirage aléatoire.")
@click.option("--taille", type=click.FloatRange(min=0.01, max=20), default=1.0, show_default=True,
              help="Multiplie le nombre de structures (mesures de performance).")
def demo(echelle, sortie, graine, taille):
    """Écrit des extraits de démonstration réalistes (formats variés, défauts courants)."""
    from .demo import generate

    truth = generate(sortie, echelle, graine, taille)
    out.print(f"{fr_int(len(truth.reponses))} réponses et {fr_int(len(truth.activites))} activités "
              f"écrites dans {sortie.resolve()}")


@cli.command()
@click.argument("chemins", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--demo", "use_demo", is_flag=True, help="Utiliser les extraits de démonstration fournis (92).")
@click.option("--public-seulement", is_flag=True,
              help="Ne produire que le site public (sans documentation dbt ni Data Docs).")
@attendre_option
@click.pass_context
def run(ctx, chemins, use_demo, public_seulement, attendre):
    """Enchaîne toute la chaîne annuelle sur les extraits donnés (ou --demo).

    Chargement, calcul des indicateurs, contrôle qualité, publication des années
    sans constat bloquant et production des sites public et interne. Chaque étape
    tourne dans son propre processus : sa mémoire est rendue avant la suivante.
    """
    if use_demo:
        chemins = (DEMO_DIR,)
    if not chemins:
        raise click.UsageError("indiquez des fichiers ou dossiers d'extraits, ou --demo.")
    from ingest import load  # noqa: F401  (pandas, DuckDB: imported once, shared by the steps)
    from ingest.warehouse import warehouse_lock

    entrepot = ctx.obj["entrepot"]
    with warehouse_lock(entrepot, attendre):
        # each step's child starts while the previous step works, and imports its libraries then
        build = _Step(_build, (entrepot, not public_seulement, attendre), WARM_UP["build"])   # docs: internal site
        ok = _Step(_ingest, (entrepot, chemins, attendre)).go()
        validate = _Step(_validate, (entrepot, None, attendre, not public_seulement), WARM_UP["validate"])
        build.go()
        report = _Step(_report, (entrepot, None, public_seulement, attendre), WARM_UP["report"])
        published = validate.go()
        report.go()
    if not ok:
        err.print("[bold red]Au moins un fichier a été rejeté ou un dossier n'a pu être lu[/] : les indicateurs "
                  "ont été calculés sans eux.")
        sys.exit(EXIT_REJECTED)
    if not published:
        sys.exit(EXIT_BLOCKED)


_FALSE = 10     # a step's child process ended well, and its step answered False
# What each step's child imports while it waits for the previous step (seconds of start-up).
WARM_UP = {"build": ("dbt.cli.main", "dbt.adapters.duckdb", "observatoire.build"),
           "validate": ("great_expectations", "great_expectations.expectations", "expectations.validate",
                        "observatoire.validation"),
           "report": ("reports.site", "observatoire.report")}


class _Step:
    """One step of `run` in a forked child process, so that what it holds (dbt, Great
    Expectations, DataFrames, DuckDB's buffers) goes back to the system before the next step.
    The child is forked early and imports its libraries while the previous step works, then
    waits for `go`. It inherits the warehouse lock (re-entrant). A failure stops the run with
    its exit code; the children still waiting then end without doing anything."""

    _waiting: list["_Step"] = []

    def __init__(self, function, args, modules=()):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.receive, self.send = context.Pipe(duplex=False)
        self.child = context.Process(target=_step_child, args=(function, args, modules, self.receive, os.getpid()))
        self.child.start()
        _Step._waiting.append(self)

    def go(self) -> bool:
        _Step._waiting.remove(self)
        self.send.send(True)
        try:
            self.child.join()
        except KeyboardInterrupt:
            self.child.join()
            _Step.cancel_all()
            raise
        if self.child.exitcode not in (0, _FALSE):
            _Step.cancel_all()
            sys.exit(self.child.exitcode if self.child.exitcode and self.child.exitcode > 0 else 1)
        return self.child.exitcode == 0

    @classmethod
    def cancel_all(cls) -> None:
        for step in cls._waiting:
            step.send.send(False)
            step.child.join()
        cls._waiting.clear()


def _step_child(function, args, modules, receive, parent) -> None:
    import importlib

    from common.processes import die_with_parent

    die_with_parent(parent)

    from ingest.warehouse import adopt_parent_locks

    for module in modules:
        importlib.import_module(module)
    if not receive.recv():          # the run stopped before this step
        sys.exit(0)
    adopt_parent_locks()
    try:
        answer = function(*args)
    except BaseException as exc:      # said in French in the child, which owns the console output
        if isinstance(exc, SystemExit):
            raise
        sys.exit(exit_code_of(exc))
    sys.exit(_FALSE if answer is False else 0)


def main() -> None:
    cli(prog_name="observatoire")


if __name__ == "__main__":
    main()
