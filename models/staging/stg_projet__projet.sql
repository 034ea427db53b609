select
    titre,
    premiere_annee::integer as premiere_annee,
    derniere_annee::integer as derniere_annee,
    annee_reference::integer as annee_reference,
    annee_cible::integer as annee_cible,
    federation_nom,
    federation_departement,
    string_split(nullif(federation_departements, ''), ',') as federation_departements,
    -- the area above the départements when the federation declares several (else France)
    case when len(string_split(nullif(federation_departements, ''), ',')) >= 2
        then string_split(federation_departements, ',') end as federation_zone,
    federation_licence,
    nullif(federation_licence_url, '') as federation_licence_url,
    nullif(federation_contact, '') as federation_contact,
    nullif(federation_site, '') as federation_site,
    nullif(federation_adresse_observatoire, '') as federation_adresse_observatoire,
    nullif(federation_logo, '') as federation_logo
from {{ source('entrepot', 'ref_projet') }}
