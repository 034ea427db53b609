select
    c.code_insee,
    c.nom_commune,
    c.code_departement,
    d.nom_departement,
    nullif(c.code_ept, '') as code_ept,
    nullif(c.nom_ept, '') as nom_ept,
    c.population
from {{ source('entrepot', 'ref_communes') }} as c
left join {{ source('entrepot', 'ref_departements') }} as d using (code_departement)
