-- Each published cell (indicator x unit x year) compared with the year before (`un_an`) and,
-- for the départements and France, with the indicator's reference year (`reference`). Indicators compared on a constant panel (registry
-- `comparaison` = panel) are compared on the structures counted in both years only, so that a
-- change is never the effect of other centres answering; counts of structures and the
-- federation's activities (`ensemble`) are compared as they are (panels: int_tendances__panels).
with registre as (
    select indicateur, agregat, facteur, unite, sens, annee_reference,
           coalesce(decimales, 0) as decimales,
           coalesce(n_min, {{ var('secret_n_min') }}) as n_min,
           coalesce(comparaison, 'panel') as mode
    from {{ ref('registre_indicateurs') }}
),
cellules as (
    select indicateur, niveau, code, annee, valeur, statut, n_structures
    from {{ ref('fct_indicateurs') }}
    where niveau <> 'structure'
),
comparaisons as (
    -- only published cells can be read; since the reference year, at the main levels only
    select c.*, 'un_an' as comparaison, c.annee - 1 as annee_comparee
    from cellules as c
    where c.statut = 'publie'
    union all
    select c.*, 'reference', r.annee_reference
    from cellules as c
    join registre as r using (indicateur)
    where c.statut = 'publie' and c.annee > r.annee_reference and c.niveau in ('departement', 'national')
),
comparees as (
    -- the compared cells, whatever their status (the lookup table stays small)
    select c.* from cellules as c
    semi join comparaisons as k
      on c.indicateur = k.indicateur and c.niveau = k.niveau and c.code = k.code and c.annee = k.annee_comparee
),
reunies as (
    select
        k.indicateur, k.niveau, k.code, k.annee, k.comparaison, k.annee_comparee,
        k.valeur, k.statut, k.n_structures,
        c.valeur as valeur_comparee, c.statut as statut_compare, c.n_structures as n_compare,
        coalesce(p.n_panel, 0) as n_panel, p.valeur_panel, p.valeur_panel_comparee,
        r.agregat, r.unite, r.sens, r.n_min, r.mode, r.decimales,
        case when r.mode = 'panel' then p.valeur_panel else k.valeur end as base,
        case when r.mode = 'panel' then p.valeur_panel_comparee else c.valeur end as base_comparee
    from comparaisons as k
    join registre as r using (indicateur)
    left join comparees as c
      on c.indicateur = k.indicateur and c.niveau = k.niveau and c.code = k.code and c.annee = k.annee_comparee
    left join {{ ref('int_tendances__panels') }} as p
      on p.indicateur = k.indicateur and p.niveau = k.niveau and p.code = k.code and p.annee = k.annee
     and p.comparaison = k.comparaison
),
evolutions as (
    select
        *,
        -- the change as read: points for a share, units for a count, per cent otherwise; on the
        -- panel when the indicator is compared on a panel, and on all the structures of each year
        {{ evolution_lue('unite', 'agregat', 'base', 'base_comparee') }} as evolution,
        case when statut = 'publie' and coalesce(statut_compare, '') = 'publie'
             then {{ evolution_lue('unite', 'agregat', 'valeur', 'valeur_comparee') }} end as evolution_ensemble,
        case when unite = 'ratio' then 'points' when agregat in ('compte', 'total') then 'unite'
             else 'pourcent' end as unite_evolution,
        -- no verdict on withheld cells, nor on a panel smaller than the minimum of structures
        statut = 'publie' and coalesce(statut_compare, '') = 'publie' and (mode <> 'panel' or n_panel >= n_min)
            as comparable
    from reunies
)
select
    indicateur, niveau, code, annee, comparaison, annee_comparee,
    valeur, statut, n_structures, valeur_comparee, statut_compare, n_compare,
    mode, n_panel, valeur_panel, valeur_panel_comparee,
    evolution, evolution_ensemble, unite_evolution,
    case when comparable and evolution is not null then
        case
            when round(evolution, case when unite_evolution = 'unite' then decimales else 1 end) = 0 then 'stable'
            when sens = 'hausse' then case when evolution > 0 then 'en_progres' else 'en_recul' end
            when sens = 'baisse' then case when evolution < 0 then 'en_progres' else 'en_recul' end
            else case when evolution > 0 then 'en_hausse' else 'en_baisse' end
        end
    end as verdict,
    -- the figure itself is published only when the structures outside the panel, each year,
    -- are none or at least the minimum: otherwise panel and totals together would give them away
    coalesce(comparable and evolution is not null
             and (mode <> 'panel'
                  or ((n_structures = n_panel or n_structures - n_panel >= n_min)
                      and (n_compare = n_panel or n_compare - n_panel >= n_min))), false) as evolution_publiable,
    mode = 'panel' and (n_structures <> n_panel or coalesce(n_compare, 0) <> n_panel) as repondants_changes,
    -- why a change of two published values has no verdict (the reading says it): a panel below the minimum
    case when statut = 'publie' and coalesce(statut_compare, '') = 'publie' and mode = 'panel' and n_panel < n_min
         then 'panel_insuffisant' end as motif_sans_verdict
from evolutions
