{{ config(materialized='view') }}  {#- one table's columns (int_secret__cellules carries each cell's figures): read as they are -#}
-- Every indicator of the registry, for every data year and every public unit (commune, territory,
-- département, France), with its final disclosure status: `secret` (primary or complementary
-- suppression), `non_disponible` (nothing to compute), `publie`. A structure's own figures are
-- in fct_indicateurs_structures.
select
    s.indicateur, s.annee, s.niveau, s.code, s.valeur, s.numerateur, s.denominateur,
    s.n_structures, s.n_population, s.n_contributeurs,
    case
        when s.secret then 'secret'
        when s.valeur is null or isnan(s.valeur) then 'non_disponible'
        else 'publie'
    end as statut,
    s.motif_secret
from {{ ref('int_secret__cellules') }} as s
