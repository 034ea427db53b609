{#- None of `colonnes` is ever empty, in one read of the model (a view is computed once, and dbt's
    own work for a test, some 30 ms, is paid once instead of once per column). A failure returns
    one row per column that has empty values, with how many. -#}
{% test non_nuls(model, colonnes) %}
with vides as (
    select
        {%- for colonne in colonnes %}
        count(*) filter (where {{ adapter.quote(colonne) }} is null) as {{ adapter.quote(colonne) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
)
select colonne, n
from (unpivot vides on columns(*) into name colonne value n)
where n > 0
{% endtest %}
