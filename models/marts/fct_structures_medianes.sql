-- Internal, never published: each structure's value of every survey indicator, each data year,
-- beside the median of the structures of the same type (CS or EVS) in its département that year,
-- for the internal structure pages.
with valeurs as (
    select
        i.indicateur, i.annee, s.code_structure, s.type_structure, s.code_departement,
        case when isnan(i.valeur) then null else i.valeur end as valeur
    from {{ ref('fct_indicateurs_structures') }} as i
    join {{ ref('int_structures_annees') }} as s on s.code_structure = i.code and s.annee = i.annee
    join {{ ref('registre_indicateurs') }} as r using (indicateur)
    where r.source = 'enquete'
)
select
    indicateur, annee, code_structure, type_structure, code_departement, valeur,
    median(valeur) over pairs as mediane_type,
    count(valeur) over pairs as n_type
from valeurs
window pairs as (partition by indicateur, annee, type_structure, code_departement)
