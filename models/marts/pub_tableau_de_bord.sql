-- The board's scorecard: every indicator of the federal project's axes at the observatory's
-- main unit, year by year, with its reference, target, changes and status.
with principal as (
    select distinct niveau, code from {{ ref('pub_unites') }} where est_principal
)
select
    x.ordre as ordre_axe, d.axe, x.libelle_axe, d.action, a.libelle_action,
    t.indicateur, d.libelle, d.unite, d.sens,
    t.annee, t.niveau, t.code, t.valeur, t.statut, t.n_structures,
    t.unite_evolution, t.verdict_un_an, t.evolution_un_an, t.evolution_ensemble_un_an, t.n_panel_un_an, t.n_structures_precedente,
    t.repondants_changes_un_an,
    t.annee_reference, t.valeur_reference, t.verdict_reference, t.evolution_reference, t.evolution_ensemble_reference, t.n_panel_reference,
    t.n_structures_reference, t.repondants_changes_reference,
    t.cible, t.annee_cible, t.valeur_attendue, t.statut_cible
from {{ ref('pub_tendances') }} as t
join principal as p on p.niveau = t.niveau and p.code = t.code
join {{ ref('registre_indicateurs') }} as d using (indicateur)
join {{ ref('stg_projet__axes') }} as x on x.code_axe = d.axe
left join {{ ref('stg_projet__actions') }} as a on a.code_action = d.action
