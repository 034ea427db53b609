-- The analyst-facing table: one row per indicator x data year x level x unit, every level from
-- the structure to France.
select
    indicateur, annee, niveau, code,
    case when isnan(valeur) then null else valeur end as valeur,
    numerateur, denominateur, n_structures, statut
from {{ ref('fct_indicateurs') }}
union all
select
    indicateur, annee, niveau, code,
    case when isnan(valeur) then null else valeur end as valeur,
    numerateur, denominateur, n_structures, statut
from {{ ref('fct_indicateurs_structures') }}
