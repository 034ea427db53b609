-- Who publishes the observatory, as the sites and the open data name it: the federation, the
-- départements it covers, the licence of its open data, its contact and logo, and its federal
-- project's period (from data/reference/projet_federal.yaml, through ref_projet).
select
    federation_nom as nom,
    federation_departements as departements,
    federation_licence as licence,
    federation_licence_url as licence_url,
    federation_contact as contact,
    federation_site as site,
    federation_adresse_observatoire as adresse_observatoire,
    federation_logo as logo,
    titre as titre_projet,
    premiere_annee, derniere_annee, annee_reference, annee_cible,
    -- a federation of several départements (not the whole country): the départements whose communes
    -- its top unit's map draws (France's map draws départements)
    {{ departements_federation() }} as departements_carte
from {{ ref('stg_projet__projet') }}
