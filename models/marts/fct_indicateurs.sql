-- Every indicator of the registry, for every data year and every unit of every level.
-- valeur = aggregate(numerateur) [/ aggregate(denominateur)] x facteur (DHIS2-style).
with registre as (select * from {{ ref('registre_indicateurs') }}),
mesures as (
    select m.indicateur, m.annee, u.niveau, u.code, m.inclus, m.numerateur, m.denominateur
    from {{ ref('int_indicateurs__structures') }} as m
    join {{ ref('int_unites_structures') }} as u using (annee, code_structure)
    union all
    -- the activity log is the federation's own: it is published for its département
    select m.indicateur, m.annee, 'departement', p.federation_departement, m.inclus, m.numerateur, m.denominateur
    from {{ ref('int_indicateurs__activites') }} as m
    cross join {{ ref('stg_projet__projet') }} as p
),
totaux as (
    select
        m.indicateur, m.annee, m.niveau, m.code, r.agregat, r.facteur, r.n_min,
        count(*) filter (where m.inclus) as n_structures,
        count(*) as n_population,
        sum(m.numerateur) filter (where m.inclus) as somme_num,
        sum(m.denominateur) filter (where m.inclus) as somme_den,
        median(m.numerateur) filter (where m.inclus and r.agregat = 'mediane') as mediane
    from mesures as m
    join registre as r using (indicateur)
    group by m.indicateur, m.annee, m.niveau, m.code, r.agregat, r.facteur, r.n_min
),
agregats as (
    select
        indicateur, annee, niveau, code, n_structures, n_population, n_min,
        {{ valeur_depuis_totaux('agregat', 'n_structures', 'somme_num', 'somme_den', 'mediane') }} * facteur as valeur,
        case agregat
            when 'compte' then n_structures::double
            when 'total' then coalesce(somme_num, 0)
            when 'mediane' then null
            else somme_num
        end as numerateur,
        case when agregat = 'ratio' then somme_den end as denominateur
    from totaux
)
select
    indicateur, annee, niveau, code, valeur, numerateur, denominateur, n_structures, n_population,
    case
        when valeur is null or isnan(valeur) then 'non_disponible'
        when niveau in ('structure', 'commune', 'territoire') and n_structures < n_min then 'secret'
        else 'publie'
    end as statut
from agregats
