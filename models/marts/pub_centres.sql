-- The centres of each public unit (commune, territory, département) of each data year: their
-- name, their type and their commune. These are public facts (the list of approved centres):
-- no figure of a structure's own is here, and a structure that did not answer is listed too.
-- France's page lists its départements, not its thousands of centres.
with s as (
    select s.annee, s.code_structure, coalesce(nullif(trim(s.nom_structure), ''), 'Structure au nom non déclaré')
               as nom_structure, s.type_structure, s.code_commune
    from {{ ref('int_structures_annees') }} as s
)
select
    u.annee, u.niveau, u.code, s.nom_structure, s.type_structure,
    coalesce(lt.libelle, s.type_structure) as libelle_type,
    coalesce(c.nom_commune, s.code_commune) as commune
from {{ ref('int_unites_structures') }} as u
join s using (annee, code_structure)
join {{ ref('pub_unites') }} as p
    on p.annee = u.annee and p.niveau = u.niveau and p.code = u.code and not p.confondu_avec_parent
left join {{ ref('stg_referentiel__communes') }} as c on c.code_insee = s.code_commune
left join {{ ref('libelles_codes') }} as lt on lt.domaine = 'type_structure' and lt.code = s.type_structure
where u.niveau in ('commune', 'territoire', 'departement')
