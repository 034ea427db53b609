-- The parameters of the published figures that the pages state in words, decided here once so
-- that the site only writes them: the disclosure minimum most indicators follow (the smallest
-- minimum above one in the registry, else the project's default), in figures and in French
-- words, the dominance threshold (a share of a total one structure may not exceed), whether
-- indicators come from the federation's activity log, and whether the territories are those the
-- observatory's folder declares (config/territoires.csv: its EPCI, the Caf's areas…) rather than
-- the Métropole du Grand Paris's EPT.
with minimum as (
    select coalesce(min(n_min) filter (where n_min > 1), {{ var('secret_n_min') }}) as n,
           coalesce(bool_or(source = 'activites'), false) as journal
    from {{ ref('pub_registre') }}
)
select
    n as secret_n_min,
    case n when 2 then 'deux' when 3 then 'trois' when 4 then 'quatre' when 5 then 'cinq' when 6 then 'six'
           when 7 then 'sept' when 8 then 'huit' when 9 then 'neuf' when 10 then 'dix'
           else cast(n as varchar) end as secret_n_min_en_lettres,
    cast({{ var('secret_dominance') }} as double) as secret_dominance,
    -- the registry has indicators of the federation's activity log: the site says where they come from
    journal,
    -- the methodology says where the territories come from
    (select count(*) > 0 from {{ source('entrepot', 'ref_territoires') }}) as territoires_declares
from minimum
