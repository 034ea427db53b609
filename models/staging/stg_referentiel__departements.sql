select code_departement, nom_departement, code_region
from {{ source('entrepot', 'ref_departements') }}
