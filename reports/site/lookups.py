"""The lookups every page kind shares: the published data of the site (reports/data.py), the page
spec, the unit tree of each year (which unit has a sheet, under which parent it is listed, what
it is compared with), and the wording of the rule of secrecy. Nothing here writes a page."""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

from markupsafe import Markup
from slugify import slugify

from common.errors import ObservatoireError
from common.names import file_stem

from .. import context as X
from ..data import Cell, SiteData, Unit
from ..formatting import date_longue, lecture, message, missing, nombre, pluriel, structures, typo, valeur
from ..pages import PageSpec

NIVEAUX = {"commune": "commune", "territoire": "territoire", "departement": "département", "national": "France"}
FOLDERS = {"commune": "communes", "territoire": "territoires", "departement": "departements"}
NIVEAUX_PLURIEL = {"territoire": "territoires", "departement": "départements", "commune": "communes"}


def measure(r: dict) -> str:
    """What an indicator's values count, for a chart's legend ("Nombre de personnes")."""
    text = str(r.get("libelle_unite") or "Valeurs")
    return text[:1].upper() + text[1:]


def each_year(r: dict, cell) -> str:
    """What an evolution chart draws, when its reading compares only the structures of both years."""
    if not r.get("compare_sur_panel") or cell is None or missing(cell.n_panel_un_an):
        return ""
    return (", sur les répondantes de chaque année (l'évolution écrite au-dessus ne compare que les structures "
            "ayant répondu les deux années)")


def slug(code) -> str:
    return slugify(str(code)) or "x"


def ordre(name) -> tuple[str, str]:
    """A name's place in a French list: accents, case and ligatures aside, so that Châtenay-Malabry
    and Châtillon come before Chaville, and Écouen among the E (not after Z)."""
    text = str(name or "")
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return bare.casefold().replace("œ", "oe").replace("æ", "ae"), text


