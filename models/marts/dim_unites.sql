-- Every unit an indicator is published for, with its label and its parent unit.
with derniere as (
    select *
    from {{ ref('int_structures_annees') }}
    qualify row_number() over (partition by code_structure order by annee desc) = 1
),
communes as (select * from {{ ref('stg_referentiel__communes') }}),
utilisees as (select distinct niveau, code from {{ ref('int_unites_structures') }})
select 'structure' as niveau, d.code_structure as code, d.nom_structure as libelle,
       d.code_commune as code_parent, d.type_structure
from derniere as d
union all
select 'commune', c.code_insee, c.nom_commune, coalesce(c.code_ept, c.code_departement), null
from communes as c join utilisees as u on u.niveau = 'commune' and u.code = c.code_insee
union all
select distinct 'territoire', u.code, coalesce(e.nom_ept, dep.nom_departement),
       coalesce(any_value(c.code_departement) over (partition by u.code), u.code), null
from utilisees as u
left join (select distinct code_ept, nom_ept, code_departement from communes where code_ept is not null) as e
    on e.code_ept = u.code
left join communes as c on c.code_ept = u.code
left join {{ ref('stg_referentiel__departements') }} as dep on dep.code_departement = u.code
where u.niveau = 'territoire'
union all
select 'departement', dep.code_departement, dep.nom_departement, 'FR', null
from {{ ref('stg_referentiel__departements') }} as dep
join (select distinct code_departement from {{ ref('int_structures_annees') }}
      union select federation_departement from {{ ref('stg_projet__projet') }}) as l
    on l.code_departement = dep.code_departement
union all
-- the level above the départements: France, or the area of a federation that declares several
-- départements (a Corsican federation's 2A and 2B are not France)
select 'national', 'FR', {{ libelle_national() }}, null, null
where exists (select 1 from utilisees where niveau = 'national')
