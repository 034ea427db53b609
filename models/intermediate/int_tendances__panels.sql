-- The constant panels behind the trends: for each indicator compared on a panel (registry
-- `comparaison` = panel), each unit and year, the structures counted both that year and the year
-- before (`un_an`) or the indicator's reference year (`reference`, départements and France only),
-- and the indicator's value on them each of the two years. A commune's panel only where its
-- figure is published (the only ones read).
-- Memory decides the time here: a national run's pairs (1.7 million) once, narrow, and placed in
-- their units after the pairing; each level grouped from them in one pass (grouping sets), the
-- units no panel is read for (a withheld commune, a territory since the reference year) left in
-- one empty group instead of a group each.
with registre as (
    select indicateur, agregat, facteur, annee_reference, coalesce(comparaison, 'panel') as mode
    from {{ ref('registre_indicateurs') }}
),
mesures as not materialized (
    -- the measures of the panel indicators (read twice as they are: cheaper than a copy of them)
    select m.indicateur, m.annee, m.code_structure, m.numerateur as num, m.denominateur as den
    from {{ ref('int_indicateurs__structures') }} as m
    where m.inclus and m.indicateur in (select indicateur from registre where mode = 'panel')
),
paires as (
    -- a structure counted in both years, with its measures in each, where it is the later year:
    -- with the year before, and with the indicator's reference year. Two plain joins, the
    -- reference pairs looking up the reference year's measures only: one join on a year computed
    -- per row (a `case` of the comparison) probed a hash of every measure with twice the rows.
    select cur.indicateur, cur.annee, 'un_an' as comparaison, cur.code_structure,
           cur.num, cur.den, prev.num as num_c, prev.den as den_c
    from mesures as cur
    join mesures as prev
      on prev.indicateur = cur.indicateur and prev.code_structure = cur.code_structure
     and prev.annee = cur.annee - 1
    union all
    select cur.indicateur, cur.annee, 'reference', cur.code_structure,
           cur.num, cur.den, prev.num as num_c, prev.den as den_c
    from mesures as cur
    join registre as r using (indicateur)
    join (
        -- the reference year's measures only
        select m.* from mesures as m join registre as rr using (indicateur) where m.annee = rr.annee_reference
    ) as prev
      on prev.indicateur = cur.indicateur and prev.code_structure = cur.code_structure
    where cur.annee > r.annee_reference
),
communes_lues as (
    -- a commune's trend is read only where its figure is published
    select indicateur, annee, code as code_commune, true as lue
    from {{ ref('fct_indicateurs') }} where niveau = 'commune' and statut = 'publie'
),
situees as (
    -- each pair in the units of its structure that year; communes and territories on one year only
    select p.indicateur, p.annee, p.comparaison, p.num, p.den, p.num_c, p.den_c,
           r.agregat = 'mediane' as mediane,
           case when p.comparaison = 'un_an' and c.lue then s.code_commune end as code_commune,
           case when p.comparaison = 'un_an' then s.code_territoire end as code_territoire,
           s.code_departement
    from paires as p
    join registre as r using (indicateur)
    join {{ ref('int_structures_annees') }} as s using (annee, code_structure)
    left join communes_lues as c using (indicateur, annee, code_commune)
),
{#- exact sums (decimals): a sum of doubles depends on the order the threads take, and so would a
    rounded published change -#}
totaux_panels as (
    select
        indicateur, annee, comparaison,
        case when grouping(code_commune) = 0 then 'commune' when grouping(code_territoire) = 0 then 'territoire'
             when grouping(code_departement) = 0 then 'departement' else 'national' end as niveau,
        coalesce(code_commune, code_territoire, code_departement, 'FR') as code,
        count(*) as n_panel, sum(num::decimal(38, 12))::double as s, sum(den::decimal(38, 12))::double as d,
        sum(num_c::decimal(38, 12))::double as s_c, sum(den_c::decimal(38, 12))::double as d_c,
        median(num) filter (where mediane) as m, median(num_c) filter (where mediane) as m_c
    from situees
    group by grouping sets ((indicateur, annee, comparaison, code_commune), (indicateur, annee, comparaison, code_territoire),
                            (indicateur, annee, comparaison, code_departement), (indicateur, annee, comparaison))
    having (grouping(code_commune) = 0 and code_commune is not null)
        or (grouping(code_territoire) = 0 and code_territoire is not null)
        or (grouping(code_departement) = 0 and code_departement is not null)
        or (grouping(code_commune, code_territoire, code_departement) = 7 and {{ plusieurs_departements() }})
),
panels as (
    select t.indicateur, t.annee, t.comparaison, t.niveau, t.code, t.n_panel,
           {{ valeur_depuis_totaux('r.agregat', 't.n_panel', 't.s', 't.d', 't.m') }} * r.facteur as valeur_panel,
           {{ valeur_depuis_totaux('r.agregat', 't.n_panel', 't.s_c', 't.d_c', 't.m_c') }} * r.facteur
               as valeur_panel_comparee
    from totaux_panels as t
    join registre as r using (indicateur)
)
select * from panels
