{#-
  Robust statistics for the plausibility checks (int_controles__mesures), computed set-wise: the
  median and the median absolute deviation (MAD) of `x`, per measure and kind of structure, for
  each `periode` (a column of `relation`: the data year, or the pair of years a change spans).
  A period with fewer than `minimum` values takes the kind's usual figures instead (the medians
  of its periods' medians and MADs).
-#}
{% macro medianes_robustes(relation, x, periode) %}
    select type_structure, colonne, {{ periode }} as periode, count({{ x }}) as n, median({{ x }}) as med
    from {{ relation }} group by type_structure, colonne, {{ periode }}
{% endmacro %}

{% macro ecarts_robustes(relation, medianes, x, periode, minimum) %}
    with par_periode as (
        select m.type_structure, m.colonne, m.periode, any_value(m.n) as n, any_value(m.med) as med,
               median(abs(t.{{ x }} - m.med)) as mad
        from {{ medianes }} as m
        join {{ relation }} as t
          on t.type_structure = m.type_structure and t.colonne = m.colonne and t.{{ periode }} = m.periode
        group by m.type_structure, m.colonne, m.periode
    ),
    toutes_periodes as (
        select type_structure, colonne, sum(n) as n, median(med) as med, median(mad) as mad
        from par_periode where n > 0
        group by type_structure, colonne
    )
    select p.type_structure, p.colonne, p.periode,
           case when p.n >= {{ minimum }} then p.med else t.med end as med,
           case when p.n >= {{ minimum }} then p.mad else t.mad end as mad
    from par_periode as p
    left join toutes_periodes as t using (type_structure, colonne)
    where p.n >= {{ minimum }} or t.n >= {{ minimum }}
{% endmacro %}
