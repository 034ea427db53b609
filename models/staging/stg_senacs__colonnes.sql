select colonne, type_colonne, bloc, requis, ordre
from {{ source('entrepot', 'ref_schema_colonnes') }}
where type_extrait = 'senacs'
