-- The board's scorecard: every indicator of the federal project's axes at the observatory's
-- main unit, year by year, with its reference, target, changes and status; and the board's own
-- reading of it: the verdict of the year (in the project's last year, reached or not), the share
-- of the way from the baseline to the target, the gap, the year the target was first reached, and
-- the order in which the board reads them (what needs attention first). Every figure is computed
-- on the published (rounded) values, so that what the board reads adds up.
with principal as (
    select distinct niveau, code from {{ ref('pub_unites') }} where est_principal
),
lignes as (
    select
        x.ordre as ordre_axe, d.axe, x.libelle_axe, d.action, a.libelle_action,
        t.indicateur, d.libelle, d.unite, d.sens, coalesce(d.decimales, 0) as decimales,
        t.annee, t.niveau, t.code, t.valeur, t.statut, t.n_structures,
        t.unite_evolution, t.verdict_un_an, t.evolution_un_an, t.evolution_ensemble_un_an, t.n_panel_un_an, t.n_structures_precedente,
        t.repondants_changes_un_an,
        t.annee_reference, t.valeur_reference, t.verdict_reference, t.evolution_reference, t.evolution_ensemble_reference, t.n_panel_reference,
        t.n_structures_reference, t.repondants_changes_reference, t.motif_sans_verdict_un_an, t.motif_sans_verdict_reference,
        t.cible, t.annee_cible, t.valeur_attendue, t.statut_cible,
        case when d.sens = 'hausse' then 1 when d.sens = 'baisse' then -1 else 0 end as signe
    from {{ ref('pub_tendances') }} as t
    join principal as p on p.niveau = t.niveau and p.code = t.code
    join {{ ref('registre_indicateurs') }} as d using (indicateur)
    join {{ ref('stg_projet__axes') }} as x on x.code_axe = d.axe
    left join {{ ref('stg_projet__actions') }} as a on a.code_action = d.action
),
mesures as (
    select
        *,
        -- judged only on two published values, after the reference year
        cible is not null and signe <> 0 and statut = 'publie' and valeur is not null
            and valeur_reference is not null and annee > annee_reference as jugeable,
        case when annee > annee_reference and valeur is not null and valeur_reference is not null
             then round(valeur - valeur_reference, decimales) end as ecart_reference,
        case when cible is not null and valeur is not null then round(valeur - cible, decimales + 2) end as ecart_cible
    from lignes
),
verdicts as (
    select
        *,
        -- only for a target ahead of the baseline, in the indicator's direction: one already met at
        -- the reference year has no way to go (a build warning names it: cibles_deja_depassees)
        case when jugeable and signe * (cible - valeur_reference) > 0
             then (valeur - valeur_reference) / (cible - valeur_reference) end as part_chemin,
        jugeable and signe * (valeur - cible) >= 0 as cible_atteinte,
        case
            when cible is null then 'pas_de_cible'
            when not jugeable then 'non_calculable'
            when signe * (valeur - cible) >= 0 then 'atteinte'
            when annee >= annee_cible then 'non_atteinte'
            when statut_cible is not null then statut_cible
            when signe * (valeur - valeur_attendue) >= 0 then 'en_bonne_voie'
            when signe * (valeur - valeur_reference) > 0 then 'en_retard'
            else 'hors_trajectoire'
        end as verdict
    from mesures
)
select
    * exclude (signe, jugeable, decimales, cible_atteinte),
    -- the first year (up to this one) in which the target was met
    min(case when cible_atteinte then annee end) over (partition by indicateur order by annee
                                                      rows between unbounded preceding and current row) as annee_atteinte,
    case when cible_atteinte and part_chemin > 1 then part_chemin - 1 end as depassement,
    -- the year the target was first reached, when it still is (the board says "atteinte en ...")
    case when verdict = 'atteinte' then min(case when cible_atteinte then annee end) over (
        partition by indicateur order by annee rows between unbounded preceding and current row) end as atteinte_en,
    -- whether the board shows the verdict as a status of the indicator's card (not "no target" nor
    -- "not computable", which the card says otherwise)
    verdict not in ('pas_de_cible', 'non_calculable') as verdict_affiche,
    case verdict
        when 'non_atteinte' then 1 when 'hors_trajectoire' then 2 when 'en_retard' then 3
        when 'en_bonne_voie' then 4 when 'atteinte' then 5 when 'non_calculable' then 6 else 7
    end as priorite,
    row_number() over (partition by annee
                       order by case verdict when 'non_atteinte' then 1 when 'hors_trajectoire' then 2
                                             when 'en_retard' then 3 when 'en_bonne_voie' then 4
                                             when 'atteinte' then 5 when 'non_calculable' then 6 else 7 end,
                                part_chemin nulls last, ordre_axe, action nulls last, indicateur) as rang_attention
from verdicts
