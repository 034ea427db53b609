"""The `observatoire` command: one group, small commands, French messages."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from common.errors import LockedError, ObservatoireError
from common.observatory import PRODUCT_DIR, SETTINGS_NAME, Observatory

from . import click_fr
from .console import ProgressReporter, err, fr_count, fr_int, ingest_summary, out, shown

click_fr.install()

DEMO_DIR = PRODUCT_DIR / "data" / "demo" / "92"
EXIT_REJECTED, EXIT_LOCKED, EXIT_BLOCKED = 1, 3, 4

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Every command that writes to or reads from the warehouse can wait for another run's lock.
attendre_option = click.option("--attendre", type=float, default=0, metavar="SECONDES",
                               help="Si un autre traitement ou programme (un notebook…) tient l'entrepôt, "
                                    "l'attendre jusqu'à ce délai.")


def exit_code_of(exc: BaseException) -> int:
    """An expected failure said in French on the console; its exit code. Re-raises the others."""
    if isinstance(exc, LockedError):
        err.print(f"[bold red]Entrepôt occupé[/] : {shown(exc, lines=True)}")
        return EXIT_LOCKED
    if isinstance(exc, ObservatoireError):
        err.print(f"[bold red]Erreur[/] : {shown(exc, lines=True)}")
        return 1
    if isinstance(exc, KeyboardInterrupt):
        err.print("Interrompu : l'entrepôt est resté dans son état précédent.")
        return 130
    if isinstance(exc, Exception):      # a folder turned read-only, a full disk… : a file fault, said in French
        from common.files import describe

        message = describe(exc)
        if message is not None:
            err.print(f"[bold red]Erreur[/] : {shown(message, lines=True)}")
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


def _remember(ctx, param, value):
    """A global option, given before or after the command: kept for the whole invocation."""
    if value is not None:
        ctx.meta[f"observatoire.{param.name}"] = value
    return value


def global_options(function):
    """--dossier and --entrepot, accepted on the group and on every command."""
    function = click.option("--entrepot", type=click.Path(dir_okay=False, path_type=Path), expose_value=False,
                            callback=_remember, envvar="OBSERVATOIRE_ENTREPOT",
                            help="Fichier DuckDB de l'entrepôt (défaut : sortie/entrepot/observatoire.duckdb "
                                 "dans le dossier de l'observatoire ; variable OBSERVATOIRE_ENTREPOT).")(function)
    return click.option("--dossier", type=click.Path(file_okay=False, path_type=Path), expose_value=False,
                        callback=_remember,
                        help="Dossier de l'observatoire (défaut : celui où l'on se trouve, ou un dossier "
                             "parent ; variable OBSERVATOIRE_DOSSIER).")(function)


def observatory_of(ctx, demo: bool = False) -> Observatory:
    """The observatory this command works on: the demo's own folder with --demo; else the folder
    named by --dossier (or OBSERVATOIRE_DOSSIER) or the one the working directory lies in; else,
    with an explicit --entrepot only, the product's own settings (the Hauts-de-Seine's)."""
    from common.observatory import demo_observatory, find_root, locate, product_observatory

    entrepot = ctx.meta.get("observatoire.entrepot")
    if demo:
        obs = demo_observatory()
        if entrepot is not None and find_root(Path(entrepot).absolute().parent):
            raise ObservatoireError(f"{entrepot} est l'entrepôt d'un dossier d'observatoire : la démonstration "
                                    "n'y écrit jamais. Lancez « observatoire run --demo » sans --entrepot.")
        return obs.with_warehouse(entrepot)
    obs = locate(ctx.meta.get("observatoire.dossier"))
    if obs is not None:
        return obs.with_warehouse(entrepot)
    if entrepot is not None:
        return product_observatory().with_warehouse(entrepot)
    raise ObservatoireError(
        "Aucun dossier d'observatoire ici (ni dans les dossiers parents) : créez-en un avec « observatoire init "
        "DOSSIER --federation NOM --departement CODE », placez-vous dedans, ou nommez-le avec --dossier. "
        "Pour essayer l'outil : « observatoire run --demo ».")


@click.group(cls=Group, context_settings=CONTEXT, subcommand_metavar="COMMANDE [ARGUMENTS]...")
@global_options
@click.version_option(package_name="observatoire", message="observatoire %(version)s")
@click.pass_context
def cli(ctx):
    """Observatoire de l'impact social des centres sociaux et des EVS.

    Chaîne annuelle : extraits SENACS et journal d'activités -> entrepôt DuckDB ->
    indicateurs -> contrôles qualité -> rapports HTML. Chaque fédération a son dossier
    (« observatoire init ») ; les commandes lancées dedans l'utilisent.
    """
    ctx.obj = {}


@cli.command()
@click.argument("dossier", type=click.Path(file_okay=False, path_type=Path))
@click.option("--federation", "nom", required=True, metavar="NOM", help="Nom de la fédération, tel que les sites le montrent.")
@click.option("--departement", "departements", multiple=True, metavar="CODE",
              help="Département couvert (\"06\", \"2A\", \"974\") ; à répéter pour chacun.")
@click.option("--national", is_flag=True, help="L'observatoire couvre tous les départements (niveau national).")
def init(dossier, nom, departements, national):
    """Crée le dossier d'un observatoire : réglages, extraits, corrections, confirmations.

    Ensuite : déposez les extraits dans DOSSIER/extraits, placez-vous dans DOSSIER et
    lancez « observatoire run ».
    """
    from .folder import create

    path = create(dossier, nom, departements, national)
    out.print(f"Dossier d'observatoire créé : {path}")
    out.print("  observatoire.yaml  réglages (nom, départements, licence, contact, logo)")
    out.print("  extraits/          déposez-y les extraits reçus (senacs_AAAA.csv|.xlsx, activites_AAAA.csv|.xlsx)")
    out.print("  corrections.csv    corrections convenues avec les centres")
    out.print("  confirmations.csv  valeurs signalées que les centres confirment")
    out.print("  config/            facultatif : projet fédéral, pages, alias d'en-têtes, territoires")
    out.print(f"Ensuite : cd {dossier} && observatoire run")


@cli.command()
@global_options
@click.argument("chemins", nargs=-1, type=click.Path(exists=True, path_type=Path))
@attendre_option
@click.pass_context
def ingest(ctx, chemins, attendre):
    """Charge les extraits (fichiers ou dossiers ; par défaut le dossier extraits/ de
    l'observatoire) dans l'entrepôt.

    Fichiers reconnus : senacs_AAAA.csv|.xlsx et activites_AAAA.csv|.xlsx, à
    n'importe quelle profondeur. Un fichier déjà chargé à l'identique est ignoré ;
    une nouvelle version d'une année remplace l'ancienne en entier.
    """
    obs = observatory_of(ctx)
    chemins = chemins or _folder_extracts(obs)
    if not _ingest(obs, chemins, attendre):
        sys.exit(EXIT_REJECTED)


def _folder_extracts(obs: Observatory, usage: str = "indiquez des fichiers ou dossiers d'extraits.") -> tuple:
    """The folder's extraits/, when no path is given."""
    if obs.extraits is None:
        raise click.UsageError(usage)
    if not obs.extraits.is_dir() or not any(obs.extraits.iterdir()):
        raise ObservatoireError(f"Le dossier des extraits {obs.extraits} est vide : déposez-y les extraits reçus "
                                "(senacs_AAAA.csv|.xlsx, activites_AAAA.csv|.xlsx), puis relancez « observatoire run ».")
    return (obs.extraits,)


_LINE = re.compile(r"^Ligne \d+, ")
_QUOTED = re.compile(r"«[^»]*»")


def grouped_findings(details: list[str]) -> list[tuple[str, int]]:
    """A file's first findings for the console, the same finding on other lines said once: each
    distinct finding (a line's finding with its line number and quoted values set aside) as its first
    occurrence, with how many other lines of `details` repeat it. A file whose every activity names an
    action of an undeclared project prints one line, not ten alike."""
    groups: dict[str, list[str]] = {}
    for line in details:
        key = _QUOTED.sub("«»", _LINE.sub("", line)) if _LINE.match(line) else "\0" + line
        groups.setdefault(key, []).append(line)
    return [(lines[0], len(lines) - 1) for lines in groups.values()]


def _ingest(obs: Observatory, chemins, attendre: float) -> bool:
    from ingest.load import ingest_paths

    entrepot = obs.warehouse
    result = ingest_paths([Path(c) for c in chemins], entrepot, wait=attendre, reporter=ProgressReporter(),
                          observatory=obs)
    for folder, reason in result.unreadable:
        err.print(f"[bold yellow]Dossier illisible[/] {shown(folder)} : {reason} ; les extraits qu'il contient "
                  "éventuellement n'ont pas été chargés.")
    for f in result.files:
        if f.revision:
            err.print(f"[bold]Fichier remplacé[/] {shown(f.path.name)} : {shown(f.revision)}")
        if f.status == "rejeté":
            err.print(f"[bold red]Rejeté[/] {shown(f.path)} : {shown(f.message)}")
        elif f.lifted:
            err.print(f"{shown(f.path.name)} : {shown(f.message)}.")
        elif f.counts.get("bloquant") or f.counts.get("avertissement"):
            err.print(f"[yellow]Constats[/] {shown(f.path.name)} :")
            said = 0
            for line, alike in grouped_findings(f.details)[:10]:
                err.print(f"  - {shown(line)}" + (f" (même constat sur {fr_count(alike, 'autre ligne', 'autres lignes')})"
                                                  if alike else ""))
                said += 1 + alike
            more = f.counts.get("bloquant", 0) + f.counts.get("avertissement", 0) + f.counts.get("info", 0) - said
            if more > 0:
                err.print(f"  … et {fr_count(more, 'autre', 'autres')} : la page qualité de l'année les liste tous "
                          "(« observatoire run » l'écrit).")
            elif said > 10:
                err.print("  … la page qualité de l'année les liste tous (« observatoire run » l'écrit).")
    for name, kind, year, loaded in result.absent:
        err.print(f"[yellow]Absent du dossier des extraits[/] {shown(name)} ({kind} {year}, chargé le {loaded}) : ses "
                  f"lignes restent dans l'entrepôt et comptent toujours pour {year if kind == 'activites' else year - 1}. "
                  "Remettez-le dans extraits/, ou déposez-y le bon fichier de cette année sous son nom : il le remplacera.")
    if result.conflicts:
        err.print(f"[yellow]{fr_count(result.conflicts, 'ligne', 'lignes')} en doublon conflictuel[/] "
                  "(même structure, même enquête, valeurs différentes) exclues de « reponses ».")
    if result.ignored:
        err.print(fr_count(len(result.ignored), "fichier sans nom d'extrait ignoré.", "fichiers sans nom d'extrait ignorés."))
    out.print(ingest_summary(result))
    out.print(f"Entrepôt : {shown(entrepot.resolve())}")
    return not result.rejected and not result.unreadable


@cli.command()
@global_options
@click.option("--sans-docs", is_flag=True, help="Ne pas régénérer la documentation dbt (plus rapide).")
@attendre_option
@click.pass_context
def build(ctx, sans_docs, attendre):
    """Calcule les indicateurs (modèles dbt) à partir des extraits chargés.

    Exécute seeds, modèles et tests dbt dans l'entrepôt, puis génère la
    documentation dbt. Produit notamment la table « indicateurs ».
    """
    _build(observatory_of(ctx), not sans_docs, attendre)


def _build(obs: Observatory, docs: bool, attendre: float) -> None:
    from .build import build as run_build

    entrepot = obs.warehouse
    # progress on the console; each dbt model and test in the log file, beside the warehouse
    with _journal(obs, "build") as note, err.status("Calcul des indicateurs (dbt)…") as status:
        def on_event(message: str) -> None:
            note(message)
            status.update(f"Calcul des indicateurs (dbt) : {message}")

        if not err.is_terminal:
            err.print("Calcul des indicateurs (dbt)…")
        result = run_build(entrepot, docs=docs, wait=attendre, on_event=on_event, observatory=obs)
    err.print(f"  détail de chaque modèle et test : {_shown(obs.log_file)}")
    applied, refused = result.corrections
    if applied or refused:
        err.print(f"Corrections : {fr_count(applied, 'appliquée', 'appliquées')}, "
                  f"{fr_count(refused, 'refusée', 'refusées')} (voir la page qualité de l'année).")
    for warning in result.warnings:
        err.print(f"[yellow]{warning}[/]")
    out.print(f"Indicateurs calculés : {result.models} modèles, {result.tests} tests dbt réussis. "
              f"Table « indicateurs » dans {entrepot.resolve()}")


@cli.command()
@global_options
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
    if not _validate(observatory_of(ctx), sortie, attendre):
        sys.exit(EXIT_BLOCKED)


def _print_contacts(contacts: dict) -> None:
    """The analyst's workload: the structures to contact, in order, each with what to ask (the
    latest data year in full, the others counted)."""
    if not contacts:
        return
    latest = max(contacts)
    todo = contacts[latest]
    total = lambda year: getattr(contacts[year], "total", len(contacts[year]))     # the list holds the first ones
    said = (fr_count(total(latest), 'structure à contacter', 'structures à contacter') if total(latest)
            else "Aucune structure à contacter")     # as the quality page says it
    out.print(f"{said} cette année (données {latest}){' :' if todo else '.'}")
    for code, nom, asks in todo[:20]:
        out.print(f"  - {nom} ({code}) : " + " ; ".join(asks))
    if total(latest) > 20:
        out.print(f"  … et {fr_count(total(latest) - 20, 'autre', 'autres')} : voir la page qualité de l'année.")
    for year in sorted(contacts, reverse=True):
        if year != latest and contacts[year]:
            out.print(f"  {year} : {fr_count(total(year), 'structure à contacter', 'structures à contacter')}.")


def _validate(obs: Observatory, sortie, attendre: float, docs: bool = True) -> bool:
    from .validation import run_validation

    err.print("Contrôle qualité (Great Expectations)…")
    outcome = run_validation(obs.warehouse, sortie, attendre, docs=docs, observatory=obs)
    counts = outcome.counts
    _print_contacts(outcome.contacts or {})
    out.print(f"Constats : {fr_count(counts.get('bloquant', 0), 'bloquant', 'bloquants')}, "
              f"{fr_count(counts.get('avertissement', 0), 'avertissement', 'avertissements')}, "
              f"{fr_count(counts.get('info', 0), 'information', 'informations')}.")
    for gate in outcome.gates:
        if gate.attend is not None:
            out.print(f"  {gate.annee} : sans constat bloquant, mais ses chiffres ont changé et ses évolutions sur un an se "
                      f"comparent à {gate.attend}, retenue : sa publication précédente reste en place jusqu'à "
                      f"celle de {gate.attend}")
        elif gate.publie:
            out.print(f"  {gate.annee} : publiée" + (f" ({fr_count(gate.avertissements, 'avertissement signalé', 'avertissements signalés')} dans "
                                                     "la méthodologie)" if gate.avertissements else ""))
        else:
            kept = " ; la publication précédente reste en place" if gate.deja_publie else ""
            out.print(f"  [bold red]{gate.annee} : non publiée[/], {fr_count(gate.n_bloquants, 'constat bloquant', 'constats bloquants')}{kept} :")
            for message in gate.bloquants["message"].head(15):
                out.print(f"    - {shown(message)}")
            if gate.n_bloquants > 15:
                out.print(f"    … et {fr_count(gate.n_bloquants - 15, 'autre', 'autres')} : voir la page qualité de l'année.")
    if outcome.pages:
        out.print(f"Pages qualité : {shown(outcome.pages[0].parent)}")
    if outcome.data_docs is not None:
        out.print(f"Data Docs Great Expectations : {shown(outcome.data_docs)}")
    else:
        out.print("Data Docs Great Expectations : non produites avec --public-seulement "
                  "(« observatoire validate » les produit).")
    return all(g.publie for g in outcome.gates)


@cli.command()
@global_options
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
    _report(observatory_of(ctx), sortie, public_seulement, attendre)


def _report(obs: Observatory, sortie, public_seulement: bool, attendre: float) -> None:
    from .report import run_report

    err.print("Production du site…")
    audiences = ("public",) if public_seulement else ("public", "interne")
    results = run_report(obs.warehouse, sortie, audiences, attendre, on_progress=lambda m: err.print(f"  {m}"),
                         observatory=obs)
    for r in results:
        out.print(f"Site {r.audience} : {fr_int(r.pages)} pages dans {shown(r.path / 'index.html')}")


def _run_report(obs: Observatory, sortie, public_seulement: bool, attendre: float) -> None:
    """run's last step: the site shows published years only. With none yet (a first year held),
    there is no site to make: said, and the run goes on to its summary (what holds the year, what
    to do) instead of stopping on an error."""
    from ingest import warehouse as W

    con = W.connect(obs.warehouse, read_only=True)
    try:
        published = con.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_schema = 'publie' AND table_name = 'pub_indicateurs'").fetchall()[0][0]
    finally:
        con.close()
    if not published:
        err.print("Production du site : aucune année n'est encore publiée, pas de site à produire (voir le bilan).")
        return
    _report(obs, sortie, public_seulement, attendre)


def _size(value: float) -> float:
    if not 0.01 <= value <= 20:
        raise click.BadParameter(f"{str(value).replace('.', ',')} n'est pas entre 0,01 et 20.")
    return value


@cli.command()
@click.option("--echelle", type=click.Choice(["92", "national"]), default="92", show_default=True,
              help="92 : une soixantaine de structures ; national : environ 4 100 structures sur 10 ans.")
@click.option("--sortie", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Dossier où écrire les extraits.")
@click.option("--graine", type=int, default=92, show_default=True, metavar="ENTIER",
              help="Graine du tirage aléatoire.")
@click.option("--taille", type=float, default=1.0, metavar="FACTEUR", callback=lambda ctx, param, value: _size(value),
              help="Multiplie le nombre de structures, de 0,01 à 20 (mesures de performance) ; défaut : 1.")
@click.option("--departement", metavar="CODE",
              help="Les structures d'un autre département (59, 01, 2A, 974…), dans ses communes, selon sa "
                   "population, enquêtes seulement : pour essayer l'observatoire d'une fédération avant ses "
                   "vrais extraits. Remplace --echelle.")
@click.pass_context
def demo(ctx, echelle, sortie, graine, taille, departement):
    """Écrit des extraits de démonstration réalistes (formats variés, défauts courants)."""
    from .demo import generate

    if departement is not None and ctx.get_parameter_source("echelle") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--departement et --echelle ne vont pas ensemble : l'un ou l'autre.")
    truth = generate(sortie, departement if departement is not None else echelle, graine, taille)
    written = (f"{fr_int(len(truth.reponses))} réponses et {fr_int(len(truth.activites))} activités"
               if departement is None else
               f"{fr_int(len(truth.reponses))} réponses (enquêtes seulement : le journal d'activités suit le "
               "projet fédéral de votre fédération)")
    out.print(f"{written} écrites dans {sortie.resolve()}")


@cli.command()
@global_options
@click.argument("chemins", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--demo", "use_demo", is_flag=True, help="Utiliser les extraits de démonstration fournis (92).")
@click.option("--public-seulement", is_flag=True,
              help="Ne produire que le site public (sans documentation dbt ni Data Docs).")
@attendre_option
@click.pass_context
def run(ctx, chemins, use_demo, public_seulement, attendre):
    """Enchaîne toute la chaîne annuelle sur les extraits du dossier (ou ceux donnés, ou --demo).

    Chargement, calcul des indicateurs, contrôle qualité, publication des années
    sans constat bloquant et production des sites public et interne. Chaque étape
    tourne dans son propre processus : sa mémoire est rendue avant la suivante.
    Sans argument, dans un dossier d'observatoire : ses extraits (dossier extraits/).
    """
    obs = observatory_of(ctx, demo=use_demo)
    if use_demo:
        chemins = (DEMO_DIR,)
    chemins = chemins or _folder_extracts(obs, "indiquez des fichiers ou dossiers d'extraits, ou --demo.")
    from ingest import load  # noqa: F401  (pandas, DuckDB: imported once, shared by the steps)
    from ingest.warehouse import warehouse_lock

    entrepot = obs.warehouse
    entrepot.parent.mkdir(parents=True, exist_ok=True)
    _check_outputs(entrepot, public_seulement)
    with warehouse_lock(entrepot, attendre):
        # each step's child starts while the previous step works, and imports its libraries then
        build = _Step(_build, (obs, not public_seulement, attendre), WARM_UP["build"])   # docs: internal site
        ok = _Step(_ingest, (obs, chemins, attendre)).go()
        validate = _Step(_validate, (obs, None, attendre, not public_seulement), WARM_UP["validate"])
        build.go()
        report = _Step(_run_report, (obs, None, public_seulement, attendre), WARM_UP["report"])
        published = validate.go()
        report.go()
        _run_summary(obs, ok, public_seulement)      # under the lock: no other run has changed it yet
    if not ok:
        sys.exit(EXIT_REJECTED)
    if not published:
        sys.exit(EXIT_BLOCKED)


def _check_outputs(entrepot: Path, public_seulement: bool) -> None:
    """The site and quality folders `run` will replace can be: checked before ingest, so that a
    read-only site stops the run before validate publishes a year the site would not show."""
    from common.files import check_replaceable
    from .report import default_site_dir
    from .validation import default_quality_dir

    site = default_site_dir(entrepot)
    for target in [default_quality_dir(entrepot), site / "public"] + ([] if public_seulement else [site / "interne"]):
        check_replaceable(target)


def _shown(path: Path) -> str:
    """A path as the analyst typed it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


class _journal:
    """The run's log file beside the warehouse (journal.log): what the console summarises."""

    def __init__(self, obs: Observatory, step: str):
        self.path, self.step = obs.log_file, step

    def __enter__(self):
        from datetime import datetime

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("a", encoding="utf-8")
        self.file.write(f"\n== {self.step} — {datetime.now():%d/%m/%Y %H:%M:%S}\n")
        return lambda message: self.file.write(message + "\n")

    def __exit__(self, *exc):
        self.file.close()


def _run_summary(obs: Observatory, ok: bool, public_seulement: bool) -> None:
    """What the run published, what it held back and why, and what to do next: on stdout."""
    import duckdb

    from expectations.publication import DATA_YEAR, effective_findings_sql
    from ingest import warehouse as W
    from reports.qualite import FOR_THE_CENTRE
    from .report import default_site_dir
    from .validation import default_quality_dir

    try:
        con = W.connect(obs.warehouse, read_only=True, wait=5)
        try:
            years = con.execute("SELECT annee, statut, nb_bloquants, publie_le FROM publications "
                                "ORDER BY annee").fetchall()
            held_years = [y[0] for y in years if y[1] != "publiee"]
            # whether some blocking finding of a held year is a centre's answer to check (its feedback
            # sheet), or all are the federation's own to mend (a refused correction, a file's header)
            try:
                for_centres = bool(held_years) and con.execute(
                    f"SELECT count(*) FROM ({effective_findings_sql(con)}) WHERE severite = 'bloquant' "
                    f"AND code_structure IS NOT NULL AND {FOR_THE_CENTRE} "
                    f"AND {DATA_YEAR} IN (SELECT unnest(?))", [held_years]).fetchall()[0][0] > 0
            except duckdb.Error:          # findings not as validate leaves them: the general advice
                for_centres = True
        finally:
            con.close()
    except Exception as exc:           # the summary only repeats what the steps said: never fail the run
        err.print(f"(bilan indisponible : {exc})")
        return
    quality, site = default_quality_dir(obs.warehouse), default_site_dir(obs.warehouse)
    published = [y for y in years if y[1] == "publiee"]
    held = [y for y in years if y[1] != "publiee"]
    out.print("")
    out.print("[bold]Bilan[/]")
    if published:
        out.print("  Publiées : " + ", ".join(f"{a} (publiée le {d:%d/%m/%Y})" for a, _, _, d in published) + ".")
    for annee, _, n, previous in held:
        kept = f" ; sa publication du {previous:%d/%m/%Y} reste en ligne" if previous else ""
        out.print(f"  Retenue : {annee}, {fr_count(n, 'constat bloquant', 'constats bloquants')}{kept} "
                  f"(page qualité : {_shown(quality / f'{annee}.html')}).")
    if not ok:
        out.print("  Au moins un fichier a été rejeté ou un dossier n'a pu être lu : les indicateurs ont été "
                  "calculés sans eux (voir plus haut).")
    out.print("[bold]Ensuite[/]")
    corrections, confirmations = _shown(obs.corrections), _shown(obs.confirmations)
    if held:
        out.print(f"  1. Lisez la page qualité de chaque année retenue ({_shown(quality)}/) : ce qui bloque, par structure.")
    if held and not for_centres:
        out.print(f"  2. Ce qui bloque porte sur vos propres fichiers (extraits, en-têtes, {corrections}, {confirmations}), "
                  "pas sur la réponse d'un centre : aucune fiche à envoyer. Faites ce que dit chaque constat, puis "
                  "relancez « observatoire run ».")
    elif held:
        out.print(f"  2. Envoyez à chaque centre concerné sa fiche de retour : la page à son code et à son nom "
                  f"(<code>__<nom>.html) dans {_shown(quality / 'fiches_retour')}/<année>/ ; le CSV du même code "
                  "est votre relevé, pas pour le centre.")
        out.print(f"  3. Inscrivez ce qu'ils corrigent dans {corrections}, ce qu'ils confirment dans {confirmations}, "
                  "puis relancez « observatoire run ».")
    elif not ok:
        out.print("  Corrigez ou retirez les fichiers rejetés, puis relancez « observatoire run ».")
    else:
        out.print(f"  Le site public est prêt : copiez le dossier {_shown(site / 'public')}/ tel quel sur un serveur web.")
        if not public_seulement:
            out.print(f"  Le site interne ({_shown(site / 'interne')}/) reste à la fédération : pages des structures et qualité.")
    if published and obs.root is not None and obs.identity is not None and not obs.identity.adresse_observatoire:
        # a plaquette sent to a partner prints the sheets' addresses: relative ones lead nowhere on paper
        out.print(f"  Les plaquettes PDF impriment l'adresse des fiches sans celle du site : renseignez "
                  f"« adresse_observatoire » dans {_shown(obs.root / SETTINGS_NAME)} (l'adresse où vous publiez "
                  "le site public), puis relancez « observatoire run ».")


_FALSE = 10     # a step's child process ended well, and its step answered False
# What each step's child imports while it waits for the previous step (seconds of start-up).
WARM_UP = {"build": ("dbt.cli.main", "dbt.adapters.duckdb", "observatoire.build"),
           "validate": ("great_expectations", "great_expectations.expectations", "expectations.validate",
                        "observatoire.validation"),
           "report": ("reports.site", "observatoire.report")}


STEP_NAMES = {"_ingest": "chargement des extraits", "_build": "calcul des indicateurs",
              "_validate": "contrôle qualité", "_report": "production du site", "_run_report": "production du site"}


def killed_step(name: str, exitcode: int | None) -> str:
    """What to say when a step's process was stopped by a signal (exit code -N) from outside."""
    import signal

    try:
        which = signal.Signals(-exitcode).name if exitcode else "inconnu"
    except ValueError:
        which = f"n° {-exitcode}"
    cause = ("le plus souvent le système, faute de mémoire, ou une commande kill" if which == "SIGKILL" else
             "une commande kill, l'arrêt de la session ou de la machine")
    return (f"l'étape « {name} » a été arrêtée de l'extérieur (signal {which} : {cause}). Ce qu'elle "
            "écrivait n'a pas été mis en place : l'entrepôt et les sorties sont ceux de la dernière étape "
            "terminée. Relancez la commande ; si l'arrêt se reproduit, libérez de la mémoire (fermez d'autres "
            "programmes) ou lancez les étapes une à une (ingest, build, validate, report).")


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
        self.name = STEP_NAMES.get(function.__name__, function.__name__.strip("_"))
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
            if self.child.exitcode is None or self.child.exitcode < 0:
                err.print(f"[bold red]Erreur[/] : {killed_step(self.name, self.child.exitcode)}")
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
    # multiprocessing's resource tracker warns in English about the semaphores of a process pool
    # when a worker or step was killed: the kill is said in French already (the option passes on
    # to the tracker, started later with this interpreter's -W options).
    sys.warnoptions.append("ignore:resource_tracker:UserWarning")
    cli(prog_name="observatoire")


if __name__ == "__main__":
    main()
