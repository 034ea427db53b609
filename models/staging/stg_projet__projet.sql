select
    titre,
    premiere_annee::integer as premiere_annee,
    derniere_annee::integer as derniere_annee,
    annee_reference::integer as annee_reference,
    annee_cible::integer as annee_cible,
    federation_nom,
    federation_departement
from {{ source('entrepot', 'ref_projet') }}
