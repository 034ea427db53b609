{{ config(materialized='table') }}
-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- The published figures a declared measure enters, for selective editing (int_controles__scores):
-- per data year, level (commune, territory, département, France when several départements are
-- loaded), unit and measure, the total over the respondents whose answer the published figures
-- read, for the cells that are published: a cell of an indicator of the registry that reads the
-- measure, at least the disclosure minimum of structures, and not withheld by the disclosure
-- rules (int_secret__cellules: primary or secondary secrecy). A commune with two structures, a
-- withheld cell, or a measure no indicator reads publishes nothing a value could move: it gets
-- no score. Built once, so that the validation only looks them up.
{%- set mesures = [] -%}
{%- if execute -%}
  {#- under a dbt unit test, ref() names the test's fixture: the measures are read from the built table -#}
  {%- set colonnes = ref('stg_senacs__colonnes') | string -%}
  {%- if '__dbt__cte__' in colonnes %}{% set colonnes = adapter.quote(target.database) ~ '.' ~ adapter.quote(target.schema) ~ '.stg_senacs__colonnes' %}{% endif -%}
  {%- set mesures = run_query("select colonne from " ~ colonnes
                              ~ " where bloc <> 'identite' and type_colonne in ('int', 'decimal')"
                              ~ " order by ordre").columns[0].values() -%}
{%- endif %}
with retenues as (
    select
        annee, code_commune, code_territoire, code_departement,
        {{ plusieurs_departements() }} as avec_national
        {%- for c in mesures %}, "{{ c }}"::double as "{{ c }}"{% endfor %}
    from {{ ref('int_structures_annees') }}
    where est_repondant
),
valeurs as (
    {%- if mesures %}
    select annee, code_commune, code_territoire, code_departement, avec_national, colonne, valeur
    from retenues
    unpivot ((valeur) for colonne in ({% for c in mesures %}"{{ c }}"{{ ", " if not loop.last }}{% endfor %}))
    {%- else %}
    select
        null::integer as annee, null::varchar as code_commune, null::varchar as code_territoire,
        null::varchar as code_departement, null::boolean as avec_national, null::varchar as colonne,
        null::double as valeur
    where false
    {%- endif %}
),
totaux as (
    -- a published figure: the measure's total over the respondents of a cell that clears the
    -- disclosure minimum. Summed exactly (decimals; ingest bounds every value to 1e15): a sum of
    -- doubles depends on the order DuckDB's threads take, so a territory that is its whole
    -- département got a total a few bits off the département's, and a finding named one or the
    -- other from one build to the next
    select annee, niveau, code, colonne, sum(valeur::decimal(38, 12))::double as total, count(*) as n
    from (
        select annee, 'commune' as niveau, code_commune as code, colonne, valeur from valeurs
        union all
        select annee, 'territoire', code_territoire, colonne, valeur from valeurs
        union all
        select annee, 'departement', code_departement, colonne, valeur from valeurs
        union all
        select annee, 'national', 'FR', colonne, valeur from valeurs where avec_national
    ) as cellules
    where valeur is not null and code is not null
    group by all
    having count(*) >= {{ var('secret_n_min') }}
),
-- the cells published for some indicator of the survey that reads the measure
publiees as (
    select distinct s.annee, s.niveau, s.code, c.colonne
    from {{ ref('int_secret__cellules') }} as s
    join (select indicateur, unnest(string_split(colonnes_sources, '|')) as colonne
          from {{ ref('registre_indicateurs') }} where source = 'enquete') as c using (indicateur)
    where not s.secret
)
select t.*
from totaux as t
semi join publiees as p using (annee, niveau, code, colonne)
