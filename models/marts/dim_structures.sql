-- Every structure the warehouse has answers from, as the internal pages name it: its name, type
-- and commune (with the commune's name) in the last data year it answered for. Internal only: the
-- public site and the open data describe no structure.
select distinct on (s.code_structure)
    s.code_structure, s.nom_structure, s.type_structure, s.code_commune, c.nom_commune, s.annee
from {{ ref('int_structures_annees') }} as s
left join {{ ref('stg_referentiel__communes') }} as c on c.code_insee = s.code_commune
order by s.code_structure, s.annee desc, s.annee_enquete desc
