{{ config(materialized='view') }}  {#- read by int_secret__cellules and two data tests: recomputed from the aggregates for less than writing 1.7 M rows at national scale -#}
-- Primary disclosure control of every public cell (indicator x year x unit), INSEE's rules:
--   frequency  fewer contributing structures than the indicator's minimum (3 by default);
--              a unit of at least that many structures where none answered reveals no one's
--              answer and is left to the `non_disponible` status;
--   dominance  (magnitudes only, `dominance` in the registry) one structure makes more than
--              `secret_dominance` (85 %) of the cell's numerator or denominator.
-- Indicators with a minimum of 1 and no dominance rule (counts of structures that exist, the
-- federation's own activities) are not sensitive.
with registre as (
    select indicateur, agregat,
           coalesce(n_min, {{ var('secret_n_min') }}) as n_min,
           coalesce(dominance, false) as dominance,
           {{ secret_sensible('r') }} as sensible
    from {{ ref('registre_indicateurs') }} as r
)
select
    a.indicateur, a.annee, a.niveau, a.code,
    a.valeur, a.numerateur, a.denominateur, a.n_structures,
    a.n_contributeurs, a.n_population, a.somme_abs_num, a.max_abs_num, a.somme_abs_den, a.max_abs_den,
    r.n_min, r.dominance,
    r.sensible,
    r.agregat in ('compte', 'total', 'somme', 'ratio') as additif,
    case
        when not r.sensible then null
        when a.n_contributeurs < r.n_min and not (a.n_contributeurs = 0 and a.n_population >= r.n_min)
            then 'frequence'
        when r.dominance and ({{ secret_domine('a.max_abs_num', 'a.somme_abs_num') }}
                              or {{ secret_domine('a.max_abs_den', 'a.somme_abs_den') }})
            then 'dominance'
    end as motif_primaire
from {{ ref('int_indicateurs__agregats') }} as a
join registre as r using (indicateur)
where a.niveau <> 'structure'     -- a structure's own figures are never public
