{#- Whether the warehouse holds several départements: then France is a level of its own (a
    national unit above the départements), else the federation's département is the top. -#}
{% macro plusieurs_departements() -%}
    (select count(distinct code_departement) > 1 from {{ ref('int_structures_annees') }})
{%- endmacro %}

{#- The name of the level above the départements: France, or the départements of a federation
    that declares several (a Corsican federation's 2A and 2B: « Corse-du-Sud, Haute-Corse »). -#}
{% macro libelle_national() -%}
    coalesce(
        (select string_agg(dep_national.nom_departement, ', ' order by dep_national.code_departement)
         from {{ ref('stg_projet__projet') }} as projet_national,
             {{ ref('stg_referentiel__departements') }} as dep_national
         where list_contains(projet_national.federation_zone, dep_national.code_departement)),
        'France')
{%- endmacro %}
