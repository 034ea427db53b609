-- The indicator registry, with the labels of its axis and action.
select
    r.*,
    case when r.axe = 'socle' then 'Chiffres clés SENACS' else x.libelle_axe end as libelle_axe,
    a.libelle_action,
    coalesce(x.ordre, 0) as ordre_axe
from {{ ref('registre_indicateurs') }} as r
left join {{ ref('stg_projet__axes') }} as x on x.code_axe = r.axe
left join {{ ref('stg_projet__actions') }} as a on a.code_action = r.action
