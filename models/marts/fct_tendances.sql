{{ config(materialized='table') }}
-- Per indicator and unit: value by year, change on the previous year and since the baseline
-- (on all structures, and on the constant panel of structures counted both years), the reading
-- of each change (verdict, panel size, whether the figure may be shown), and progress towards the
-- board's target. One row per cell, from its two comparisons (int_tendances__comparaisons):
-- every published cell, and the withheld ones above the commune (the board's scorecard shows
-- them as withheld). A withheld commune cell has no trend to read and no row here: they are
-- most of the cells of a national run.
with registre as (select * from {{ ref('registre_indicateurs') }}),
projet as (
    select coalesce(any_value(annee_cible), {{ var('annee_cible') }}) as annee_cible
    from {{ ref('stg_projet__projet') }}
),
{%- set colonnes = ['valeur_comparee', 'statut_compare', 'n_compare', 'valeur_panel', 'valeur_panel_comparee',
                    'n_panel', 'evolution', 'evolution_ensemble', 'unite_evolution', 'verdict',
                    'evolution_publiable', 'repondants_changes', 'motif_sans_verdict'] %}
{#- each cell's two comparisons side by side: a join per comparison (one row each per cell), at less
    than half the cost of grouping the comparisons with a filtered any_value per column -#}
{%- for comparaison, suffixe in [('un_an', 'un_an'), ('reference', 'ref')] %}
comparees__{{ suffixe }} as (
    select indicateur, niveau, code, annee
        {%- for col in colonnes %}, {{ col }} as {{ col }}__{{ suffixe }}{% endfor %}
    from {{ ref('int_tendances__comparaisons') }}
    where comparaison = '{{ comparaison }}'
),
{%- endfor %}
cellules as (
    select i.indicateur, i.niveau, i.code, i.annee, i.valeur, i.statut, i.n_structures,
           u.* exclude (indicateur, niveau, code, annee), f.* exclude (indicateur, niveau, code, annee)
    from {{ ref('fct_indicateurs') }} as i
    left join comparees__un_an as u using (indicateur, niveau, code, annee)
    left join comparees__ref as f using (indicateur, niveau, code, annee)
    where i.niveau <> 'structure' and i.statut <> 'non_disponible'
      and (i.statut = 'publie' or i.niveau <> 'commune')
),
calcul as (
    select
        c.*,
        r.sens, r.cible, r.annee_reference, r.unite, r.agregat, p.annee_cible,
        case when c.annee = r.annee_reference then c.valeur else c.valeur_comparee__ref end as valeur_reference,
        case when c.annee = r.annee_reference then c.statut else c.statut_compare__ref end as statut_reference,
        case when r.sens = 'hausse' then 1 when r.sens = 'baisse' then -1 else 0 end as signe
    from cellules as c
    join registre as r using (indicateur)
    cross join projet as p
),
trajectoire as (
    select
        *,
        case when cible is not null and valeur_reference is not null and annee > annee_reference
             then valeur_reference + (cible - valeur_reference)
                  * least(1.0, (annee - annee_reference) / greatest(1, annee_cible - annee_reference))
        end as valeur_attendue
    from calcul
)
select
    indicateur, niveau, code, annee, valeur, statut, n_structures,
    valeur_comparee__un_an as valeur_precedente, n_compare__un_an as n_structures_precedente,
    valeur - valeur_comparee__un_an as variation,
    case when valeur_comparee__un_an <> 0 then valeur / valeur_comparee__un_an - 1 end as variation_relative,
    valeur_panel__un_an - valeur_panel_comparee__un_an as variation_panel,
    nullif(n_panel__un_an, 0) as n_panel_precedente,
    evolution__un_an as evolution_un_an, evolution_ensemble__un_an as evolution_ensemble_un_an,
    coalesce(unite_evolution__un_an, unite_evolution__ref,
             case when unite = 'ratio' then 'points' when agregat in ('compte', 'total') then 'unite'
                  else 'pourcent' end) as unite_evolution,
    verdict__un_an as verdict_un_an, evolution_publiable__un_an as evolution_un_an_publiable,
    repondants_changes__un_an as repondants_changes_un_an, motif_sans_verdict__un_an as motif_sans_verdict_un_an,
    annee_reference, valeur_reference, statut_reference, n_compare__ref as n_structures_reference,
    case when annee > annee_reference then valeur - valeur_reference end as ecart_reference,
    valeur_panel__ref - valeur_panel_comparee__ref as ecart_reference_panel,
    nullif(n_panel__ref, 0) as n_panel_reference,
    evolution__ref as evolution_reference, evolution_ensemble__ref as evolution_ensemble_reference,
    verdict__ref as verdict_reference, evolution_publiable__ref as evolution_reference_publiable,
    repondants_changes__ref as repondants_changes_reference, motif_sans_verdict__ref as motif_sans_verdict_reference,
    cible, annee_cible, valeur_attendue,
    case when cible is not null and valeur_reference is not null and cible <> valeur_reference
         then (valeur - valeur_reference) / (cible - valeur_reference) end as progression_cible,
    case
        when valeur_attendue is null or signe = 0 or niveau not in ('departement', 'national')
             or statut <> 'publie' or coalesce(statut_reference, '') <> 'publie' then null
        when signe * (valeur - valeur_attendue) >= 0 then 'en_bonne_voie'
        when signe * (valeur - valeur_reference) > 0 then 'en_retard'
        else 'hors_trajectoire'
    end as statut_cible
from trajectoire
