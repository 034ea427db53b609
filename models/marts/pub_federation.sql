-- Who publishes the observatory, as the sites and the open data name it: the federation, the
-- départements it covers, the licence of its open data, its contact and logo, and its federal
-- project's period (from data/reference/projet_federal.yaml, through ref_projet).
select
    federation_nom as nom,
    federation_departements as departements,
    federation_zone as departements_zone,
    federation_licence as licence,
    federation_licence_url as licence_url,
    federation_contact as contact,
    federation_site as site,
    federation_adresse_observatoire as adresse_observatoire,
    federation_logo as logo,
    titre as titre_projet,
    premiere_annee, derniere_annee, annee_reference, annee_cible
from {{ ref('stg_projet__projet') }}
