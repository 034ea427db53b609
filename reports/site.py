"""`observatoire report`: the static observatory site, in French, for two audiences.

    public   département, territories and communes; secret values never appear; no structure page
    interne  adds a page per structure, the quality pages, the dbt docs and the GX Data Docs

Each audience is built in a temporary folder and swapped in whole: a failed build never
leaves a half site. Links are relative, so the folder can be copied to any web server.
"""
from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from slugify import slugify

from observatoire import fichiers

from . import charts as C
from .data import SiteData, load
from .formatting import csv_text, nombre, pourcentage, valeur

TEMPLATES = Path(__file__).resolve().parent / "templates" / "site"
STATIC = Path(__file__).resolve().parent / "static"
AUDIENCES = ("public", "interne")
NIVEAUX = {"commune": "Commune", "territoire": "Territoire", "departement": "Département", "national": "France"}
SENS = {"hausse": "une hausse est un progrès", "baisse": "une baisse est un progrès", "neutre": "sans sens"}
THEMES = ["acces_droits", "numerique", "parentalite", "scolarite", "langue_francaise", "insertion", "sante",
          "culture", "vacances", "vieillissement", "discriminations", "ecologie"]
OPEN_DATA_COLUMNS = ["indicateur", "annee", "niveau", "code", "libelle_unite", "valeur", "numerateur",
                     "denominateur", "n_structures", "statut"]
DICTIONARY = [
    ("indicateur", "Identifiant de l'indicateur (voir registre.csv)"),
    ("annee", "Année de données (l'année que décrivent les réponses, pas l'année d'enquête)"),
    ("niveau", "commune, territoire, departement ou national"),
    ("code", "Code INSEE de la commune, SIREN de l'EPT, code du département ou FR"),
    ("libelle_unite", "Nom de la commune, du territoire ou du département"),
    ("valeur", "Valeur de l'indicateur ; vide si secrète ou non disponible"),
    ("numerateur", "Numérateur du calcul ; vide si secret"),
    ("denominateur", "Dénominateur du calcul (indicateurs de type ratio) ; vide si secret"),
    ("n_structures", "Nombre de structures (ou d'activités) entrées dans le calcul"),
    ("statut", "publie, secret (trop peu de structures) ou non_disponible"),
]


@dataclass
class SiteResult:
    audience: str
    path: Path
    pages: int


