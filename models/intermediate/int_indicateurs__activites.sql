{{ config(materialized='view') }}
-- depends_on: {{ ref('registre_indicateurs') }}
-- Activity-level measures of every activity-log indicator of the registry.
with activites as (
    select *, fichier_sha256 || ':' || ligne_source as id_activite
    from {{ ref('stg_federation__activites') }}
)
{{ mesures_registre('activites', 'activites', 'annee, id_activite') }}
