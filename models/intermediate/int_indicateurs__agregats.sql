-- Every indicator of the registry, for every data year and every public unit (commune,
-- territory, département, France; a structure's own figures are fct_indicateurs_structures):
-- valeur = aggregate(numerateur) [/ aggregate(denominateur)] x facteur (DHIS2-style), with what
-- the disclosure rules need (contributors, largest single contributions).
-- Sums, counts and maxima are computed once per commune and rolled up the levels (each
-- structure sits in one commune); only medians go back to the structures of each unit.
-- Sums are exact (decimals): summing doubles in the order DuckDB's threads happen to take gives
-- 232006.49999 one run and 232006.5 the next, and a published figure that rounds either way.
with registre as (select * from {{ ref('registre_indicateurs') }}),
mesures as (
    select m.indicateur, m.annee, m.code_structure, m.inclus, m.contributeur,
           m.numerateur::decimal(38, 12) as numerateur, m.denominateur::decimal(38, 12) as denominateur,
           s.code_commune
    from {{ ref('int_indicateurs__structures') }} as m
    join {{ ref('int_structures_annees') }} as s using (annee, code_structure)
),
par_commune as (
    -- each structure sits in one commune: the commune's totals, with its territory and département
    select c.*, l.code_territoire, l.code_departement
    from (
        select
            indicateur, annee, code_commune,
            count(*) filter (where inclus) as n_structures,
            count(*) filter (where contributeur) as n_contributeurs,
            count(*) as n_population,
            sum(numerateur) filter (where inclus) as somme_num,
            sum(denominateur) filter (where inclus) as somme_den,
            coalesce(sum(abs(numerateur)) filter (where inclus), 0) as somme_abs_num,
            coalesce(max(abs(numerateur)) filter (where inclus), 0) as max_abs_num,
            coalesce(sum(abs(denominateur)) filter (where inclus), 0) as somme_abs_den,
            coalesce(max(abs(denominateur)) filter (where inclus), 0) as max_abs_den
        from mesures
        group by indicateur, annee, code_commune
    ) as c
    left join (
        select distinct annee, code_commune, code_territoire, code_departement
        from {{ ref('int_structures_annees') }}
    ) as l using (annee, code_commune)
),
{%- set totaux = "sum(n_structures) as n_structures, sum(n_contributeurs) as n_contributeurs,
        sum(n_population) as n_population, sum(somme_num) as somme_num, sum(somme_den) as somme_den,
        sum(somme_abs_num) as somme_abs_num, max(max_abs_num) as max_abs_num,
        sum(somme_abs_den) as somme_abs_den, max(max_abs_den) as max_abs_den" %}
niveaux as (
    select indicateur, annee, 'commune' as niveau, code_commune as code,
           n_structures, n_contributeurs, n_population, somme_num, somme_den,
           somme_abs_num, max_abs_num, somme_abs_den, max_abs_den
    from par_commune where code_commune is not null
    union all
    select indicateur, annee, 'territoire', code_territoire, {{ totaux }}
    from par_commune where code_territoire is not null group by indicateur, annee, code_territoire
    union all
    select indicateur, annee, 'departement', code_departement, {{ totaux }}
    from par_commune where code_departement is not null group by indicateur, annee, code_departement
    union all
    select indicateur, annee, 'national', 'FR', {{ totaux }}
    from par_commune where {{ plusieurs_departements() }} group by indicateur, annee
    union all
    -- the activity log is the federation's own: it is published for its département, or for the
    -- level above its départements when it declares several and they are loaded (dim_unites)
    select m.indicateur, m.annee,
           case when p.federation_zone is not null and {{ plusieurs_departements() }}
                then 'national' else 'departement' end,
           case when p.federation_zone is not null and {{ plusieurs_departements() }}
                then 'FR' else p.federation_departement end,
           count(*) filter (where m.inclus), count(*) filter (where m.contributeur), count(*),
           sum(m.numerateur::decimal(38, 12)) filter (where m.inclus),
           sum(m.denominateur::decimal(38, 12)) filter (where m.inclus),
           coalesce(sum(abs(m.numerateur::decimal(38, 12))) filter (where m.inclus), 0),
           coalesce(max(abs(m.numerateur::decimal(38, 12))) filter (where m.inclus), 0),
           coalesce(sum(abs(m.denominateur::decimal(38, 12))) filter (where m.inclus), 0),
           coalesce(max(abs(m.denominateur::decimal(38, 12))) filter (where m.inclus), 0)
    from {{ ref('int_indicateurs__activites') }} as m
    cross join {{ ref('stg_projet__projet') }} as p
    group by all
),
medianes as (
    -- not additive: from the structures of each unit, for the median indicators only
    select m.indicateur, m.annee, u.niveau, u.code, median(m.numerateur) filter (where m.inclus) as mediane
    from {{ ref('int_indicateurs__structures') }} as m
    join registre as r using (indicateur)
    join {{ ref('int_unites_structures') }} as u using (annee, code_structure)
    where r.agregat = 'mediane' and u.niveau <> 'structure'
    group by all
),
totaux as (
    select n.*, r.agregat, r.facteur, null::double as mediane
    from niveaux as n
    join registre as r using (indicateur)
    where r.agregat <> 'mediane'
    union all by name
    select n.*, r.agregat, r.facteur, d.mediane
    from niveaux as n
    join registre as r using (indicateur)
    left join medianes as d using (indicateur, annee, niveau, code)
    where r.agregat = 'mediane'
)
select
    indicateur, annee, niveau, code,
    ({{ valeur_depuis_totaux('agregat', 'n_structures', 'somme_num', 'somme_den', 'mediane') }})::double
    * facteur as valeur,
    case agregat
        when 'compte' then n_structures::double
        when 'total' then coalesce(somme_num, 0)::double
        when 'mediane' then null
        else somme_num::double
    end as numerateur,
    case when agregat = 'ratio' then somme_den::double end as denominateur,
    n_structures, n_contributeurs, n_population,
    somme_abs_num::double as somme_abs_num, max_abs_num::double as max_abs_num,
    somme_abs_den::double as somme_abs_den, max_abs_den::double as max_abs_den
from totaux
