-- Every indicator of the registry, for every data year and every unit of every level, with its
-- final disclosure status: `secret` (primary or complementary suppression; a structure's own
-- figures of any indicator subject to secrecy), `non_disponible` (nothing to compute), `publie`.
select
    a.indicateur, a.annee, a.niveau, a.code, a.valeur, a.numerateur, a.denominateur,
    a.n_structures, a.n_population, a.n_contributeurs,
    case
        when coalesce(s.secret, a.niveau = 'structure' and (r.n_min > 1 or coalesce(r.dominance, false)))
            then 'secret'
        when a.valeur is null or isnan(a.valeur) then 'non_disponible'
        else 'publie'
    end as statut,
    case when a.niveau = 'structure' and (r.n_min > 1 or coalesce(r.dominance, false)) then 'frequence'
         else s.motif_secret end as motif_secret
from {{ ref('int_indicateurs__agregats') }} as a
join {{ ref('registre_indicateurs') }} as r using (indicateur)
left join {{ ref('int_secret__cellules') }} as s using (indicateur, annee, niveau, code)
