select
    a.code_action,
    a.libelle_action,
    a.code_axe,
    x.libelle_axe,
    x.ordre as ordre_axe
from {{ source('entrepot', 'ref_actions') }} as a
join {{ source('entrepot', 'ref_axes') }} as x using (code_axe)
