{{ config(materialized='table') }}
-- Every public unit of every data year: its name, its parent, how many structures it has (the
-- existence of centres is public: their answers are not), how many of its indicators may be
-- shown or withheld, whether it is the same unit as its parent (a territory outside the Métropole
-- du Grand Paris is its département), and whether it is the observatory's main unit (France when
-- several départements are loaded, else the federation's département).
with membres as (
    select u.annee, u.niveau, u.code, s.type_structure
    from {{ ref('int_unites_structures') }} as u
    join {{ ref('int_structures_annees') }} as s using (annee, code_structure)
    where u.niveau in ('commune', 'territoire', 'departement', 'national')
),
comptes as (
    select annee, niveau, code,
           count(*) as nb_structures,
           count(*) filter (where type_structure = 'CS') as nb_cs,
           count(*) filter (where type_structure = 'EVS') as nb_evs
    from membres
    group by annee, niveau, code
),
publies as (
    -- of the indicators that fall under the disclosure rules
    select i.annee, i.niveau, i.code,
           count(*) filter (where i.statut = 'publie') as nb_indicateurs_publies,
           count(*) filter (where i.statut = 'secret') as nb_indicateurs_secrets
    from {{ ref('fct_indicateurs') }} as i
    semi join {{ ref('registre_indicateurs') }} as r on r.indicateur = i.indicateur and {{ secret_sensible('r') }}
    group by all
),
principal as (
    select
        case when bool_or(niveau = 'national') then 'national' else 'departement' end as niveau,
        case when bool_or(niveau = 'national') then 'FR'
             else coalesce(max(code) filter (where niveau = 'departement'
                                                and code = (select any_value(federation_departement)
                                                            from {{ ref('stg_projet__projet') }})),
                           min(code) filter (where niveau = 'departement'))
        end as code
    from comptes
),
libelles as (select niveau, code, libelle from {{ ref('dim_unites') }}),
unites as (
select
    c.annee, c.niveau, c.code, coalesce(l.libelle, c.code) as libelle,
    -- a territory that is its département is no level of its own: its communes hang from the département
    coalesce(hc.niveau_parent, h.niveau_parent) as niveau_parent, coalesce(hc.code_parent, h.code_parent) as code_parent,
    coalesce(lp.libelle, coalesce(hc.code_parent, h.code_parent)) as libelle_parent,
    c.nb_structures, c.nb_cs, c.nb_evs,
    coalesce(p.nb_indicateurs_publies, 0) as nb_indicateurs_publies,
    coalesce(p.nb_indicateurs_secrets, 0) as nb_indicateurs_secrets,
    coalesce(c.niveau = 'territoire' and h.code_parent = c.code, false) as confondu_avec_parent,
    (c.niveau, c.code) = (select (niveau, code) from principal) as est_principal
from comptes as c
left join libelles as l on l.niveau = c.niveau and l.code = c.code
left join {{ ref('int_unites_hierarchie') }} as h on h.annee = c.annee and h.niveau = c.niveau and h.code = c.code
left join {{ ref('int_unites_hierarchie') }} as hc
    on hc.annee = h.annee and hc.niveau = h.niveau_parent and hc.code = h.code_parent
   and hc.niveau = 'territoire' and hc.code_parent = hc.code
left join libelles as lp on lp.niveau = coalesce(hc.niveau_parent, h.niveau_parent)
                        and lp.code = coalesce(hc.code_parent, h.code_parent)
left join publies as p on p.annee = c.annee and p.niveau = c.niveau and p.code = c.code
),
principale as (select annee, niveau, code from unites where est_principal),
enquetes as (
    -- the survey(s) whose answers describe each data year (year N is most often described by the
    -- survey of N+1, sometimes of N+2): what the pages say their figures come from; none for a
    -- year that only the federation's activity log describes
    select annee, string_agg(distinct annee_enquete::varchar, ' et ' order by annee_enquete::varchar) as enquetes
    from {{ ref('int_structures_annees') }}
    group by annee
),
enfants as (
    -- the structures of the units listed under each one (the chart of its territories reads their total)
    select annee, niveau_parent as niveau, code_parent as code, sum(nb_structures) as nb_structures_enfants
    from unites
    where not est_principal and not confondu_avec_parent and code_parent is not null
    group by all
)
select
    u.*,
    -- whether the unit has a sheet of its own: not the main unit (the yearly reports are its pages),
    -- not a territory that is its département, not a commune or a territory with no figure of its
    -- own (too few structures: where it is listed, it says how many centres it has and points to the
    -- unit whose figures count them). The site and the open data read it.
    not u.est_principal and not u.confondu_avec_parent
        and (u.niveau not in ('commune', 'territoire') or u.nb_indicateurs_publies > 0) as a_une_fiche,
    -- the unit a sheet compares its figures with: the département it sits in, or France for a
    -- département (the main unit when its parent has none)
    case when p1.niveau in ('departement', 'national') then p1.niveau
         when p1.niveau is not null then coalesce(p2.niveau, m.niveau) end as niveau_comparaison,
    case when p1.niveau in ('departement', 'national') then p1.code
         when p1.niveau is not null then (case when p2.niveau is not null then p2.code else m.code end)
    end as code_comparaison,
    coalesce(e.nb_structures_enfants, 0) as nb_structures_enfants,
    q.enquetes
from unites as u
left join enfants as e on e.annee = u.annee and e.niveau = u.niveau and e.code = u.code
left join enquetes as q on q.annee = u.annee
left join unites as p1 on p1.annee = u.annee and p1.niveau = u.niveau_parent and p1.code = u.code_parent
left join unites as p2 on p2.annee = p1.annee and p2.niveau = p1.niveau_parent and p2.code = p1.code_parent
left join principale as m on m.annee = u.annee
