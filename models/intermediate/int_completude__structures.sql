{{ config(materialized='view') }}
-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- For each respondent and questionnaire block: how many of the block's cells are filled.
{%- set blocs = {} -%}
{%- if execute -%}
  {%- for row in run_query("select bloc, colonne from " ~ ref('stg_senacs__colonnes') ~ " where bloc is not null order by ordre").rows -%}
    {%- do blocs.setdefault(row['bloc'], []).append(row['colonne']) -%}
  {%- endfor -%}
{%- endif %}
with s as (select * from {{ ref('int_structures_annees') }} where est_repondant)
{%- for bloc, colonnes in blocs.items() %}
select annee, code_structure, '{{ bloc }}' as bloc,
       {{ colonnes | length }} as cellules_attendues,
       ({% for c in colonnes %}("{{ c }}" is not null)::int{% if not loop.last %} + {% endif %}{% endfor %}) as cellules_renseignees
from s
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if not blocs %}
select annee, code_structure, null::varchar as bloc, 0 as cellules_attendues, 0 as cellules_renseignees from s where false
{%- endif %}
