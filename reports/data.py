"""What the site shows, read once from the warehouse's published tables.

The public audience reads the publication snapshot (schema `publie`), where dbt has already
withheld what may not be shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

PUBLIC_LEVELS = ("commune", "territoire", "departement", "national")


@dataclass
class SiteData:
    audience: str
    annees: list[int]
    indicateurs: pd.DataFrame          # published rows, with registry columns
    registre: pd.DataFrame             # dim_indicateurs, one row per indicator
    unites: pd.DataFrame               # dim_unites
    tendances: pd.DataFrame            # département / national trends (never secret)
    completude: pd.DataFrame
    nationale: pd.DataFrame
    publications: pd.DataFrame
    projet: dict
    constats: pd.DataFrame = field(default_factory=pd.DataFrame)
    structures: pd.DataFrame = field(default_factory=pd.DataFrame)

    def departements(self) -> list[str]:
        return sorted(self.unites.loc[self.unites["niveau"] == "departement", "code"])

    def libelle(self, niveau: str, code: str) -> str:
        hit = self.unites[(self.unites["niveau"] == niveau) & (self.unites["code"] == code)]
        return str(hit["libelle"].iloc[0]) if len(hit) and pd.notna(hit["libelle"].iloc[0]) else str(code)


def load(con, audience: str) -> SiteData:
    q = lambda sql: con.execute(sql).df()
    publications = q("SELECT * FROM publie.publications ORDER BY annee")
    annees = sorted(int(a) for a in q("SELECT DISTINCT annee FROM publie.pub_indicateurs")["annee"])
    registre = q("SELECT * FROM dim_indicateurs ORDER BY ordre_axe, axe, indicateur")
    source = "publie.pub_indicateurs" if audience == "public" else "indicateurs"
    indicateurs = q(f"SELECT * FROM {source} WHERE annee IN (SELECT annee FROM publie.pub_indicateurs)").merge(
        registre[["indicateur", "libelle", "unite", "sens", "axe", "action", "source"]], on="indicateur")
    tendances = q("SELECT * FROM publie.pub_tendances WHERE niveau IN ('departement', 'national')")
    unites = q("""SELECT niveau, code, libelle, code_parent FROM publie.pub_unites
                  QUALIFY row_number() OVER (PARTITION BY niveau, code ORDER BY annee DESC) = 1""")
    if audience == "interne":
        unites = q("SELECT * FROM dim_unites")
    completude = q("SELECT * FROM publie.pub_completude")
    nationale = q("SELECT * FROM publie.pub_comparaison_nationale")
    projet = q("SELECT * FROM stg_projet__projet").iloc[0].to_dict()
    data = SiteData(audience=audience, annees=annees, indicateurs=indicateurs, registre=registre, unites=unites,
                    tendances=tendances[tendances["annee"].isin(annees)], completude=completude,
                    nationale=nationale, publications=publications, projet=projet)
    if audience == "interne":
        data.constats = q("SELECT * FROM constats_qualite")
        data.structures = q("""SELECT DISTINCT ON (code_structure) code_structure, nom_structure, type_structure,
                                      code_commune, annee_enquete
                               FROM stg_senacs__reponses ORDER BY code_structure, annee_enquete DESC""")
    return data
