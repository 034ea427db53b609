{{ config(materialized='table') }}
-- Every indicator of the registry, for every data year and every public unit (commune, territory,
-- département, France), with its final disclosure status: `secret` (primary or complementary
-- suppression), `non_disponible` (nothing to compute), `publie`. A structure's own figures are
-- in fct_indicateurs_structures.
select
    a.indicateur, a.annee, a.niveau, a.code, a.valeur, a.numerateur, a.denominateur,
    a.n_structures, a.n_population, a.n_contributeurs,
    case
        when s.secret then 'secret'
        when a.valeur is null or isnan(a.valeur) then 'non_disponible'
        else 'publie'
    end as statut,
    s.motif_secret
from {{ ref('int_indicateurs__agregats') }} as a
join {{ ref('int_secret__cellules') }} as s using (indicateur, annee, niveau, code)
