-- Every level unit each structure-year belongs to (DHIS2's organisation-unit tree):
-- itself, its commune, its territory (EPT, or else the département), its département,
-- and France when several départements are loaded.
with s as (
    select annee, code_structure, code_commune, code_territoire, code_departement
    from {{ ref('int_structures_annees') }}
)
select annee, code_structure, 'structure' as niveau, code_structure as code from s
union all
select annee, code_structure, 'commune', code_commune from s where code_commune is not null
union all
select annee, code_structure, 'territoire', code_territoire from s where code_territoire is not null
union all
select annee, code_structure, 'departement', code_departement from s where code_departement is not null
union all
select annee, code_structure, 'national', 'FR' from s where {{ plusieurs_departements() }}
