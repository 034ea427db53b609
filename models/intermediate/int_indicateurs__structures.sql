-- depends_on: {{ ref('registre_indicateurs') }}
-- Structure-level measures of every survey indicator of the registry: for each invited
-- structure-year, whether it enters the computation, and its numerator / denominator.
{{ mesures_registre('enquete', ref('int_structures_annees'), 'annee, code_structure') }}
