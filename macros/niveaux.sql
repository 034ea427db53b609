{#- Whether the warehouse holds several départements: then France is a level of its own (a
    national unit above the départements), else the federation's département is the top. -#}
{% macro plusieurs_departements() -%}
    (select count(distinct code_departement) > 1 from {{ ref('int_structures_annees') }})
{%- endmacro %}
