-- One row per structure x survey, as declared; `annee` is the year the answers describe.
select
    *,
    annee_donnees as annee,
    coalesce(repondant, false) as est_repondant
from {{ source('entrepot', 'reponses') }}
