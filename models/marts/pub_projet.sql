-- The federal project as the public site shows it: each axis with its actions and their working
-- groups, in the project file's order (one row per action; an axis without action has one row).
select
    x.ordre as ordre_axe, x.code_axe, x.libelle_axe,
    a.code_action, a.libelle_action
from {{ ref('stg_projet__axes') }} as x
left join {{ ref('stg_projet__actions') }} as a using (code_axe)
