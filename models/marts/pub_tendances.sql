{{ config(materialized='table') }}
-- The trends the public site may show: each public unit's value by year with the reading of
-- its change on one year and since the reference year (verdict, size of the constant panel,
-- whether the respondents changed), and its path to the target. Nothing of a withheld cell,
-- no verdict on a panel below the minimum, no figure of a change that would give away the
-- structures outside the panel.
with r as (select indicateur, coalesce(decimales, 0) as decimales from {{ ref('registre_indicateurs') }})
select
    t.indicateur, t.niveau, t.code, t.annee, t.statut,
    case when t.statut = 'publie' then round(t.valeur, r.decimales) end as valeur,
    case when t.statut = 'publie' then t.n_structures end as n_structures,
    t.unite_evolution,
    t.verdict_un_an,
    case when t.evolution_un_an_publiable then round(t.evolution_un_an, case when t.unite_evolution = 'unite'
                                                                          then r.decimales else 1 end)
    end as evolution_un_an,
    round(t.evolution_ensemble_un_an, case when t.unite_evolution = 'unite' then r.decimales else 1 end)
        as evolution_ensemble_un_an,
    case when t.verdict_un_an is not null then t.n_panel_precedente end as n_panel_un_an,
    -- the year the change on one year compares with: with this year, the years of its constant panel
    case when t.verdict_un_an is not null or t.evolution_ensemble_un_an is not null then t.annee - 1 end
        as annee_comparee_un_an,
    case when t.evolution_ensemble_un_an is not null then t.n_structures_precedente end as n_structures_precedente,
    case when t.verdict_un_an is not null then t.repondants_changes_un_an end as repondants_changes_un_an,
    t.motif_sans_verdict_un_an,
    t.annee_reference,
    case when t.statut_reference = 'publie' then round(t.valeur_reference, r.decimales) end as valeur_reference,
    t.verdict_reference,
    case when t.evolution_reference_publiable then round(t.evolution_reference,
                                                         case when t.unite_evolution = 'unite'
                                                              then r.decimales else 1 end)
    end as evolution_reference,
    round(t.evolution_ensemble_reference, case when t.unite_evolution = 'unite' then r.decimales else 1 end)
        as evolution_ensemble_reference,
    case when t.verdict_reference is not null then t.n_panel_reference end as n_panel_reference,
    case when t.evolution_ensemble_reference is not null then t.n_structures_reference end as n_structures_reference,
    case when t.verdict_reference is not null then t.repondants_changes_reference end as repondants_changes_reference,
    t.motif_sans_verdict_reference,
    t.cible, t.annee_cible,
    case when t.statut = 'publie' and t.statut_reference = 'publie' then round(t.valeur_attendue, r.decimales)
    end as valeur_attendue,
    t.statut_cible
from {{ ref('fct_tendances') }} as t
join r using (indicateur)
-- a territory that is its département is not a level of its own (see pub_indicateurs)
anti join (select annee, niveau, code from {{ ref('pub_unites') }} where confondu_avec_parent) as c
    on c.annee = t.annee and c.niveau = t.niveau and c.code = t.code
