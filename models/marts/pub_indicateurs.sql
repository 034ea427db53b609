{{ config(materialized='table') }}
-- What the public site and the open data may show of every indicator: public levels only, the
-- final disclosure status, withheld values, numerators, denominators and counts left empty,
-- values rounded to their published precision (registry `decimales`).
select
    i.indicateur, i.annee, i.niveau, i.code, u.libelle as libelle_unite,
    case when i.statut = 'publie' then round(i.valeur, r.decimales) end as valeur,
    case when i.statut = 'publie' then round(i.numerateur, 2) end as numerateur,
    case when i.statut = 'publie' then round(i.denominateur, 2) end as denominateur,
    case when i.statut <> 'secret' then i.n_structures end as n_structures,
    i.n_population as n_total,
    i.statut,
    -- a count declared as meaningful per inhabitant (registry `par_habitant`), per 10,000 inhabitants of
    -- its unit: the population is public, so the rate is shown exactly when the value is
    case when i.statut = 'publie' and r.par_habitant and p.population > 0
         then round(i.valeur / p.population * 10000, 1) end as valeur_pour_10000,
    case when r.par_habitant then cast(p.population as bigint) end as population
from {{ ref('fct_indicateurs') }} as i
join {{ ref('registre_indicateurs') }} as r using (indicateur)
left join {{ ref('pub_unites') }} as u using (annee, niveau, code)
left join {{ ref('int_unites_population') }} as p using (niveau, code)
where i.niveau in ('commune', 'territoire', 'departement', 'national')
  -- a territory that is its département (outside the Métropole du Grand Paris, with no declared
  -- territories) is not a level of its own: its figures are the département's
  and not coalesce(u.confondu_avec_parent, false)
