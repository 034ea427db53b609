-- The declared events (data/config/evenements.yaml or the folder's own), one row per data year
-- each concerns, in their declared order.
select cast(annee as integer) as annee, trim(libelle) as libelle, cast(ordre as integer) as ordre
from {{ source('entrepot', 'ref_evenements') }}
where nullif(trim(libelle), '') is not null
