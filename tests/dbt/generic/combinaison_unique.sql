{#- No two rows share the same values of `colonnes`. -#}
{% test combinaison_unique(model, colonnes) %}
select {{ colonnes | join(', ') }}, count(*) as n
from {{ model }}
group by {{ colonnes | join(', ') }}
having count(*) > 1
{% endtest %}
