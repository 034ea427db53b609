-- Final disclosure status of every cell: primary secrecy, then secondary (complementary)
-- suppression along the tree commune -> territoire -> departement (-> France), top-down so that
-- each level knows whether its parent is withheld. No withheld cell, nor group of withheld
-- cells, covering fewer than the minimum of structures (or dominated by one of them) can be
-- derived from a parent by subtracting its published children; the same pattern applies to the
-- value, the numerator and the denominator of a cell.
with cellules as (
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
finales as (
    select *, 'national' as niveau from national
    union all by name select *, 'departement' as niveau from departement
    union all by name select *, 'territoire' as niveau from territoire
    union all by name select *, 'commune' as niveau from commune
)
select
    c.indicateur, c.annee, c.niveau, c.code, c.sensible,
    coalesce(f.secret, c.primaire) as secret,
    case
        when c.primaire then c.motif_primaire
        when f.secret then 'complementaire'
    end as motif_secret
from cellules as c
left join finales as f using (indicateur, annee, niveau, code)
