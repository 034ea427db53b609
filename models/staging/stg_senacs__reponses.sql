-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- One row per structure x survey, as declared, with the analysts' accepted corrections applied
-- (the raw extract is never edited). `annee` is the year the answers describe.
{%- set colonnes = [] -%}
{%- if execute -%}
  {%- set colonnes = run_query("select colonne, type_colonne from " ~ ref('stg_senacs__colonnes')
                               ~ " where colonne not in ('annee_enquete', 'code_structure') order by ordre").rows -%}
{%- endif -%}
{%- set sql_types = {'int': 'bigint', 'decimal': 'double', 'bool': 'boolean', 'date': 'date', 'annee': 'integer'} %}
with corrections as (
    select annee_enquete, code_structure
    {%- for c in colonnes %},
        bool_or(colonne = '{{ c["colonne"] }}') as "corrige__{{ c["colonne"] }}",
        max(nouvelle_valeur) filter (where colonne = '{{ c["colonne"] }}') as "valeur__{{ c["colonne"] }}"
    {%- endfor %}
    from {{ source('entrepot', 'corrections') }}
    where statut = 'appliquee'
    group by annee_enquete, code_structure
),
corrigees as (
    select
        r.*{% if colonnes %} replace (
        {%- for c in colonnes %}
            case when k."corrige__{{ c["colonne"] }}"
                 then cast(k."valeur__{{ c["colonne"] }}" as {{ sql_types.get(c["type_colonne"], 'varchar') }})
                 else r."{{ c["colonne"] }}" end as "{{ c["colonne"] }}"{{ "," if not loop.last }}
        {%- endfor %}
        ){% endif %},
        k.annee_enquete is not null as est_corrigee
    from {{ source('entrepot', 'reponses') }} as r
    left join corrections as k using (annee_enquete, code_structure)
)
select
    *,
    annee_donnees as annee,
    coalesce(repondant, false) as est_repondant
from corrigees
