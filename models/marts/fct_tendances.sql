-- Per indicator and unit: value by year, change on the previous year and since the baseline
-- (on all structures, and on the constant panel of structures counted both years), the reading
-- of each change (verdict, panel size, whether the figure may be shown), and progress towards the
-- board's target.
with registre as (select * from {{ ref('registre_indicateurs') }}),
projet as (
    select coalesce(any_value(annee_cible), {{ var('annee_cible') }}) as annee_cible
    from {{ ref('stg_projet__projet') }}
),
un_an as (select * from {{ ref('int_tendances__comparaisons') }} where comparaison = 'un_an'),
reference as (select * from {{ ref('int_tendances__comparaisons') }} where comparaison = 'reference'),
series as (
    select
        i.indicateur, i.niveau, i.code, i.annee, i.valeur, i.statut, i.n_structures,
        r.sens, r.cible, r.annee_reference, p.annee_cible,
        max(case when i.annee = r.annee_reference then i.valeur end)
            over (partition by i.indicateur, i.niveau, i.code) as valeur_reference
    from {{ ref('fct_indicateurs') }} as i
    join registre as r using (indicateur)
    cross join projet as p
    where i.niveau <> 'structure' and i.statut <> 'non_disponible'
),
calcul as (
    select
        s.*,
        a.valeur_comparee as valeur_precedente,
        a.valeur - a.valeur_comparee as variation,
        case when a.valeur_comparee <> 0 then a.valeur / a.valeur_comparee - 1 end as variation_relative,
        a.valeur_panel - a.valeur_panel_comparee as variation_panel,
        nullif(a.n_panel, 0) as n_panel_precedente,
        a.n_compare as n_structures_precedente,
        a.evolution as evolution_un_an, a.evolution_ensemble as evolution_ensemble_un_an, a.unite_evolution, a.verdict as verdict_un_an,
        a.evolution_publiable as evolution_un_an_publiable, a.repondants_changes as repondants_changes_un_an,
        case when s.annee > s.annee_reference then s.valeur - s.valeur_reference end as ecart_reference,
        b.valeur_panel - b.valeur_panel_comparee as ecart_reference_panel,
        nullif(b.n_panel, 0) as n_panel_reference,
        b.statut_compare as statut_reference,
        b.n_compare as n_structures_reference,
        b.evolution as evolution_reference, b.evolution_ensemble as evolution_ensemble_reference, b.verdict as verdict_reference,
        b.evolution_publiable as evolution_reference_publiable, b.repondants_changes as repondants_changes_reference,
        case when s.cible is not null and s.valeur_reference is not null and s.annee > s.annee_reference
             then s.valeur_reference + (s.cible - s.valeur_reference)
                  * least(1.0, (s.annee - s.annee_reference) / greatest(1, s.annee_cible - s.annee_reference))
        end as valeur_attendue,
        case when s.sens = 'hausse' then 1 when s.sens = 'baisse' then -1 else 0 end as signe
    from series as s
    left join un_an as a using (indicateur, niveau, code, annee)
    left join reference as b using (indicateur, niveau, code, annee)
)
select
    indicateur, niveau, code, annee, valeur, statut, n_structures,
    valeur_precedente, n_structures_precedente, variation, variation_relative, variation_panel, n_panel_precedente,
    evolution_un_an, evolution_ensemble_un_an, unite_evolution, verdict_un_an, evolution_un_an_publiable, repondants_changes_un_an,
    annee_reference, valeur_reference, statut_reference, n_structures_reference, ecart_reference, ecart_reference_panel,
    n_panel_reference, evolution_reference, evolution_ensemble_reference, verdict_reference, evolution_reference_publiable,
    repondants_changes_reference,
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
from calcul
