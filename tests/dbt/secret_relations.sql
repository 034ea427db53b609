-- The attack through linked indicators (seed relations_indicateurs): in one unit and year, a
-- declared linear relation whose members are all known but one gives that one back (total
-- minus board volunteers = activity volunteers; hours = 1 607 x FTE; one share = the whole minus
-- the others). A member with nothing to compute (non_disponible: no structure declared it) is
-- known too: it adds nothing to a total. Any withheld member alone in its relation is a leak. Together with secret_soustraction (the
-- hierarchy), no withheld cell equals a combination of published cells of one relation or of one
-- parent and its children.
with membres as (
    select distinct relation, indicateur from {{ ref('relations_indicateurs') }}
),
cellules as (
    select m.relation, i.indicateur, i.annee, i.niveau, i.code, i.statut
    from {{ ref('pub_indicateurs') }} as i
    join membres as m using (indicateur)
),
tailles as (
    select relation, count(*) as n_membres from membres group by relation
)
select c.relation, c.annee, c.niveau, c.code,
       string_agg(c.indicateur, ', ') filter (where c.statut = 'secret') as masque
from cellules as c
join tailles as t using (relation)
group by c.relation, c.annee, c.niveau, c.code, t.n_membres
having count(*) filter (where c.statut = 'secret') = 1
   and count(*) filter (where c.statut in ('publie', 'non_disponible')) = t.n_membres - 1
