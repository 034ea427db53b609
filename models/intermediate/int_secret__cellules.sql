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
-- The cells are read where each step needs them (`not materialized`): a copy of all of them, held
-- in memory for the whole query, made a national run spill to disk.
with recursive cellules as not materialized (
    select *, motif_primaire is not null as primaire
    from {{ ref('int_secret__primaire') }}
),
liens as (select * from {{ ref('int_unites_hierarchie') }}),
national as (
    select indicateur, annee, niveau, code, sensible, primaire, motif_primaire, {{ secret_portees('cellules') }},
           primaire as secret
    from cellules where niveau = 'national'
),
{{ secret_etape('departement', 'national') }},
{{ secret_etape('territoire', 'departement') }},
{{ secret_etape('commune', 'territoire') }},
{{ secret_groupes_lies(ref('relations_indicateurs'), 'cellules') }},
finales as (
    -- every cell once, with its status along the tree (read as it is: no join back to the cells)
    select * from national
    union all by name select * from departement
    union all by name select * from territoire
    union all by name select * from commune
),
liees as (
    -- per linked group, unit and year: is any member withheld?
    select f.annee, f.niveau, f.code, g.groupe, bool_or(f.secret) as secret_groupe
    from finales as f
    join groupes_lies as g using (indicateur)
    -- the linked indicators' cells only, before the join: else DuckDB groups every cell first
    where f.indicateur in (select indicateur from groupes_lies)
    group by all
)
select
    f.indicateur, f.annee, f.niveau, f.code, f.sensible,
    f.secret or coalesce(l.secret_groupe, false) as secret,
    case
        when f.primaire then f.motif_primaire
        when f.secret then 'complementaire'
        when l.secret_groupe then 'indicateur_lie'
    end as motif_secret,
    -- the cell's own figures (fct_indicateurs reads them here)
    {{ secret_portees('f') }}
from finales as f
left join groupes_lies as g using (indicateur)
left join liees as l on l.groupe = g.groupe and l.annee = f.annee and l.niveau = f.niveau and l.code = f.code
