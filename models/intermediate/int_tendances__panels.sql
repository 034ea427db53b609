-- The constant panels behind the trends: for each indicator compared on a panel (registry
-- `comparaison` = panel), each unit and year, the structures counted both that year and the year
-- before (`un_an`) or the indicator's reference year (`reference`, départements and France only),
-- and the indicator's value on them each of the two years. A commune's panel only where its
-- figure is published (the only ones read). Kept apart from the comparisons so that each query
-- stays within DuckDB's memory limit instead of spilling to disk (about 1 s on a national run).
with registre as (
    select indicateur, agregat, facteur, annee_reference, coalesce(comparaison, 'panel') as mode
    from {{ ref('registre_indicateurs') }}
),
mesures as (
    -- the measures of the panel indicators, each where its structure was that year
    select m.indicateur, m.annee, m.code_structure, m.numerateur as num, m.denominateur as den,
           r.agregat = 'mediane' as mediane, r.annee_reference,
           s.code_commune, s.code_territoire, s.code_departement
    from {{ ref('int_indicateurs__structures') }} as m
    join registre as r using (indicateur)
    join {{ ref('int_structures_annees') }} as s using (annee, code_structure)
    where m.inclus and r.mode = 'panel'
),
paires_un_an as (
    -- a structure counted in both years, with its measures in each, where it is the later year
    select cur.indicateur, cur.annee, cur.mediane, cur.code_commune, cur.code_territoire, cur.code_departement,
           cur.num, cur.den, prev.num as num_c, prev.den as den_c
    from mesures as cur
    join mesures as prev
      on prev.indicateur = cur.indicateur and prev.code_structure = cur.code_structure
     and prev.annee = cur.annee - 1
),
paires_reference as (
    -- the same with the indicator's reference year (read at the départements and France only)
    select cur.indicateur, cur.annee, cur.mediane, cur.code_departement,
           cur.num, cur.den, prev.num as num_c, prev.den as den_c
    from mesures as cur
    join mesures as prev
      on prev.indicateur = cur.indicateur and prev.code_structure = cur.code_structure
     and prev.annee = cur.annee_reference
    where cur.annee > cur.annee_reference
),
communes_lues as (
    -- a commune's trend is read only where its figure is published
    select indicateur, annee, code from {{ ref('fct_indicateurs') }} where niveau = 'commune' and statut = 'publie'
),
{#- exact sums (decimals): a sum of doubles depends on the order the threads take, and so would a
    rounded published change -#}
{%- set sommes = "count(*) as n_panel, sum(num::decimal(38, 12))::double as s, sum(den::decimal(38, 12))::double as d,
                  sum(num_c::decimal(38, 12))::double as s_c, sum(den_c::decimal(38, 12))::double as d_c,
                  median(num) filter (where mediane) as m, median(num_c) filter (where mediane) as m_c" %}
totaux_panels as (
    select p.indicateur, p.annee, 'un_an' as comparaison, 'commune' as niveau, p.code_commune as code, {{ sommes }}
    from paires_un_an as p
    semi join communes_lues as c on c.indicateur = p.indicateur and c.annee = p.annee and c.code = p.code_commune
    group by p.indicateur, p.annee, p.code_commune
    union all
    select indicateur, annee, 'un_an', 'territoire', code_territoire, {{ sommes }}
    from paires_un_an where code_territoire is not null
    group by indicateur, annee, code_territoire
    union all
    -- départements and France, on one year and since the reference year
    select indicateur, annee, comparaison,
           case when grouping(code_departement) = 0 then 'departement' else 'national' end,
           coalesce(code_departement, 'FR'), {{ sommes }}
    from (
        select indicateur, annee, 'un_an' as comparaison, mediane, code_departement, num, den, num_c, den_c
        from paires_un_an
        union all
        select indicateur, annee, 'reference', mediane, code_departement, num, den, num_c, den_c
        from paires_reference
    ) as paires
    group by grouping sets ((indicateur, annee, comparaison, code_departement), (indicateur, annee, comparaison))
    having (grouping(code_departement) = 0 and code_departement is not null)
        or (grouping(code_departement) = 1 and {{ plusieurs_departements() }})
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
