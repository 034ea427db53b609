{#-
  Robust statistics for the plausibility checks (int_controles__mesures): the median and the
  median absolute deviation (MAD) of `x`, per measure and kind of structure, for each `periode`
  (a column of `relation`: the data year, or the pair of years a change spans) and over every
  period (`periode` null), computed set-wise.
-#}
{% macro medianes_robustes(relation, x, periode) %}
    select type_structure, colonne, {{ periode }} as periode, count({{ x }}) as n, median({{ x }}) as med
    from {{ relation }} group by type_structure, colonne, {{ periode }}
    union all
    select type_structure, colonne, null, count({{ x }}), median({{ x }})
    from {{ relation }} group by type_structure, colonne
{% endmacro %}

{% macro ecarts_robustes(relation, medianes, x, periode) %}
    select m.type_structure, m.colonne, m.periode, any_value(m.n) as n, any_value(m.med) as med,
           median(abs(t.{{ x }} - m.med)) as mad
    from {{ medianes }} as m
    join {{ relation }} as t
      on t.type_structure = m.type_structure and t.colonne = m.colonne and t.{{ periode }} = m.periode
    group by m.type_structure, m.colonne, m.periode
    union all
    select m.type_structure, m.colonne, null, any_value(m.n), any_value(m.med), median(abs(t.{{ x }} - m.med))
    from {{ medianes }} as m
    join {{ relation }} as t using (type_structure, colonne)
    where m.periode is null
    group by m.type_structure, m.colonne
{% endmacro %}

{#- Joins the figures of measure `colonne` (a column of `relation`) for its kind and `periode` (an
    expression over `relation`) when that period has at least `minimum` values, else those of the
    kind over every period: <prefixe>_a.* and <prefixe>_t.* -#}
{% macro stats_robustes_choisies(relation, stats, prefixe, periode, minimum, colonne='colonne') %}
    left join {{ stats }} as {{ prefixe }}_a
      on {{ prefixe }}_a.type_structure = {{ relation }}.type_structure
     and {{ prefixe }}_a.colonne = {{ relation }}.{{ colonne }}
     and {{ prefixe }}_a.periode = {{ periode }} and {{ prefixe }}_a.n >= {{ minimum }}
    left join {{ stats }} as {{ prefixe }}_t
      on {{ prefixe }}_t.type_structure = {{ relation }}.type_structure
     and {{ prefixe }}_t.colonne = {{ relation }}.{{ colonne }}
     and {{ prefixe }}_t.periode is null and {{ prefixe }}_t.n >= {{ minimum }}
{% endmacro %}
