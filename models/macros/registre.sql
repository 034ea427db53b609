{#-
  The indicator registry (seed registre_indicateurs) drives the SQL: each entry becomes one
  SELECT of the structure-level measures. Read at execution time; empty while dbt parses.
-#}
{% macro registre(source) %}
  {% if execute %}
    {% set sql %}
      select * from {{ ref('registre_indicateurs') }} where source = '{{ source }}' order by indicateur
    {% endset %}
    {{ return(run_query(sql).rows) }}
  {% else %}
    {{ return([]) }}
  {% endif %}
{% endmacro %}

{#- The measures of one indicator over the rows of `relation` (one row per unit observed). -#}
{% macro mesures_registre(source, relation, keys) %}
  {%- set indicateurs = registre(source) -%}
  {%- for i in indicateurs %}
    select '{{ i["indicateur"] }}' as indicateur, {{ keys }},
           coalesce(({{ i["filtre"] }}), false) as inclus,
           case when coalesce(({{ i["filtre"] }}), false) then ({{ i["numerateur"] }})::double end as numerateur,
           {% if i["denominateur"] -%}
           case when coalesce(({{ i["filtre"] }}), false) then ({{ i["denominateur"] }})::double end
           {%- else %}null::double{% endif %} as denominateur
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
  {%- endfor %}
  {%- if not indicateurs %}
    select null::varchar as indicateur, {{ keys }}, false as inclus, null::double as numerateur,
           null::double as denominateur
    from {{ relation }} where false
  {%- endif %}
{% endmacro %}

{#- Aggregate the measures of a group of units according to the indicator's rule. -#}
{% macro agreger(agregat, numerateur='numerateur', denominateur='denominateur', inclus='inclus') %}
  case {{ agregat }}
    when 'compte' then count(*) filter (where {{ inclus }})::double
    when 'total' then coalesce(sum({{ numerateur }}) filter (where {{ inclus }}), 0)
    when 'somme' then sum({{ numerateur }}) filter (where {{ inclus }})
    when 'ratio' then sum({{ numerateur }}) filter (where {{ inclus }})
                      / nullif(sum({{ denominateur }}) filter (where {{ inclus }}), 0)
    when 'mediane' then median({{ numerateur }}) filter (where {{ inclus }})
  end
{% endmacro %}

{#- The numerator reported beside the value: the count for a count, the sum otherwise. -#}
{% macro numerateur_agrege(agregat, numerateur='numerateur', inclus='inclus') %}
  case {{ agregat }}
    when 'compte' then count(*) filter (where {{ inclus }})::double
    when 'total' then coalesce(sum({{ numerateur }}) filter (where {{ inclus }}), 0)
    when 'mediane' then null
    else sum({{ numerateur }}) filter (where {{ inclus }})
  end
{% endmacro %}
