-- Each structure's own figure of every survey indicator, each data year (the registry's formula
-- on one structure): never public, so `secret` for every indicator subject to secrecy. Read by
-- the analysts' `indicateurs` and the internal structure pages; a view, computed when read.
with registre as (select * from {{ ref('registre_indicateurs') }}),
valeurs as (
    select
        m.indicateur, m.annee, m.code_structure as code, r.n_min, r.dominance,
        {{ valeur_depuis_totaux('r.agregat', 'm.inclus::int', 'case when m.inclus then m.numerateur end',
                                'case when m.inclus then m.denominateur end',
                                'case when m.inclus then m.numerateur end') }} * r.facteur as valeur,
        case when m.inclus then
            case r.agregat when 'compte' then 1.0 when 'total' then coalesce(m.numerateur, 0)
                           when 'mediane' then null else m.numerateur end
        end as numerateur,
        case when m.inclus and r.agregat = 'ratio' then m.denominateur end as denominateur,
        m.inclus::bigint as n_structures, 1::bigint as n_population, m.contributeur::bigint as n_contributeurs
    from {{ ref('int_indicateurs__structures') }} as m
    join registre as r using (indicateur)
)
select
    indicateur, annee, 'structure' as niveau, code, valeur, numerateur, denominateur,
    n_structures, n_population, n_contributeurs,
    case
        when n_min > 1 or coalesce(dominance, false) then 'secret'
        when valeur is null or isnan(valeur) then 'non_disponible'
        else 'publie'
    end as statut,
    case when n_min > 1 or coalesce(dominance, false) then 'frequence' end as motif_secret
from valeurs
