{{ config(materialized='view') }}
-- The tree of public units each data year (commune -> territoire -> departement -> France),
-- along which a parent's total is the sum of its children's for additive measures.
with s as (
    select distinct annee, code_commune, code_territoire, code_departement
    from {{ ref('int_structures_annees') }}
    where code_commune is not null and code_departement is not null
)
select distinct annee, 'commune' as niveau, code_commune as code, 'territoire' as niveau_parent,
       code_territoire as code_parent
from s
union all
select distinct annee, 'territoire', code_territoire, 'departement', code_departement from s
union all
select distinct annee, 'departement', code_departement, 'national', 'FR'
from s
where {{ plusieurs_departements() }}
