select
    *,
    extract(year from date)::integer as annee
from {{ source('entrepot', 'activites') }}
where date is not null
