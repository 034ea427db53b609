-- Communes with their département and, in the Métropole du Grand Paris, their établissement
-- public territorial. Territories must split départements (a parent's total is the sum of its
-- children's): an EPT's commune lying in another département than the rest of the EPT
-- (Argenteuil, Val-d'Oise, in Boucle Nord de Seine) is given no EPT, so its territory is its
-- département as anywhere outside the Métropole.
with communes as (
    select c.*, nullif(c.code_ept, '') as ept
    from {{ source('entrepot', 'ref_communes') }} as c
),
departement_des_ept as (
    select ept, mode(code_departement) as departement_ept
    from communes
    where ept is not null
    group by ept
)
select
    c.code_insee,
    c.nom_commune,
    c.code_departement,
    d.nom_departement,
    case when c.code_departement = e.departement_ept then c.ept end as code_ept,
    case when c.code_departement = e.departement_ept then nullif(c.nom_ept, '') end as nom_ept,
    c.population
from communes as c
left join departement_des_ept as e using (ept)
left join {{ source('entrepot', 'ref_departements') }} as d using (code_departement)
