-- The parameters of the published figures that the pages state in words, decided here once so
-- that the site only writes them: the disclosure minimum most indicators follow (the smallest
-- minimum above one in the registry, else the project's default), in figures and in French
-- words, and the dominance threshold (a share of a total one structure may not exceed).
with minimum as (
    select coalesce(min(n_min) filter (where n_min > 1), {{ var('secret_n_min') }}) as n
    from {{ ref('pub_registre') }}
)
select
    n as secret_n_min,
    case n when 2 then 'deux' when 3 then 'trois' when 4 then 'quatre' when 5 then 'cinq' when 6 then 'six'
           when 7 then 'sept' when 8 then 'huit' when 9 then 'neuf' when 10 then 'dix'
           else cast(n as varchar) end as secret_n_min_en_lettres,
    cast({{ var('secret_dominance') }} as double) as secret_dominance
from minimum
