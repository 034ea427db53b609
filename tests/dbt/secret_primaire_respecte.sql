-- No published cell of a sensitive indicator breaks the frequency rule (fewer contributors
-- than the minimum, except a unit of enough structures where none answered) or the dominance
-- rule, at any public level.
select i.indicateur, i.annee, i.niveau, i.code, a.n_contributeurs, a.n_population, a.max_abs_num, a.somme_abs_num
from {{ ref('fct_indicateurs') }} as i
join {{ ref('int_secret__primaire') }} as a using (indicateur, annee, niveau, code)
join {{ ref('registre_indicateurs') }} as r using (indicateur)
where i.statut = 'publie'
  and (coalesce(r.n_min, {{ var('secret_n_min') }}) > 1 or coalesce(r.dominance, false))
  and (
      (a.n_contributeurs < coalesce(r.n_min, {{ var('secret_n_min') }})
       and not (a.n_contributeurs = 0 and a.n_population >= coalesce(r.n_min, {{ var('secret_n_min') }})))
      or (coalesce(r.dominance, false)
          and ({{ secret_domine('a.max_abs_num', 'a.somme_abs_num') }}
               or {{ secret_domine('a.max_abs_den', 'a.somme_abs_den') }}))
  )
