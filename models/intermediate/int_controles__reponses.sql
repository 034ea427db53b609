-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- One row per structure x survey with the derived columns the validation rules look at
-- (expectations/): cross-field gaps, ratios and flags. Corrections applied. Each measure's own
-- plausibility (against its peers and its history) is in int_controles__mesures.
{%- set mesures = [] -%}
{%- if execute -%}
  {%- set mesures = run_query("select colonne from " ~ ref('stg_senacs__colonnes')
                              ~ " where bloc <> 'identite' order by ordre").columns[0].values() -%}
{%- endif %}
with r as (select * from {{ ref('stg_senacs__reponses') }}),
communes as (select code_insee, nom_commune from {{ ref('stg_referentiel__communes') }}),
derivees as (
    select
        r.*,
        r.code_commune in (select code_insee from communes) as commune_connue,
        -- the known commune the structure's last earlier survey gave, and that survey: a commune
        -- that changes from one survey to the next is asked about (a postal code typed for the
        -- INSEE code is often another commune's code: 97410 is Saint-Pierre's postal code and
        -- Saint-Benoît's INSEE code)
        lag(case when r.code_commune in (select code_insee from communes) then r.code_commune end ignore nulls)
            over (partition by r.code_structure order by r.annee_enquete) as code_commune_precedente,
        lag(case when r.code_commune in (select code_insee from communes) then r.annee_enquete end ignore nulls)
            over (partition by r.code_structure order by r.annee_enquete) as annee_enquete_commune_precedente,
        r.annee_donnees between r.annee_enquete - 2 and r.annee_enquete - 1 as annee_donnees_coherente,
        -- an earlier survey of the structure already described that year: the later one replaces
        -- it in the indicators (int_structures_annees), a published year may change
        lag(r.annee_enquete) over (partition by r.code_structure, r.annee_donnees order by r.annee_enquete)
            as annee_deja_decrite_par,
        coalesce(caf_ps_agc, 0) + coalesce(caf_ps_acf, 0) + coalesce(caf_autres, 0) + coalesce(communes_interco, 0)
          + coalesce(departement, 0) + coalesce(region, 0) + coalesce(etat, 0) + coalesce(europe, 0)
          + coalesce(usagers, 0) + coalesce(autres_produits, 0) as somme_financeurs,
        case when coalesce(etp_direction, etp_accueil, etp_referent_familles, etp_animation) is not null
             then coalesce(etp_direction, 0) + coalesce(etp_accueil, 0) + coalesce(etp_referent_familles, 0)
                  + coalesce(etp_animation, 0) end as somme_etp_fonctions,
        charges_total / nullif(produits_total, 0) as ratio_charges_produits,
        case when caf_ps_acf > 0 then coalesce(agrement_acf, false) end as acf_avec_agrement,
        case when type_structure = 'EVS' then coalesce(caf_ps_agc, 0) = 0 end as evs_sans_agc,
        case when not est_repondant then 0
        {%- for c in mesures %} + ("{{ c }}" is not null)::int{% endfor %} else 0 end as mesures_non_repondant,
        benevoles_activite + benevoles_instance as benevoles_total,   -- unknown if either part is
        case when coalesce(publics_0_5, publics_6_11, publics_12_17, publics_18_25, publics_adultes,
                           publics_seniors) is not null
             then coalesce(publics_0_5, 0) + coalesce(publics_6_11, 0) + coalesce(publics_12_17, 0)
                  + coalesce(publics_18_25, 0) + coalesce(publics_adultes, 0) + coalesce(publics_seniors, 0)
        end as somme_publics
    from r
),
avec_ecarts as (
    select
        *,
        case when produits_total > 0 and somme_financeurs > 0
             then abs(somme_financeurs - produits_total) / produits_total end as ecart_financeurs,
        case when produits_total > 0 and somme_financeurs > 0
             then somme_financeurs / produits_total end as rapport_financeurs_produits,
        somme_etp_fonctions - etp_total as exces_etp_fonctions,
        somme_etp_fonctions / nullif(etp_total, 0) as rapport_etp_fonctions_total,
        annee_deja_decrite_par is null as annee_donnees_unique,
        -- an unknown code is commune_connue's to tell (blocking): not also a move, a second point
        -- on the same value of the centre's feedback sheet (« vide, code 01000 »)
        coalesce(code_commune = code_commune_precedente, true) or not commune_connue as commune_inchangee
    from derivees
)
-- ratios between fields that must hold (a part cannot exceed its whole) or stay within a
-- plausible range; expectations/rules.py gives the bounds
select
    *,
    pers_accomp_droits / nullif(pers_info_droits, 0) as rapport_accompagnes_informes,
    pers_accomp_droits / nullif(habitants_touches, 0) as rapport_accompagnes_habitants,
    somme_publics / nullif(habitants_touches, 0) as rapport_publics_habitants,
    familles_touchees / nullif(habitants_touches, 0) as rapport_familles_habitants,
    heures_benevolat / nullif(benevoles_activite + coalesce(benevoles_instance, 0), 0) as heures_par_benevole,
    etp_total / nullif(salaries, 0) as rapport_etp_salaries,
    charges_total / nullif(etp_total, 0) as budget_par_etp,
    valorisation_benevolat / nullif(heures_benevolat, 0) as valorisation_par_heure,
    coalesce(c.nom_commune, avec_ecarts.code_commune) as nom_commune,
    coalesce(cp.nom_commune, avec_ecarts.code_commune_precedente) as nom_commune_precedente
from avec_ecarts
left join communes as c on avec_ecarts.code_commune = c.code_insee
left join communes as cp on avec_ecarts.code_commune_precedente = cp.code_insee