class Writer:
    """Renders pages into a folder; each page knows its depth for relative links."""

    def __init__(self, root: Path, env: Environment, common: dict):
        self.root, self.env, self.common, self.pages = root, env, common, 0
        self._templates = {}

    def page(self, rel: str, template: str, graphiques: list | None = None, **context) -> None:
        depth = rel.count("/")
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        stem = Path(rel).stem
        for g in graphiques or []:
            g.csv_nom = f"{stem}-{g.id}.csv"
            (path.parent / g.csv_nom).write_text(g.csv_text(), encoding="utf-8")
        if template not in self._templates:
            self._templates[template] = self.env.get_template(template)
        html = self._templates[template].render(**self.common, racine="../" * depth,
                                                graphiques=graphiques or [], **context)
        path.write_text(html, encoding="utf-8")
        self.pages += 1

    def text(self, rel: str, content: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def slug(code: str) -> str:
    return slugify(str(code)) or "x"


class Site:
    def __init__(self, data: SiteData):
        self.d = data
        ind = data.indicateurs
        self.values: dict[tuple, dict] = {}
        self.by_unit: dict[tuple, list[dict]] = defaultdict(list)
        for row in ind.to_dict("records"):
            key = (row["indicateur"], int(row["annee"]), row["niveau"], row["code"])
            self.values[key] = row
            self.by_unit[(int(row["annee"]), row["niveau"], row["code"])].append(row)
        registre = data.registre.astype(object).where(data.registre.notna(), None)
        self.registre = {r["indicateur"]: r for r in registre.to_dict("records")}
        self.labels = {(r["niveau"], r["code"]): r for r in data.unites.to_dict("records")}
        levels = set(ind["niveau"])
        if "national" in levels:
            self.principal = ("national", "FR")
        else:
            deps = sorted(ind.loc[ind["niveau"] == "departement", "code"].unique())
            own = str(data.projet.get("federation_departement"))
            self.principal = ("departement", own if own in deps else (deps[0] if deps else own))
        self.principal_libelle = self.label(*self.principal)

    # ------------------------------------------------------------------ helpers
    def label(self, niveau: str, code: str) -> str:
        row = self.labels.get((niveau, code))
        return str(row["libelle"]) if row and row.get("libelle") is not None else str(code)

    def get(self, indicateur: str, annee: int, niveau: str, code: str):
        row = self.values.get((indicateur, annee, niveau, code))
        return None if row is None else row["valeur"]

    def shown(self, indicateur: str, annee: int, niveau: str, code: str) -> str:
        row = self.values.get((indicateur, annee, niveau, code))
        if row is None:
            return "–"
        if row["statut"] == "secret" and self.d.audience == "public":
            return "secret"
        return valeur(row["valeur"], self.registre[indicateur]["unite"])

    def tile(self, indicateur: str, annee: int, niveau: str, code: str, with_n: bool = True) -> dict:
        row = self.values.get((indicateur, annee, niveau, code))
        reg = self.registre[indicateur]
        n_total = self.get("nb_structures", annee, niveau, code)
        nN = ""
        if with_n and row is not None and reg["source"] == "enquete" and n_total:
            nN = f"n = {nombre(row['n_structures'])} / N = {nombre(n_total)}"
        return {"valeur": self.shown(indicateur, annee, niveau, code), "libelle": reg["libelle"], "nN": nN}

    def series(self, indicateur: str, niveau: str, code: str) -> tuple[list, list]:
        years = [a for a in self.d.annees if (indicateur, a, niveau, code) in self.values]
        values = [self.get(indicateur, a, niveau, code) for a in years]
        values = [None if v is None or v != v else float(v) for v in values]
        return years, values

    def reading(self, indicateur: str, annee: int, niveau: str, code: str) -> str:
        reg = self.registre[indicateur]
        return C.reading(self.get(indicateur, annee, niveau, code), self.get(indicateur, annee - 1, niveau, code),
                         reg["unite"], reg["sens"])

    def children(self, annee: int, niveau: str, parent: str | None) -> list[str]:
        codes = {c for (a, n, c) in self.by_unit if a == annee and n == niveau}
        if parent is None:
            return sorted(codes)
        return sorted(c for c in codes if (self.labels.get((niveau, c)) or {}).get("code_parent") == parent)

    # ------------------------------------------------------------------ pages
    def build(self, w: Writer, on_progress: Callable[[str], None]) -> None:
        d = self.d
        last = d.annees[-1] if d.annees else None
        niveau, code = self.principal
        reperes = [self.tile(i, last, niveau, code) for i in
                   ("nb_structures", "nb_repondants", "habitants_touches", "benevoles_total", "etp_total",
                    "budget_moyen")] if last else []
        w.page("index.html", "accueil.html", reperes=reperes, principal_libelle=self.principal_libelle)
        for annee in d.annees:
            on_progress(f"rapport {annee}")
            self.yearly_report(w, annee)
            self.unit_sheets(w, annee)
        self.scorecard(w)
        self.indicator_pages(w)
        self.methodology(w)
        self.open_data(w)
        if d.audience == "interne":
            self.structure_pages(w)

    def yearly_report(self, w: Writer, annee: int) -> None:
        niveau, code = self.principal
        t = lambda i, with_n=True: self.tile(i, annee, niveau, code, with_n)
        sections = []
        sections.append({"id": "reperes", "titre": "Repères clés",
                         "tuiles": [t(i) for i in ("nb_structures", "nb_repondants", "taux_reponse",
                                                   "habitants_touches", "benevoles_total", "etp_total",
                                                   "budget_moyen", "part_qpv", "part_urbain")]})
        child_level = "departement" if niveau == "national" else "territoire"
        kids = self.children(annee, child_level, None if niveau == "national" else code)
        counts = [self.get("nb_structures", annee, child_level, k) for k in kids]
        names = [self.label(child_level, k) for k in kids]
        implantation = {"id": "implantation", "titre": "Implantation", "graphiques": [], "liens": []}
        if kids:
            implantation["graphiques"].append(C.bars(
                "implantation", f"Structures agréées par {NIVEAUX[child_level].lower()}",
                f"Nombre de centres sociaux et d'EVS invités à l'enquête, données {annee}.",
                f"{nombre(sum(c or 0 for c in counts))} structures réparties sur {len(kids)} "
                f"{NIVEAUX[child_level].lower()}(s).", names, counts, "structures",
                horizontal=len(kids) > 8, label_col=NIVEAUX[child_level]))
        communes = self.children(annee, "commune", None)
        if niveau != "national":
            communes = [c for c in communes if self.labels.get(("commune", c), {}).get("code_parent") in set(kids) | {code}]
            implantation["tableau"] = {
                "titre": f"Structures par commune, {annee}", "colonnes": ["Commune", "Structures", "Répondantes"],
                "lignes": [[self.label("commune", c), self.shown("nb_structures", annee, "commune", c),
                            self.shown("nb_repondants", annee, "commune", c)] for c in communes]}
        sections.append(implantation)
        themes = [f"part_theme_{x}" for x in THEMES]
        theme_values = [(self.registre[i]["libelle"].replace("Part des structures agissant sur ", "").capitalize(),
                         self.get(i, annee, niveau, code)) for i in themes]
        theme_values = sorted([tv for tv in theme_values if tv[1] is not None], key=lambda tv: -tv[1])
        publics = {"id": "publics", "titre": "Publics et thèmes d'action",
                   "tuiles": [t(i) for i in ("habitants_touches", "pers_info_droits", "pers_accomp_droits",
                                             "jeunes_accompagnes")], "graphiques": []}
        if theme_values:
            publics["graphiques"].append(C.bars(
                "themes", "Part des structures agissant sur chaque thème",
                f"Part des structures répondantes menant au moins une action sur le thème, données {annee}.",
                f"Thème le plus partagé : {theme_values[0][0].lower()} ({pourcentage(theme_values[0][1])} des structures).",
                [tv[0] for tv in theme_values], [tv[1] for tv in theme_values], "ratio", horizontal=True,
                label_col="Thème"))
        sections.append(publics)
        years, benevoles = self.series("benevoles_total", niveau, code)
        participation = {"id": "participation", "titre": "Participation et bénévolat",
                         "tuiles": [t(i) for i in ("benevoles_activite", "benevoles_instance", "heures_benevolat",
                                                   "etp_benevoles", "part_habitants_ca")], "graphiques": []}
        if any(v is not None for v in benevoles):
            participation["graphiques"].append(C.lines(
                "benevoles", "Bénévoles d'activité et d'instance, par année",
                "Somme des bénévoles déclarés par les structures répondantes.",
                self.reading("benevoles_total", annee, niveau, code),
                {"Bénévoles": (years, benevoles)}, "personnes"))
        sections.append(participation)
        sections.append({"id": "partenariats", "titre": "Partenariats et pratiques",
                         "tuiles": [t(i) for i in ("part_partenariat_commune", "part_pacte_cooperation",
                                                   "nouveaux_partenariats", "reseaux_locaux",
                                                   "part_outils_numeriques", "part_demarche_impact")]})
        sections.append({"id": "personnel", "titre": "Personnel",
                         "tuiles": [t(i) for i in ("salaries", "etp_total", "etp_moyen", "salaries_formes")]})
        shares = [("Caf", "part_financement_caf"), ("Communes et intercommunalités", "part_financement_communes"),
                  ("Autres ressources", "part_autres_ressources")]
        finance_values = [self.get(i, annee, niveau, code) for _, i in shares]
        finances = {"id": "finances", "titre": "Finances", "tuiles": [t(i) for i in ("budget_moyen", "budget_median")],
                    "graphiques": []}
        if all(v is not None for v in finance_values):
            finances["graphiques"].append(C.bars(
                "financement", "Origine des produits",
                f"Part de chaque financeur dans les produits des structures répondantes, données {annee}.",
                f"La Caf apporte {pourcentage(finance_values[0])} des produits, les communes "
                f"{pourcentage(finance_values[1])}.", [s for s, _ in shares], finance_values, "ratio",
                label_col="Financeur"))
        sections.append(finances)
        sheets = [{"href": f"{child_level}s/{slug(k)}.html", "texte": self.label(child_level, k)} for k in kids]
        sheets += [{"href": f"communes/{slug(c)}.html", "texte": f"Commune : {self.label('commune', c)}"}
                   for c in communes] if niveau != "national" else []
        sections.append({"id": "territoires", "titre": "Fiches territoires", "liens": sheets})
        comparaison = self.d.nationale[(self.d.nationale["annee"] == annee) & (self.d.nationale["niveau"] == niveau)
                                       & (self.d.nationale["code"] == code)]
        sections.append({"id": "national", "titre": "Comparaison nationale",
                         "texte": "Chiffres nationaux publiés (SENACS et presse), avec leur année ; sources en méthodologie.",
                         "tableau": {"titre": f"{self.principal_libelle} et France",
                                     "colonnes": ["Indicateur", self.principal_libelle, "France", "Année (France)"],
                                     "lignes": [[self.registre[r["indicateur"]]["libelle"],
                                                 valeur(r["valeur"], self.registre[r["indicateur"]]["unite"]),
                                                 valeur(r["valeur_nationale"], self.registre[r["indicateur"]]["unite"]),
                                                 str(r["annee_nationale"])]
                                                for r in comparaison.to_dict("records")]}})
        sections.append({"id": "methode", "titre": "Méthodologie",
                         "liens": [{"href": "../methodologie.html", "texte": "Définitions, taux de réponse, règle du secret"}]})
        pub = self.d.publications.set_index("annee")
        warnings = int(pub.loc[annee, "nb_avertissements"]) if annee in pub.index else 0
        graphs = [g for s in sections for g in s.get("graphiques", [])]
        w.page(f"{annee}/index.html", "rapport.html", graphiques=graphs, annee=annee, sections=sections,
               principal_libelle=self.principal_libelle, avertissements=warnings)

    def unit_sheets(self, w: Writer, annee: int) -> None:
        levels = ["territoire", "commune"] + (["departement"] if self.principal[0] == "national" else [])
        survey = [i for i, r in self.registre.items() if r["source"] == "enquete"]
        for niveau in levels:
            for code in self.children(annee, niveau, None):
                rows = {r["indicateur"]: r for r in self.by_unit[(annee, niveau, code)]}
                lignes = [{"indicateur": i, "libelle": self.registre[i]["libelle"],
                           "valeur": self.shown(i, annee, niveau, code),
                           "secret": rows.get(i, {}).get("statut") == "secret",
                           "n": nombre(rows[i]["n_structures"]) if i in rows else "–"} for i in survey if i in rows]
                years, values = self.series("habitants_touches", niveau, code)
                graphs = []
                if any(v is not None for v in values):
                    graphs.append(C.lines("habitants", "Habitants touchés, par année",
                                          "Habitants distincts ayant participé à une activité (valeurs secrètes non tracées).",
                                          self.reading("habitants_touches", annee, niveau, code),
                                          {"Habitants touchés": (years, values)}, "personnes"))
                parent = (self.labels.get((niveau, code)) or {}).get("code_parent")
                parent_level = "territoire" if niveau == "commune" else "departement"
                w.page(f"{annee}/{niveau}s/{slug(code)}.html", "unite.html", graphiques=graphs, annee=annee,
                       libelle=self.label(niveau, code), niveau_libelle=NIVEAUX[niveau],
                       parent=self.label(parent_level, parent) if parent else "",
                       reperes=[self.tile(i, annee, niveau, code) for i in
                                ("nb_structures", "nb_repondants", "habitants_touches", "benevoles_total")],
                       lignes=lignes)

    def scorecard(self, w: Writer) -> None:
        niveau, code = self.principal
        tendances = self.d.tendances
        tendances = tendances[(tendances["niveau"] == niveau) & (tendances["code"] == code)]
        last = self.d.annees[-1] if self.d.annees else None
        latest = {r["indicateur"]: r for r in tendances[tendances["annee"] == last].to_dict("records")}
        axes = []
        actions = {r["code_action"]: r for r in self.d.registre[["action", "libelle_action"]].dropna()
                   .rename(columns={"action": "code_action"}).to_dict("records")}
        for axe_code in ("A1", "A2", "A3"):
            regs = [r for r in self.registre.values() if r["axe"] == axe_code]
            if not regs:
                continue
            lignes, ratio_series, count_series = [], {}, {}
            for r in sorted(regs, key=lambda r: (r["action"] or "Z", r["indicateur"])):
                i = r["indicateur"]
                t = latest.get(i, {})
                lignes.append({"indicateur": i, "libelle": r["libelle"],
                               "action": f"{r['action']} {actions.get(r['action'], {}).get('libelle_action', '')}"
                               if r["action"] else "–",
                               "reference": valeur(t.get("valeur_reference"), r["unite"]),
                               "valeur": valeur(t.get("valeur"), r["unite"]),
                               "cible": valeur(r["cible"], r["unite"]) if r["cible"] is not None else "–",
                               "sens": SENS[r["sens"]], "statut": t.get("statut_cible"),
                               "lecture": self.reading(i, last, niveau, code) if last else ""})
                if r["unite"] == "ratio":
                    ratio_series[r["libelle"]] = self.series(i, niveau, code)
                elif r["source"] == "enquete":
                    count_series[r["libelle"]] = self.series(i, niveau, code)
            graphs = []
            # one chart per axis: its shares, or else the counts declared in the survey
            series, unite, kind = ((ratio_series, "ratio", "parts") if ratio_series
                                   else (count_series, "nombre", "effectifs déclarés"))
            if series:
                graphs.append(C.lines(f"axe-{axe_code.lower()}", f"Axe {axe_code} : évolution des {kind}",
                                      f"Indicateurs de l'axe {axe_code} ({kind}), par année de données.",
                                      f"{len(series)} indicateur(s) de l'axe suivis ici ; les autres sont dans le tableau.",
                                      series, unite))
            axes.append({"code": axe_code, "libelle": regs[0]["libelle_axe"], "lignes": lignes, "graphiques": graphs})
        graphs = [g for a in axes for g in a["graphiques"]]
        w.page("tableau-de-bord.html", "tableau_de_bord.html", graphiques=graphs, axes=axes,
               principal_libelle=self.principal_libelle, projet_titre=self.d.projet.get("titre", "Projet fédéral"),
               annee_reference=self.d.projet.get("annee_reference"), annee_cible=self.d.projet.get("annee_cible"))

    def indicator_pages(self, w: Writer) -> None:
        niveau, code = self.principal
        groups = defaultdict(list)
        for i, r in self.registre.items():
            groups[r["libelle_axe"] if r["axe"] != "socle" else "Chiffres clés SENACS"].append(r)
        w.page("indicateurs/index.html", "liste_indicateurs.html",
               groupes=[{"titre": k, "indicateurs": sorted(v, key=lambda r: r["libelle"])} for k, v in groups.items()])
        last = self.d.annees[-1] if self.d.annees else None
        child_level = "departement" if niveau == "national" else "territoire"
        kids = self.children(last, child_level, None if niveau == "national" else code) if last else []
        for i, r in self.registre.items():
            years, values = self.series(i, niveau, code)
            series = {self.principal_libelle: (years, values)}
            if r["source"] == "enquete" and len(kids) <= 12:
                for k in kids:
                    ky, kv = self.series(i, child_level, k)
                    if any(v is not None for v in kv):
                        series[self.label(child_level, k)] = (ky, kv)
            graphs = []
            if any(v is not None for v in values):
                graphs.append(C.lines("evolution", r["libelle"], f"Valeur par année de données ({r['unite']}).",
                                      self.reading(i, last, niveau, code) if last else "", series, r["unite"]))
            tables = [{"titre": f"{r['libelle']} par niveau et par année",
                       "colonnes": ["Unité"] + [str(a) for a in self.d.annees],
                       "lignes": [[self.label(child_level if n == child_level else niveau, c)]
                                  + [self.shown(i, a, n, c) for a in self.d.annees]
                                  for n, c in [(niveau, code)] + ([(child_level, k) for k in kids]
                                                                  if r["source"] == "enquete" else [])]}]
            if r["agregat"] == "ratio":
                formule = f"Σ numérateur ({r['numerateur']}) / Σ dénominateur ({r['denominateur']})"
            elif r["agregat"] == "mediane":
                formule = f"médiane de {r['numerateur']}"
            elif r["agregat"] == "compte":
                formule = "nombre d'unités retenues"
            else:
                formule = f"Σ {r['numerateur']}"
            if r["facteur"] not in (1, 1.0):
                formule += f" × {nombre(r['facteur'], 2)}"
            w.page(f"indicateurs/{i}.html", "indicateur.html", graphiques=graphs, tableaux=tables,
                   i={**r, "axe_libelle": r["libelle_axe"]}, formule=formule, sens=SENS[r["sens"]],
                   colonnes=[c for c in (r["colonnes_sources"] or "").split("|") if c])

    def methodology(self, w: Writer) -> None:
        niveau, code = self.principal
        reponses = [{"annee": a, "n": self.shown("nb_structures", a, niveau, code),
                     "r": self.shown("nb_repondants", a, niveau, code),
                     "taux": self.shown("taux_reponse", a, niveau, code)} for a in self.d.annees]
        pubs = [{"annee": int(p["annee"]), "statut": f"publiée le {p['publie_le']:%d/%m/%Y}",
                 "avertissements": int(p["nb_avertissements"])} for p in self.d.publications.to_dict("records")]
        sources = self.d.nationale.drop_duplicates("indicateur")
        w.page("methodologie.html", "methodologie.html", reponses=reponses, publications=pubs,
               principal_libelle=self.principal_libelle,
               definitions=sorted(self.registre.values(), key=lambda r: r["libelle"]),
               sources=[{"libelle": self.registre[s["indicateur"]]["libelle"], "annee": s["annee_nationale"],
                         "source": s["source_nationale"]} for s in sources.to_dict("records")])

    def open_data(self, w: Writer) -> None:
        rows = self.d.indicateurs[self.d.indicateurs["niveau"] != "structure"].copy()
        if self.d.audience == "public":
            rows.loc[rows["statut"] != "publie", ["valeur", "numerateur", "denominateur"]] = None
        rows["libelle_unite"] = [self.label(n, c) for n, c in zip(rows["niveau"], rows["code"])]
        rows = rows.sort_values(["indicateur", "annee", "niveau", "code"])
        w.text("donnees/indicateurs.csv", csv_text(OPEN_DATA_COLUMNS, rows[OPEN_DATA_COLUMNS].itertuples(index=False)))
        w.text("donnees/dictionnaire.csv", csv_text(["colonne", "description"], DICTIONARY))
        reg_cols = ["indicateur", "libelle", "definition", "axe", "action", "maillon", "numerateur", "denominateur",
                    "filtre", "agregat", "facteur", "unite", "sens", "n_min", "annee_reference", "cible"]
        w.text("donnees/registre.csv", csv_text(reg_cols, self.d.registre[reg_cols].itertuples(index=False)))
        w.page("donnees/index.html", "donnees.html", n_lignes=nombre(len(rows)))

    def structure_pages(self, w: Writer) -> None:
        d = self.d
        struct = d.indicateurs[d.indicateurs["niveau"] == "structure"]
        last = d.annees[-1] if d.annees else None
        medians = struct[struct["annee"] == last].groupby("indicateur")["valeur"].median().to_dict()
        constats = defaultdict(list)
        for c in d.constats.sort_values(["annee_enquete", "severite"]).to_dict("records"):
            if c.get("code_structure"):
                constats[c["code_structure"]].append(c)
        listing = []
        compare = ["habitants_touches", "benevoles_total", "heures_benevolat", "salaries", "etp_total",
                   "budget_moyen", "part_financement_caf", "part_habitants_ca"]
        for s in d.structures.sort_values("nom_structure").to_dict("records"):
            code = s["code_structure"]
            href = f"{slug(code)}.html"
            commune = self.label("commune", s["code_commune"])
            listing.append({"href": href, "nom": s["nom_structure"] or code, "type": s["type_structure"],
                            "commune": commune})
            years, values = self.series("habitants_touches", "structure", code)
            graphs = []
            if any(v is not None for v in values):
                graphs.append(C.lines("historique", "Habitants touchés, par année",
                                      "Valeurs déclarées par la structure.",
                                      self.reading("habitants_touches", last, "structure", code),
                                      {s["nom_structure"] or code: (years, values)}, "personnes"))
            w.page(f"structures/{href}", "structure.html", graphiques=graphs, nom=s["nom_structure"] or code,
                   code=code, type_structure=s["type_structure"], commune=commune, annee=last,
                   comparaison=[{"libelle": self.registre[i]["libelle"],
                                 "valeur": self.shown(i, last, "structure", code),
                                 "mediane": valeur(medians.get(i), self.registre[i]["unite"])} for i in compare],
                   constats=constats.get(code, []))
        w.page("structures/index.html", "liste_structures.html", structures=listing)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs   # the bundle shipped with the plotly package
    return get_plotlyjs()


def build_site(con, out_dir: Path, audience: str, *, quality_dir: Path | None = None,
               dbt_docs: Path | None = None, on_progress: Callable[[str], None] = lambda m: None) -> SiteResult:
    """Render one audience's site into a temporary folder, then swap it in whole."""
    data = load(con, audience)
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = fichiers.staging(out_dir)
    try:
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
        federation = str(data.projet.get("federation_nom", "Observatoire"))
        site = Site(data)
        common = {"site_titre": f"Observatoire des centres sociaux — {site.principal_libelle}",
                  "federation": federation, "audience": audience,
                  "derniere_annee": data.annees[-1] if data.annees else None, "annees": data.annees,
                  "produit_le": date.today().strftime("%d/%m/%Y")}
        writer = Writer(tmp, env, common)
        (tmp / "assets").mkdir()
        (tmp / "assets" / "plotly.min.js").write_text(_plotly_js(), encoding="utf-8")
        for name in ("site.css", "site.js"):
            shutil.copy2(STATIC / name, tmp / "assets" / name)
        site.build(writer, on_progress)
        if audience == "interne":
            pages = []
            if quality_dir and quality_dir.exists():
                shutil.copytree(quality_dir, tmp / "qualite", dirs_exist_ok=True, ignore=_unused_gx_images)
                pages = [{"annee": p.stem, "href": p.name} for p in sorted((tmp / "qualite").glob("*.html"))
                         if p.stem.isdigit()]
            if dbt_docs and (dbt_docs / "index.html").exists():
                (tmp / "dbt").mkdir()
                for name in ("index.html", "manifest.json", "catalog.json"):
                    if (dbt_docs / name).exists():
                        shutil.copy2(dbt_docs / name, tmp / "dbt" / name)
            writer.page("qualite/index.html", "qualite_index.html", pages=pages,
                        gx=(tmp / "qualite" / "gx" / "index.html").exists(), dbt=(tmp / "dbt").exists())
        fichiers.swap(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteResult(audience, out_dir, writer.pages)


def _unused_gx_images(directory: str, names: list[str]) -> set[str]:
    """GX Data Docs ship 3.4 MB of tutorial GIFs that none of their pages shows: leave them out."""
    if Path(directory).parts[-3:] != ("gx", "static", "images"):
        return set()
    pages = "".join(p.read_text(encoding="utf-8", errors="ignore")
                    for p in Path(directory).parent.parent.rglob("*.html"))
    return {n for n in names if n.endswith(".gif") and n not in pages}
