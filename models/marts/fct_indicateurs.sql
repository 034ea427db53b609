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
agregats as (
    select
        m.indicateur, m.annee, m.niveau, m.code,
        {{ agreger('r.agregat', 'm.numerateur', 'm.denominateur', 'm.inclus') }} * r.facteur as valeur,
        {{ numerateur_agrege('r.agregat', 'm.numerateur', 'm.inclus') }} as numerateur,
        case when r.agregat = 'ratio' then sum(m.denominateur) filter (where m.inclus) end as denominateur,
        count(*) filter (where m.inclus) as n_structures,
        count(*) as n_population,
        r.n_min
    from mesures as m
    join registre as r using (indicateur)
    group by m.indicateur, m.annee, m.niveau, m.code, r.agregat, r.facteur, r.n_min
)
select
    indicateur, annee, niveau, code, valeur, numerateur, denominateur, n_structures, n_population,
    case
        when valeur is null or isnan(valeur) then 'non_disponible'
        when niveau in ('structure', 'commune', 'territoire') and n_structures < n_min then 'secret'
        else 'publie'
    end as statut
from agregats
