{#- Whether the warehouse holds several départements: then France is a level of its own (a
    national unit above the départements), else the federation's département is the top. -#}
{% macro plusieurs_departements() -%}
    (select count(distinct code_departement) > 1 from {{ ref('int_structures_annees') }})
{%- endmacro %}

{#- The départements of a federation that declares several (not the whole country) when every
    loaded structure lies in them, ordered by code; an empty list otherwise. Its top unit (code FR)
    is then its own area, named after them and counting their inhabitants only, not France. -#}
{% macro departements_federation() -%}
    coalesce((select list_sort(p.federation_departements)
              from {{ ref('stg_projet__projet') }} as p
              where len(p.federation_departements) > 1
                and not exists (select 1 from {{ ref('int_structures_annees') }} as s
                                where not list_contains(p.federation_departements, s.code_departement))),
             []::varchar[])
{%- endmacro %}
