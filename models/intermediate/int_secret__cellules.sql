-- Final disclosure status of every cell: primary secrecy, then secondary (complementary)
-- suppression along the tree commune -> territoire -> departement (-> France), top-down so that
-- each level knows whether its parent is withheld. No withheld cell, nor group of withheld
-- cells, covering fewer than the minimum of structures (or dominated by one of them) can be
-- derived from a parent by subtracting its published children; the same pattern applies to the
-- value, the numerator and the denominator of a cell.
-- Then linked indicators (seed relations_indicateurs: a total and its parts, shares of one
-- whole, one indicator a fixed multiple of another): in one unit and year, when one member of a
-- linked group is withheld, every member is, so that no published member gives it back through
-- the relation. Each member's pattern is safe along the tree, and so is their union: a child added
-- this way either covers no structure, or at least the minimum without one dominating it.
with recursive cellules as (
    select *, motif_primaire is not null as primaire
    from {{ ref('int_secret__primaire') }}
),
liens as (select * from {{ ref('int_unites_hierarchie') }}),
national as (
    select indicateur, annee, code, primaire, primaire as secret from cellules where niveau = 'national'
),
{{ secret_etape('departement', 'national') }},
{{ secret_etape('territoire', 'departement') }},
{{ secret_etape('commune', 'territoire') }},
{{ secret_groupes_lies(ref('relations_indicateurs'), 'cellules') }},
finales as (
    select *, 'national' as niveau from national
    union all by name select *, 'departement' as niveau from departement
    union all by name select *, 'territoire' as niveau from territoire
    union all by name select *, 'commune' as niveau from commune
),
liees as (
    -- per linked group, unit and year: is any member withheld?
    select c.annee, c.niveau, c.code, g.groupe, bool_or(coalesce(f.secret, c.primaire)) as secret_groupe
    from cellules as c
    join groupes_lies as g using (indicateur)
    left join finales as f using (indicateur, annee, niveau, code)
    group by all
)
select
    c.indicateur, c.annee, c.niveau, c.code, c.sensible,
    coalesce(f.secret, c.primaire) or coalesce(l.secret_groupe, false) as secret,
    case
        when c.primaire then c.motif_primaire
        when f.secret then 'complementaire'
        when l.secret_groupe then 'indicateur_lie'
    end as motif_secret
from cellules as c
left join finales as f using (indicateur, annee, niveau, code)
left join groupes_lies as g using (indicateur)
left join liees as l on l.groupe = g.groupe and l.annee = c.annee and l.niveau = c.niveau and l.code = c.code
