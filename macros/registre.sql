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

{#- The measures of one indicator over the rows of `relation` (one row per unit observed):
    whether the unit enters the computation (the registry's filter), whether it counts as a
    contributor for the disclosure rules (`contributeurs`, the filter by default), and its
    numerator / denominator. -#}
{% macro mesures_registre(source, relation, keys) %}
  {%- set indicateurs = registre(source) -%}
  {%- for i in indicateurs %}
    select '{{ i["indicateur"] }}' as indicateur, {{ keys }},
           coalesce(({{ i["filtre"] }}), false) as inclus,
           coalesce(({{ i["contributeurs"] or i["filtre"] }}), false) as contributeur,
           case when coalesce(({{ i["filtre"] }}), false) then ({{ i["numerateur"] }})::double end as numerateur,
           {% if i["denominateur"] -%}
           case when coalesce(({{ i["filtre"] }}), false) then ({{ i["denominateur"] }})::double end
           {%- else %}null::double{% endif %} as denominateur
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
  {%- endfor %}
  {%- if not indicateurs %}
    select null::varchar as indicateur, {{ keys }}, false as inclus, false as contributeur, null::double as numerateur,
           null::double as denominateur
    from {{ relation }} where false
  {%- endif %}
{% endmacro %}

{#- An indicator's value from the totals of a group of units (count, sum of numerators, sum
    of denominators, median of numerators), according to the registry's aggregation rule. -#}
{% macro valeur_depuis_totaux(agregat, n, somme_num, somme_den, mediane) %}
  case {{ agregat }}
    when 'compte' then {{ n }}::double
    when 'total' then coalesce({{ somme_num }}, 0)
    when 'somme' then {{ somme_num }}
    when 'ratio' then {{ somme_num }} / nullif({{ somme_den }}, 0)
    when 'mediane' then {{ mediane }}
  end
{% endmacro %}

{#- A change as it is read: in points for a share, in units for a count, in per cent otherwise. -#}
{% macro evolution_lue(unite, agregat, valeur, valeur_comparee) %}
  case
    when {{ valeur }} is null or {{ valeur_comparee }} is null or isnan({{ valeur }}) or isnan({{ valeur_comparee }}) then null
    when {{ unite }} = 'ratio' then ({{ valeur }} - {{ valeur_comparee }}) * 100
    when {{ agregat }} in ('compte', 'total') then {{ valeur }} - {{ valeur_comparee }}
    when {{ valeur_comparee }} <> 0 then ({{ valeur }} / {{ valeur_comparee }} - 1) * 100
  end
{% endmacro %}