def fichier(indicateur) -> str:
    """The page name of an indicator: its registry id, made safe for a file name and a URL."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(indicateur)) or "x"


class Lookups:
    """The site's data and spec, with what the pages look up in them."""

    def __init__(self, data: SiteData, spec: PageSpec, con=None, plaquettes: bool = True):
        self.d, self.spec, self.con, self.plaquettes = data, spec, con, plaquettes
        self.pdfs: list[tuple[str, tuple[str, ...]]] = []      # (path, its HTML versions) of each yearly plaquette to print
        self.reg = data.registre
        self.verdicts = data.libelles.get("verdict", {})
        self.motifs = data.libelles.get("motif_sans_verdict", {})     # why a change has no verdict
        self.absent: dict[str, list[int]] = defaultdict(list)      # section title -> years left out
        self.trees = {a: self._tree(a) for a in data.annees}
        # the latest year with a main unit, i.e. with the survey's figures: a last year known only from
        # the federation's activity log (its survey not in yet) has none, and the home page, the site's
        # name, the indicator pages and the board would lose every figure (and every year's pages and
        # plaquettes change name when the survey comes)
        last = next((a for a in reversed(data.annees) if data.principal(a)), data.annees[-1] if data.annees else None)
        self.last = last
        self.main = data.principal(last) if last else None
        dates = [p["publie_le"] for a, p in data.publications.items() if a in data.annees and p.get("publie_le")]
        self.date_site = date_longue(max(dates)) if dates else ""
        # the disclosure minimum most indicators follow, and its words (dbt: pub_parametres)
        self.n_min = data.parametres["secret_n_min"]
        self.n_min_words = data.parametres["secret_n_min_en_lettres"]
        # a territory level of its own (EPT, declared territories), not one that is its département
        self.territoires = any(u.niveau == "territoire" and not u.confondu
                               for units in data.unites.values() for u in units.values())

    def label(self, domaine: str, code) -> str:
        """The French label of a code (pub_libelles); a code without one is an error, not a blank."""
        labels = self.d.libelles.get(domaine, {})
        if code not in labels:
            raise ObservatoireError(f"Le code « {code} » (domaine « {domaine} ») n'a pas de libellé dans "
                                    "data/seeds/libelles_codes.csv : ajoutez-le, puis relancez « observatoire run ».")
        return labels[code]

    def title(self, s: dict) -> str:
        """A section's title from the page spec; `titre_sans_territoire` where there is no territory level."""
        return (not self.territoires and s.get("titre_sans_territoire")) or s.get("titre", "")

    def named(self, r: dict, text: str | None = None) -> str:
        """An indicator's label with its action's name when it shows only the action's code
        ("Activités fédérales de l'action A1.1 — Animer le réseau")."""
        text = str(text or r.get("libelle") or "")
        action, name = r.get("action"), r.get("libelle_action")
        if action and name and str(action) in text and str(name) not in text:
            return typo(f"{text} — {name}")
        return text

    def fmt(self, indicateur: str, value) -> str:
        r = self.reg[indicateur]
        return valeur(value, r["unite"], r["decimales"])

    def cell(self, annee: int, unit: Unit | None, indicateur: str) -> Cell | None:
        if unit is None:
            return None
        return self.d.cells.get((annee, unit.niveau, unit.code), {}).get(indicateur)

    def reading(self, cell: Cell | None, periode: str, annee: int, court: bool = False) -> str:
        if cell is None:
            return "Pas d'évolution publiée."
        r = self.reg[cell.indicateur]
        return lecture(cell, periode, annee, r["decimales"], self.verdicts, r["n_min"], r["comptees"], self.motifs,
                       court=court)

    def messages(self, annee: int | None, unit: Unit | None) -> list[str]:
        """A unit's key messages of a year, chosen by dbt (pub_messages), in their sentences."""
        if unit is None or annee is None:
            return []
        rows = self.d.messages.get((annee, unit.niveau, unit.code), [])
        return [t for t in (message(m, self.reg, self.verdicts) for m in rows) if t]

    def year_date(self, annee: int) -> str:
        p = self.d.publications.get(annee) or {}
        return date_longue(p.get("publie_le"))

    def series(self, indicateur: str, unit: Unit, until: int) -> tuple[list, list]:
        years, values = [], []
        for a in self.d.annees:
            if a > until:
                break
            c = self.d.cells.get((a, unit.niveau, unit.code), {}).get(indicateur)
            if c is not None:
                years.append(a)
                values.append(c.valeur)
        return years, values

    def has_data(self, annee: int, unit: Unit | None, rows: list[dict]) -> bool:
        """Whether any of these indicators has a figure for the unit that year (published or withheld)."""
        if unit is None:
            return False
        cells = self.d.cells.get((annee, unit.niveau, unit.code), {})
        return any(r["indicateur"] in cells for r in rows) or (unit.nb_secrets > 0 and any(
            (annee, unit.niveau, unit.code, r["indicateur"]) in self.d.secrets for r in rows))

    def _tree(self, annee: int) -> dict:
        """Which unit has a page, under which parent it is listed, and what it is compared with."""
        units = self.d.unites.get(annee, {})
        main = self.d.principal(annee)

        def parent(u: Unit, shown: bool = False) -> Unit | None:
            """The unit a unit is listed under: its parent, or its département for a territory that is
            its département. `shown`: the one whose published figures count it, above a parent with
            no figure of its own either (a territory of one or two centres)."""
            p = units.get((u.niveau_parent, u.code_parent)) if u.code_parent else None
            while p is not None and (p.confondu or shown and not (p.a_une_fiche or p.principal)):
                p = units.get((p.niveau_parent, p.code_parent)) if p.code_parent else None
            return p

        # a unit listed without a sheet (dbt's a_une_fiche: a commune or territory with no figure of its own): where it
        # is listed, it says how many centres it has and points to the unit whose figures count them
        small = {key for key, u in units.items() if not (u.a_une_fiche or u.principal or u.confondu)}
        href, parents, counted, children = {}, {}, {}, defaultdict(list)
        names = defaultdict(int)
        for key, u in units.items():
            names[(u.niveau, u.libelle)] += 1
            if u.principal or u.confondu:
                continue
            p = parent(u)
            parents[key] = p
            counted[key] = parent(u, shown=True)
            if p is not None:
                children[(p.niveau, p.code)].append(u)
            if key not in small:
                href[key] = f"{FOLDERS[u.niveau]}/{file_stem(u.code)}.html"
        return {"units": units, "main": main, "href": href, "parent": parents, "compte": counted, "children": children,
                "small": small, "homonymes": {k for k, n in names.items() if n > 1}}

    def compared_with(self, annee: int, u: Unit) -> Unit | None:
        """The unit a sheet compares its figures with, as dbt chose it (pub_unites)."""
        if u.code_comparaison is None:
            return None
        return self.trees[annee]["units"].get((u.niveau_comparaison, u.code_comparaison))

    def unit_title(self, annee: int, u: Unit) -> str:
        """A unit's name, with its parent when another unit of the same level has the same name."""
        if (u.niveau, u.libelle) in self.trees[annee]["homonymes"]:
            return f"{u.libelle} ({u.libelle_parent or u.code_parent})"
        return str(u.libelle or u.code)

    def pointer(self, annee: int, u: Unit, href: str | None = None) -> Markup:
        """A commune too small to be shown: how many centres, and whose figures count them (the
        name of that unit a link to its sheet, `href`, when it has one)."""
        p = self.trees[annee]["compte"].get((u.niveau, u.code)) or self.trees[annee]["main"]
        # "de Vallée Sud-Grand Paris", but "du département (Moselle)": a département's name wants an article
        before, name, after = ("de son territoire", "", "") if p is None else \
            ("du département (", p.libelle, ")") if p.niveau == "departement" else ("de ", p.libelle, "")
        head = typo(f"{u.libelle} : {structures(u.nb_cs, u.nb_evs)} ; ses chiffres sont comptés dans ceux {before}")
        where = Markup('<a href="{}">{}</a>').format(href, typo(name)) if href and name else typo(name)
        return Markup("{}{}{}.").format(head, where, after)

    def too_few(self, levels: set[str], communes: str = "Ces communes") -> str:
        """Why some communes have no sheet, and whose figures count them (`levels`: of those units)."""
        where = ("de leur territoire" if levels <= {"territoire"} else
                 "du département" if "territoire" not in levels else "de leur territoire ou du département")
        return typo(f"{communes} ont trop peu de structures répondantes pour publier leurs chiffres "
                    f"({self.minimum()}) : ils sont comptés dans ceux {where}.")

    def minimum(self) -> str:
        """« il en faut au moins trois »: the disclosure minimum, in words."""
        return f"il en faut au moins {self.n_min_words}"

    def without_sheet(self, n: int, niveau: str) -> str:
        """On a unit's sheet, before the list of its `n` communes that have none."""
        ce = "ce département" if niveau == "departement" else "ce territoire"
        return typo(f"Une commune n'a pas de fiche : elle a trop peu de structures répondantes pour publier ses "
                    f"chiffres ({self.minimum()}), qui sont comptés dans ceux de {ce}." if n == 1 else
                    f"{nombre(n)} communes n'ont pas de fiche : elles ont trop peu de structures répondantes pour "
                    f"publier leurs chiffres ({self.minimum()}), qui sont comptés dans ceux de {ce}.") if n else ""

    def tiles(self, annee: int, unit: Unit | None, rows: list[dict]) -> list[dict]:
        out = []
        # the national figure beside the main unit's (pub_comparaison_nationale is the main unit's)
        france = X.national_beside(self.d, self.reg, annee) if unit is not None and unit.principal else {}
        for r in rows:
            c = self.cell(annee, unit, r["indicateur"])
            if c is None:
                continue
            nN = ""
            if r["declinee_par_unite"] and c.n_structures is not None and c.n_total:
                nN = f"n = {nombre(c.n_structures)} / N = {nombre(c.n_total)}"
            out.append({"valeur": self.fmt(r["indicateur"], c.valeur), "qualificatif": r.get("qualificatif") or "",
                        "libelle": self.named(r, r["libelle_court"] or r["libelle"]),
                        "indicateur": r["indicateur"], "nN": nN, "taux": X.rate(self.reg, c),
                        "national": france.get(r["indicateur"])})
        return out

    def sheets(self, annee: int) -> dict:
        tree = self.trees[annee]
        links, small, levels, kinds = [], [], set(), set()
        national = tree["main"] is not None and tree["main"].niveau == "national"
        for level in ("departement", "territoire") if national else ("territoire", "commune"):
            for key, u in sorted(tree["units"].items(), key=lambda kv: ordre(kv[1].libelle)):
                if u.niveau != level or (key not in tree["href"] and key not in tree["small"]):
                    continue
                if key in tree["small"]:        # no page: the unit that counts it is a link to its own
                    p = tree["compte"].get(key) or tree["main"]
                    small.append(self.pointer(annee, u, tree["href"].get((p.niveau, p.code)) if p else None))
                    levels.add(p.niveau if p else "")
                    kinds.add(u.niveau)
                else:
                    links.append({"href": tree["href"][key], "texte": self.unit_title(annee, u),
                                  "niveau": NIVEAUX[level]})
        # the printed plaquette lists the sheets only: those without one are "the others" there
        others = "Les autres " + " et ".join(NIVEAUX_PLURIEL[k] for k in ("departement", "territoire", "commune")
                                              if k in kinds)
        return {"liens": links, "petites": small, "note": self.too_few(levels) if small else "",
                "note_imprimee": self.too_few(levels, others) if small else ""}

    def national_rows(self, annee: int) -> list[dict]:
        rows = []
        for r in self.d.nationale.get(annee, []):
            i = r["indicateur"]
            gap = r["ecart_annees"]
            when = str(r["annee_nationale"])
            if gap:
                when += f" ({pluriel(abs(gap), 'an', 'ans')} {'plus tôt' if gap > 0 else 'plus tard'})"
            rows.append({"indicateur": i, "libelle": self.reg[i]["libelle"], "valeur": self.fmt(i, r["valeur"]),
                         "nationale": self.fmt(i, r["valeur_nationale"]), "annee_nationale": when,
                         "note": r["note_nationale"] or "", "editeur": r["editeur_source"] or "",
                         "titre_source": r["titre_source"] or "", "url": r["source_nationale"] or ""})
        return rows
