{% macro mesures_numeriques() %}
  {#- The survey's numeric measures (its int and decimal columns outside the identity block, in the
      survey's order) and, among them, the counts (int): what the plausibility models measure. -#}
  {%- set mesures, entiers = [], [] -%}
  {%- if execute -%}
    {%- set colonnes = run_query("select colonne, type_colonne from " ~ ref('stg_senacs__colonnes')
                                 ~ " where bloc <> 'identite' and type_colonne in ('int', 'decimal')"
                                 ~ " order by ordre") -%}
    {%- for row in colonnes.rows -%}
      {%- do mesures.append(row[0]) -%}
      {%- if row[1] == 'int' %}{% do entiers.append(row[0]) %}{% endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return({'mesures': mesures, 'entiers': entiers}) }}
{% endmacro %}
