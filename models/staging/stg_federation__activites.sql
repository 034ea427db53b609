-- The activity log as loaded. The log of year N describes year N: an activity is counted in its
-- log's year, whatever its date says (a date typed in another year, or unreadable, is a finding
-- of the ingest; it must not make up a year of its own).
select
    *,
    annee_fichier as annee
from {{ source('entrepot', 'activites') }}
