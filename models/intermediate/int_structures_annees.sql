-- One row per structure and data year, placed in its commune, territory and département.
-- If two surveys describe the same data year, the later survey wins.
with reponses as (
    select *
    from {{ ref('stg_senacs__reponses') }}
    qualify row_number() over (partition by code_structure, annee order by annee_enquete desc) = 1
)
select
    r.*,
    c.code_departement,
    coalesce(c.code_ept, c.code_departement) as code_territoire,
    c.code_ept is not null as territoire_est_ept
from reponses as r
left join {{ ref('stg_referentiel__communes') }} as c on c.code_insee = r.code_commune
