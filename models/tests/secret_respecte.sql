-- Below département level, no value is published from fewer structures than the indicator's minimum.
select i.*
from {{ ref('indicateurs') }} as i
join {{ ref('registre_indicateurs') }} as r using (indicateur)
where i.niveau in ('structure', 'commune', 'territoire')
  and i.statut = 'publie'
  and i.n_structures < r.n_min
