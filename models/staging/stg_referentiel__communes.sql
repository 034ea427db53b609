-- Communes with their département and, in the Métropole du Grand Paris, their établissement
-- public territorial. Territories must split départements (a parent's total is the sum of its
-- children's): an EPT's commune lying in another département than the rest of the EPT
-- (Argenteuil, Val-d'Oise, in Boucle Nord de Seine) is given no EPT, so its territory is its
-- département as anywhere outside the Métropole.
-- A folder may declare its own territories (ref_territoires, e.g. its EPCI): they take the EPT's
-- place for their communes, under the same rule.
with communes as (
    select c.* exclude (nom_ept),
           coalesce(nullif(t.code_territoire, ''), nullif(c.code_ept, '')) as ept,
           case when nullif(t.code_territoire, '') is not null then coalesce(nullif(t.nom_territoire, ''), t.code_territoire)
                else c.nom_ept end as nom_ept
    from {{ source('entrepot', 'ref_communes') }} as c
    left join {{ source('entrepot', 'ref_territoires') }} as t on t.code_commune = c.code_insee
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
    c.population,
    c.type_commune
from communes as c
left join departement_des_ept as e using (ept)
left join {{ source('entrepot', 'ref_departements') }} as d using (code_departement)
