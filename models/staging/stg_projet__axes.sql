select code_axe, libelle_axe, ordre
from {{ source('entrepot', 'ref_axes') }}
