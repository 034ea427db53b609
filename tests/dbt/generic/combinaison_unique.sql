{#- No two rows share the same values of `colonnes`. The rows are first grouped by one 64-bit hash
    of their key (a national table's millions of keys of several text columns made a large hash
    table that spilled to disk); only the keys of a repeated hash are then grouped as they are, so
    that a collision of two different keys reports nothing. -#}
{% test combinaison_unique(model, colonnes) %}
{%- set cle = colonnes | join(', ') %}
with repetes as (
    select hash({{ cle }}) as h
    from {{ model }}
    group by 1
    having count(*) > 1
)
select {{ cle }}, count(*) as n
from {{ model }}
where hash({{ cle }}) in (select h from repetes)
group by {{ cle }}
having count(*) > 1
{% endtest %}
