-- A trend verdict on a constant panel rests on at least the indicator's minimum of structures,
-- and its figure is shown only with both years' cells published.
select t.indicateur, t.annee, t.niveau, t.code, t.n_panel_un_an, t.n_panel_reference
from {{ ref('pub_tendances') }} as t
join {{ ref('registre_indicateurs') }} as r using (indicateur)
where coalesce(r.comparaison, 'panel') = 'panel'
  and ((t.verdict_un_an is not null and coalesce(t.n_panel_un_an, 0) < coalesce(r.n_min, {{ var('secret_n_min') }}))
       or (t.verdict_reference is not null
           and coalesce(t.n_panel_reference, 0) < coalesce(r.n_min, {{ var('secret_n_min') }}))
       or (t.evolution_un_an is not null and t.verdict_un_an is null)
       or (t.evolution_reference is not null and t.verdict_reference is null))
