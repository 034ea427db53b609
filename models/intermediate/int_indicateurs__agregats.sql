-- Every indicator of the registry, for every data year and every unit of every level:
-- valeur = aggregate(numerateur) [/ aggregate(denominateur)] x facteur (DHIS2-style), with what
-- the disclosure rules need (contributors, largest single contributions).
with registre as (select * from {{ ref('registre_indicateurs') }}),
mesures as (
    select m.indicateur, m.annee, u.niveau, u.code, m.inclus, m.contributeur, m.numerateur, m.denominateur
    from {{ ref('int_indicateurs__structures') }} as m
    join {{ ref('int_unites_structures') }} as u using (annee, code_structure)
    union all
    -- the activity log is the federation's own: it is published for its département
    select m.indicateur, m.annee, 'departement', p.federation_departement, m.inclus, m.contributeur,
           m.numerateur, m.denominateur
    from {{ ref('int_indicateurs__activites') }} as m
    cross join {{ ref('stg_projet__projet') }} as p
),
totaux as (
    select
        m.indicateur, m.annee, m.niveau, m.code, r.agregat, r.facteur,
        count(*) filter (where m.inclus) as n_structures,
        count(*) filter (where m.contributeur) as n_contributeurs,
        count(*) as n_population,
        sum(m.numerateur) filter (where m.inclus) as somme_num,
        sum(m.denominateur) filter (where m.inclus) as somme_den,
        median(m.numerateur) filter (where m.inclus and r.agregat = 'mediane') as mediane,
        coalesce(sum(abs(m.numerateur)) filter (where m.inclus), 0) as somme_abs_num,
        coalesce(max(abs(m.numerateur)) filter (where m.inclus), 0) as max_abs_num,
        coalesce(sum(abs(m.denominateur)) filter (where m.inclus), 0) as somme_abs_den,
        coalesce(max(abs(m.denominateur)) filter (where m.inclus), 0) as max_abs_den
    from mesures as m
    join registre as r using (indicateur)
    group by m.indicateur, m.annee, m.niveau, m.code, r.agregat, r.facteur
)
select
    indicateur, annee, niveau, code,
    {{ valeur_depuis_totaux('agregat', 'n_structures', 'somme_num', 'somme_den', 'mediane') }} * facteur as valeur,
    case agregat
        when 'compte' then n_structures::double
        when 'total' then coalesce(somme_num, 0)
        when 'mediane' then null
        else somme_num
    end as numerateur,
    case when agregat = 'ratio' then somme_den end as denominateur,
    n_structures, n_contributeurs, n_population,
    somme_abs_num, max_abs_num, somme_abs_den, max_abs_den
from totaux
