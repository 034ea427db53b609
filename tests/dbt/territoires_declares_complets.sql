{{ config(severity='warn', store_failures=true) }}
-- A folder that declares its territories (config/territoires.csv, e.g. its EPCI) and a commune
-- with centres that none of them holds, or whose territory lies mostly in another département:
-- its structures count in their département only, with no territory, and the territory's
-- figures miss them. Said at each build (observatoire.build names the first communes).
select distinct c.nom_commune || ' (' || s.code_commune || ')' as commune
from {{ ref('int_structures_annees') }} as s
join {{ ref('stg_referentiel__communes') }} as c on c.code_insee = s.code_commune
where exists (select 1 from {{ source('entrepot', 'ref_territoires') }})
  and c.code_ept is null
order by commune
