-- The population of every public unit (the reference data's legal populations): a commune's
-- own, and the sum of its communes for a territory, a département and France. A municipal
-- arrondissement (Paris, Lyon, Marseille) is a commune of its own where a structure sits in it,
-- but its commune already counts its inhabitants in the sums above.
with communes as (
    select code_insee, code_departement, coalesce(code_ept, code_departement) as code_territoire,
           population, coalesce(type_commune, 'commune') <> 'arrondissement_municipal' as entiere
    from {{ ref('stg_referentiel__communes') }}
    where population is not null
)
select 'commune' as niveau, code_insee as code, cast(population as bigint) as population from communes
union all
select 'territoire', code_territoire, cast(sum(population) as bigint) from communes where entiere group by code_territoire
union all
select 'departement', code_departement, cast(sum(population) as bigint) from communes where entiere group by code_departement
union all
select 'national', 'FR', cast(sum(population) as bigint) from communes
where entiere and (  -- France, or the départements of a federation that declares several (dim_unites)
    select coalesce(list_contains(federation_zone, code_departement), true)
    from {{ ref('stg_projet__projet') }})
